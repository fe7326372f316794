"""The segregation-of-duties report: refusals grouped, and the recorded duties checked against today's pair rules."""
from __future__ import annotations


from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent, DutyRecord, Loan


# -- segregation of duties -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RefusalGroup:
    key: str  # a rule id (or the refusal kind when no rule applied), or a user name
    count: int
    breakdown: tuple[tuple[str, int], ...]  # users for a rule group, rules for a user group; most first


@dataclass(frozen=True)
class PairViolation:
    """One person did two duties on one loan that the current policy keeps apart."""

    loan_ref: str
    rule: str
    rule_name: str
    username: str
    first_duty: str
    first_at: datetime
    second_duty: str
    second_at: datetime
    subject: str | None


@dataclass(frozen=True)
class SegregationReport:
    policy_version: str
    refusals: int
    by_rule: tuple[RefusalGroup, ...]
    by_user: tuple[RefusalGroup, ...]
    violations: tuple[PairViolation, ...]


def _grouped(pairs: Iterable[tuple[str, str]]) -> tuple[RefusalGroup, ...]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, other in pairs:
        table[key][other] += 1
    groups = [RefusalGroup(key, sum(inner.values()), tuple(sorted(inner.items(), key=lambda kv: (-kv[1], kv[0]))))
              for key, inner in table.items()]
    return tuple(sorted(groups, key=lambda g: (-g.count, g.key)))


def segregation_report(session: Session, policy) -> SegregationReport:
    """Every refusal grouped by rule and by user, and every loan where one person did two duties the policy now forbids."""
    kind = AuditEvent.detail["kind"].as_string()
    refusals = session.execute(select(AuditEvent.rule, kind, AuditEvent.actor)
                               .where(AuditEvent.action == "refused")).all()
    keyed = [(rule or f"({k or 'refused'})", actor or "-") for rule, k, actor in refusals]
    return SegregationReport(policy.version, len(keyed), _grouped(keyed), _grouped((u, r) for r, u in keyed),
                             tuple(pair_violations(session, policy)))


def pair_violations(session: Session, policy) -> Iterator[PairViolation]:
    """Check the duty record against the current pair rules, loan by loan (history made under older policies too)."""
    rows = session.execute(select(DutyRecord.loan_id, Loan.reference, Loan.originator, DutyRecord.username,
                                  DutyRecord.duty, DutyRecord.subject, DutyRecord.performed_at, DutyRecord.id)
                           .join(Loan, Loan.id == DutyRecord.loan_id)
                           .order_by(DutyRecord.loan_id, DutyRecord.performed_at, DutyRecord.id))
    loan_id, ref, originator, acts = None, None, None, []
    for row in rows:
        if row.loan_id != loan_id:
            if acts:
                yield from _loan_violations(policy, ref, originator, acts)
            loan_id, ref, originator, acts = row.loan_id, row.reference, row.originator, []
        acts.append((row.id, row.username, row.duty, row.subject, row.performed_at))
    if acts:
        yield from _loan_violations(policy, ref, originator, acts)


def _loan_violations(policy, loan_ref: str, originator: str, acts: list[tuple]) -> Iterator[PairViolation]:
    if not any(duty == "originate" and user == originator for _i, user, duty, _s, _t in acts):
        acts = [(0, originator, "originate", None, datetime(1970, 1, 1, tzinfo=timezone.utc)), *acts]
    by_user: dict[str, list[tuple]] = defaultdict(list)
    for act in acts:
        by_user[act[1]].append(act)
    for username, mine in by_user.items():
        if len(mine) < 2:
            continue
        for rule in policy.pairs:
            hit = _first_conflict(rule, mine)
            if hit:
                first, second = hit
                yield PairViolation(loan_ref, rule.id, rule.name, username, first[2], first[4], second[2], second[4],
                                    first[3] if first[3] == second[3] else None)


def _first_conflict(rule, acts: list[tuple]) -> tuple[tuple, tuple] | None:
    """The earliest two distinct acts on opposite sides of the rule, in its scope."""
    for i, later in enumerate(acts):
        for earlier in acts[:i]:
            opposite = (earlier[2] in rule.duties_a and later[2] in rule.duties_b) or \
                       (earlier[2] in rule.duties_b and later[2] in rule.duties_a)
            if not opposite:
                continue
            if rule.scope == "subject" and earlier[3] is not None and later[3] is not None and earlier[3] != later[3]:
                continue
            return earlier, later
    return None
