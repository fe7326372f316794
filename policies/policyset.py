"""A loaded, validated policy version and the questions the engine asks it."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from . import committee as C
from . import messages as M
from . import rules as R
from .model import Actor, CommitteeOutcome, Decision, DutyAct, LoanFacts, Request
from .postloan import choose_inspection_assistant


@dataclass(frozen=True)
class DutySpec:
    name: str
    en: str
    zh: str
    done: str  # completes "You ... loan L-1 on <date>"
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Tier:
    name: str
    ceiling_param: str | None
    ceiling: Decimal | None
    zh: str = ""


@dataclass(frozen=True, eq=False)
class PolicySet:
    """One version of the policy; pure: every answer depends only on its arguments."""

    version: str
    sha256: str
    source: str
    params: Mapping[str, Any]
    roles: Mapping[str, Mapping[str, str]]
    duty_specs: Mapping[str, DutySpec]
    groups: Mapping[str, frozenset[str]]
    pairs: tuple[R.PairRule, ...]
    controls: Mapping[str, R.Control]
    limits: tuple[R.LimitRule, ...]
    tiers: tuple[Tier, ...]
    loan_types: frozenset[str]
    one_tier_up: frozenset[str]
    tier_checked_duties: Mapping[str, str | None]
    committee: C.CommitteeSpec
    title: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # the bank's own calendar on top of China's holiday schedule (the engine's WorkingCalendar combines them)
    closing_days: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    mandatory_leave_roles: tuple[str, ...] = ()  # roles whose holders take mandatory leave (强制休假) each year
    # up the authority chain (向上级行申请授权): duty -> ("head_office", None) | ("role", higher role)
    escalation: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)

    # ------------------------------------------------------------ vocabulary

    @property
    def duties(self) -> frozenset[str]:
        return frozenset(self.duty_specs)

    @property
    def rules(self) -> tuple[Any, ...]:
        """Every rule with an id: pairs, personal limits, then the other controls."""
        return self.pairs + self.limits + tuple(self.controls.values())

    def pairs_at_risk(self, held: set[str], new_role: str) -> list[R.PairRule]:
        """Pair rules where the new role adds a duty on one side while a role already held reaches the other:
        one person can now stand on both sides, and only the per-loan check still keeps them apart."""
        def reach(roles) -> frozenset[str]:
            return frozenset(d for d, spec in self.duty_specs.items() if set(spec.roles) & set(roles))

        old, new = reach(held - {new_role}), reach({new_role})
        added = new - old
        return [pair for pair in self.pairs
                if (added & pair.duties_a and old & pair.duties_b) or (added & pair.duties_b and old & pair.duties_a)]

    def history_read(self, duty: str) -> frozenset[str]:
        """The duties whose acts a check of `duty` reads: the other side of every pair rule on it, the file work a
        voter must not have done, what keeps someone from the business signature, and always `originate` (the
        implied originator) and `recuse`. Only acts of the requester and of whoever they act for are read, so a
        history holding those people's acts of these duties gives the same verdict as the loan's whole history
        (a loan's checks stay flat however long its life)."""
        read = {"originate", "recuse"}
        for pair in self.pairs:
            if pair.involves(duty):
                read |= pair.opposite(duty)
        if duty in self.committee.vote_duties:
            read |= self.committee.file_work
        if duty == "sign_business":
            read |= self.groups.get("file_originator", frozenset())
        return frozenset(read)

    def rule(self, rule_id: str) -> Any:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def bank_timezone(self) -> timezone:
        """The bank's UTC offset (Beijing time by default)."""
        return _utc_offset(self.params["bank_utc_offset"])

    def local_date(self, moment: datetime) -> date:
        """Business dates are read at the bank's UTC offset."""
        return moment.astimezone(self.bank_timezone()).date()

    # ------------------------------------------------------------ checks

    def _verdicts(self, request: Request) -> Iterator[Decision]:
        if request.duty not in self.duty_specs:
            raise ValueError(f"duty {request.duty!r} is not defined in policy {self.version}")
        yield from R.leave_verdicts(self, request)
        yield from R.role_verdicts(self, request)
        yield from R.block_verdicts(self, request)
        yield from R.pair_verdicts(self, request)
        yield from C.eligibility_verdicts(self, request)
        yield from R.tier_verdicts(self, request)
        yield from R.limit_verdicts(self, request)
        yield from R.business_signature_verdicts(self, request)

    def _allowed(self, request: Request) -> Decision:
        template = M.ALLOWED if request.loan is not None else M.ALLOWED_NO_LOAN
        return R.verdict(self, request, None, template)

    def check(self, request: Request) -> Decision:
        """The first refusal, in the order leave, grant, block, pairs, committee, authority."""
        token = R.REFUSALS_ONLY.set(True)
        try:
            for decision in self._verdicts(request):
                if not decision.allowed:
                    return decision
        finally:
            R.REFUSALS_ONLY.reset(token)
        return self._allowed(request)

    def explain(self, request: Request) -> list[Decision]:
        """Every rule's verdict on the request, refusals and passes alike."""
        return list(self._verdicts(request))

    def eligible(
        self,
        duty: str,
        loan: LoanFacts | None,
        candidates: Iterable[Actor],
        history: Iterable[DutyAct],
        now: datetime,
        role: str | None = None,
        subject: str | None = None,
    ) -> list[tuple[str, Decision]]:
        """Each candidate with the verdict on their performing `duty` now."""
        history = tuple(history)
        return [
            (c.username, self.check(Request(c, duty, loan, history, now, role=role, subject=subject)))
            for c in candidates
        ]

    # ------------------------------------------------------------ committee

    def eligible_voters(
        self,
        loan: LoanFacts,
        candidates: Iterable[Actor],
        history: Iterable[DutyAct],
        level: str,
        now: datetime | None = None,
        recused: Iterable[str] = (),
    ) -> list[tuple[str, Decision]]:
        """Every candidate with their verdict for voting at `level`; keep those `.allowed`."""
        if level not in self.committee.levels:
            raise ValueError(f"{level!r} is not a committee level; known: {', '.join(self.committee.levels)}")
        now = now or datetime.now(timezone.utc)
        at_level = replace(loan, approval_tier=level)
        history, recused = tuple(history), frozenset(recused)
        return [
            (c.username, self.check(Request(c, "vote", at_level, history, now, recused=recused)))
            for c in candidates
        ]

    def tally(
        self,
        votes: Iterable[Mapping[str, Any]],
        members: Iterable[str],
        chair: str | None,
        committee_size: int,
        recused: Iterable[str] = (),
    ) -> CommitteeOutcome:
        return C.tally(self, votes, members, chair, committee_size, recused)

    def veto_allowed(self, tallied_at: datetime, now: datetime) -> bool:
        return C.veto_allowed(self, tallied_at, now)

    # ------------------------------------------------------------ tiers and schedules

    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.name == name:
                return t
        raise ValueError(f"unknown approval tier {name!r}; policy {self.version} knows "
                         f"{', '.join(t.name for t in self.tiers)}")

    def tier_rank(self, name: str) -> int:
        return self.tiers.index(self.tier(name))

    def min_tier(self, amount: Decimal, loan_type: str = "new") -> str:
        """The lowest tier allowed to approve `amount` (group exposure); some loan types go one up."""
        if loan_type not in self.loan_types:
            raise ValueError(f"unknown loan type {loan_type!r}; known: {', '.join(sorted(self.loan_types))}")
        amount = Decimal(amount)
        rank = next(
            (i for i, t in enumerate(self.tiers) if t.ceiling is None or amount <= t.ceiling),
            len(self.tiers) - 1,
        )
        if loan_type in self.one_tier_up:
            rank = min(rank + 1, len(self.tiers) - 1)
        return self.tiers[rank].name

    def needs_dual_investigation(self, loan: LoanFacts) -> bool:
        return loan.exposure > self.params["dual_investigation_threshold"]

    def first_inspection_days(self, product: str, small_enterprise: bool) -> int:
        if product == "working_capital" and small_enterprise:
            return self.params["first_inspection_days_small"]
        return self.params["first_inspection_days_other"]

    def blocks_origination(self, missed_inspections: int) -> bool:
        """Whether the engine should set Actor.origination_blocked for this many misses."""
        return missed_inspections >= self.params["missed_inspections_block"]

    # ------------------------------------------------------------ post-loan

    def choose_inspection_assistant(
        self,
        originator: Actor,
        candidates: Sequence[Actor],
        loan: LoanFacts,
        history: Iterable[DutyAct],
        now: datetime,
        subject: str | None = None,
    ) -> str | None:
        """The originator when the policy allows them to assist now, else the first candidate it allows."""
        history = tuple(history)
        refused = {
            a.username
            for a in (originator, *candidates)
            if not self.check(Request(a, "assist_inspection", loan, history, now, subject=subject)).allowed
        }
        return choose_inspection_assistant(originator, candidates, exclude=refused)

    # ------------------------------------------------------------ consistency with BPMN

    def check_against_bpmn(self, duties_used: Iterable[str], roles_known: Iterable[str]) -> list[str]:
        """Problems between deployed BPMN (duties, lane roles) and this policy; empty when consistent."""
        used, known = set(duties_used), set(roles_known)
        problems = [
            f"BPMN uses duty {d!r}, which policy {self.version} does not define" for d in sorted(used - self.duties)
        ]
        for d in sorted(used & self.duties):
            roles = self.duty_specs[d].roles
            if not set(roles) & known:
                problems.append(f"duty {d!r} is done by {', '.join(roles)}, none of which is a known role")
        for rule in self.pairs:
            for side in (rule.a, rule.b):
                for name in side:
                    if name not in self.duty_specs and name not in self.groups:
                        problems.append(f"rule {rule.id} names {name!r}, which is neither a duty nor a group")
        for lim in self.limits:
            if lim.duty not in self.duty_specs:
                problems.append(f"rule {lim.id} names unknown duty {lim.duty!r}")
            if lim.duty in used and lim.role not in known:
                problems.append(f"rule {lim.id} limits role {lim.role!r}, which is not a known role")
        if used & self.committee.vote_duties:
            for role in self.committee.member_roles:
                if role not in known:
                    problems.append(f"committee member role {role!r} is not a known role")
        return problems


@lru_cache(maxsize=64)
def _utc_offset(text: str) -> timezone:
    """A UTC offset such as +08:00 as a timezone (asked on every command: parsed once per value)."""
    sign, hh, mm = text[0], *text[1:].split(":")
    return timezone(timedelta(hours=int(hh), minutes=int(mm)) * (-1 if sign == "-" else 1))
