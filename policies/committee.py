"""Credit committee (贷审会) rules: who may vote, quorum, passing, veto window."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from . import messages as M
from .model import CommitteeOutcome, Decision, PolicyTerms, Request
from .rules import conflict, conflicting_acts, satisfied, verdict

DECISIONS = ("reject", "approve_with_conditions", "approve")  # strictest first
RECUSE = "recuse"  # a member declares a conflict of interest (回避): neither votes nor counts


@dataclass(frozen=True)
class CommitteeSpec:
    member_roles: tuple[str, ...]
    chair_role: str
    levels: Mapping[str, str]  # tier -> "loan_branch" | "head_office"
    file_work_group: str
    file_work: frozenset[str]
    vote_duties: frozenset[str]


def eligibility_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    """The presenter, anyone who worked on the file and recused members may not vote."""
    controls = policy.controls
    keys = ("committee_presenter", "committee_file_work", "committee_recusal")
    if request.duty not in policy.committee.vote_duties or request.loan is None:
        for key in keys:
            yield satisfied(policy, request, controls[key], applies=False)
        return
    loan = request.loan
    rule = controls["committee_presenter"]
    if loan.originator in request.people:
        mine = loan.originator == request.actor.username
        yield verdict(
            policy, request, rule, M.VOTER_PRESENTER if mine else M.VOTER_PRINCIPAL_PRESENTER,
            "NotEligibleVoter", principal=request.acting_for.username if request.acting_for else None,
        )
    else:
        yield satisfied(policy, request, rule)

    rule = controls["committee_file_work"]
    hits = [h for h in conflicting_acts(request, policy.committee.file_work, None) if not h[1]]
    if hits:
        yield conflict(policy, request, rule, hits[0][0], voter=True)
    else:
        yield satisfied(policy, request, rule)

    rule = controls["committee_recusal"]
    recused = [p for p in request.people if p in request.recused]
    if recused:
        yield verdict(policy, request, rule, M.VOTER_RECUSED, "NotEligibleVoter", recused_user=recused[0])
    else:
        yield satisfied(policy, request, rule)


def _at_least(count: int, fraction: Fraction, of: int) -> bool:
    return count * fraction.denominator >= fraction.numerator * of


def quorum_size(policy: PolicyTerms, committee_size: int) -> int:
    """How many members must be present: the quorum share of the committee, and at least the minimum."""
    fraction: Fraction = policy.params["committee_quorum_fraction"]
    need = -(-fraction.numerator * committee_size // fraction.denominator)
    return max(need, policy.params["committee_min_members"])


def convening_problem(policy: PolicyTerms, members: Iterable[str], chair: str | None,
                      committee_size: int) -> tuple[str, dict] | None:
    """Why a meeting with these members would have no quorum (checked when it is convened), or None."""
    present, rule = set(members), policy.controls["committee_quorum"]
    need = quorum_size(policy, committee_size)
    if len(present) < need:
        return M.QUORUM_TOO_FEW, {"need": need, "size": committee_size, "count": len(present), "rule": rule.id}
    if chair is None or chair not in present:
        return M.QUORUM_NO_CHAIR, {"chair": chair or "-", "rule": rule.id}
    return None


def tally(
    policy: PolicyTerms,
    votes: Iterable[Mapping[str, Any]],
    members: Iterable[str],
    chair: str | None,
    committee_size: int,
    recused: Iterable[str] = (),
) -> CommitteeOutcome:
    """Count named votes of the members present; recused members neither count nor vote."""
    params, controls = policy.params, policy.controls
    votes = list(votes)
    recused_set = set(recused) | {v.get("member") for v in votes if v.get("decision") == RECUSE}
    votes = [v for v in votes if v.get("decision") != RECUSE]
    present = set(members) - recused_set
    if committee_size < len(set(members)):
        raise ValueError(f"{len(set(members))} members present but the committee has only {committee_size}")
    notes: list[str] = []

    q_fraction: Fraction = params["committee_quorum_fraction"]
    minimum: int = params["committee_min_members"]
    chair_present = chair is not None and chair in present
    quorum_met = _at_least(len(present), q_fraction, committee_size) and len(present) >= minimum and chair_present
    q = controls["committee_quorum"]
    notes.append(
        f"{q.id} {q.name}: {len(present)} of {committee_size} present (need {q_fraction} and at least "
        f"{minimum}); chair {'present' if chair_present else 'absent'}: {'met' if quorum_met else 'not met'}"
    )
    if recused_set:
        r = controls["committee_recusal"]
        notes.append(f"{r.id} {r.name}: {', '.join(sorted(recused_set))} recused, not counted")

    counted: dict[str, Mapping[str, Any]] = {}
    for vote in votes:
        member, decision = vote.get("member"), vote.get("decision")
        if decision not in DECISIONS:
            raise ValueError(f"vote by {member!r}: decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        if member in counted:
            raise ValueError(f"{member!r} voted twice")
        if member not in present:
            notes.append(f"vote by {member} ignored: not a present, non-recused member")
            continue
        counted[member] = vote

    cast = len(counted)
    approvals = sum(1 for v in counted.values() if v["decision"] != "reject")
    rejections = cast - approvals
    with_conditions = [v for v in counted.values() if v["decision"] == "approve_with_conditions"]
    p_fraction: Fraction = params["committee_pass_fraction"]
    passed = cast > 0 and _at_least(approvals, p_fraction, cast)
    p = controls["committee_pass"]
    notes.append(f"{p.id} {p.name}: {approvals} of {cast} votes cast approve (need {p_fraction})")

    conditions: list[str] = []
    for v in with_conditions:
        text = str(v.get("conditions") or "").strip()
        if text and text not in conditions:
            conditions.append(text)

    if not quorum_met:
        outcome, resolution = "no_quorum", None
    elif passed:
        outcome = "approved"
        resolution = "approve_with_conditions" if with_conditions else "approve"
        s = controls["strictest_conditions"]
        notes.append(f"{s.id} {s.name}: {resolution}" + (f" with {len(conditions)} condition(s)" if conditions else ""))
    else:
        outcome, resolution = "rejected", "reject"
    return CommitteeOutcome(
        outcome=outcome,
        approvals=approvals,
        rejections=rejections,
        cast=cast,
        quorum_met=quorum_met,
        conditions="; ".join(conditions) if outcome == "approved" else "",
        rule_notes=tuple(notes),
        resolution=resolution,
        present=len(present),
    )


def veto_allowed(policy: PolicyTerms, tallied_at: datetime, now: datetime) -> bool:
    """The chair may veto from the tally until chair_veto_hours later, inclusive."""
    for name, value in (("tallied_at", tallied_at), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    window = timedelta(hours=policy.params["chair_veto_hours"])
    return tallied_at <= now <= tallied_at + window
