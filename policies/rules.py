"""Evaluation of leave, role grants, origination block, duty pairs and authority."""
from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from . import messages as M
from .model import Decision, DutyAct, Grant, PairTerms, PolicyTerms, Request


@dataclass(frozen=True)
class PairRule:
    """Two sets of duties that must be done by different people within a scope."""

    id: str
    name: str
    name_zh: str
    source: str
    a: tuple[str, ...]  # duties or groups, as written in the YAML
    b: tuple[str, ...]
    duties_a: frozenset[str]
    duties_b: frozenset[str]
    scope: str  # "loan" | "subject"
    note: str = ""
    kind: str = "pair"

    def involves(self, duty: str) -> bool:
        return duty in self.duties_a or duty in self.duties_b

    def opposite(self, duty: str) -> frozenset[str]:
        """Earlier duties that conflict with performing `duty` now."""
        other: frozenset[str] = frozenset()
        if duty in self.duties_a:
            other |= self.duties_b
        if duty in self.duties_b:
            other |= self.duties_a
        return other


@dataclass(frozen=True)
class LimitRule:
    """A duty performed in a role must stay within the grant's personal limit."""

    id: str
    name: str
    name_zh: str
    source: str
    duty: str
    role: str
    require_limit: bool
    kind: str = "limit"


@dataclass(frozen=True)
class Control:
    """A named check that is not a pair (leave, grants, committee, tiers)."""

    key: str
    id: str
    name: str
    name_zh: str
    source: str
    note: str = ""
    kind: str = "control"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def verdict(
    policy: PolicyTerms,
    request: Request,
    rule: Any,
    template: str,
    kind: str | None = None,
    conflicting: DutyAct | None = None,
    **params: Any,
) -> Decision:
    """Build a Decision carrying the parameters every message and audit row needs."""
    base: dict[str, Any] = {
        "duty": request.duty,
        "loan_id": request.loan.loan_id if request.loan else None,
        "subject": request.subject,
        "policy_version": policy.version,
        "actor": request.actor.username,
        "on_behalf_of": request.acting_for.username if request.acting_for else None,
    }
    if rule is not None:
        base.update(rule=rule.id, rule_name=rule.name, rule_name_zh=rule.name_zh)
    base.update(params)
    return Decision(
        allowed=kind is None,
        rule=rule.id if rule is not None else None,
        message_template=template,
        params=base,
        conflicting=conflicting,
        kind=kind,
        on_behalf_of=base["on_behalf_of"],
        policy_version=policy.version,
    )


# Set while `check` looks only for the first refusal: a passed rule is then one shared Decision, not a full one with
# its message parameters (which only `explain` shows). An inbox page asks hundreds of checks.
REFUSALS_ONLY: ContextVar[bool] = ContextVar("refusals_only", default=False)
_PASSED = Decision(allowed=True, rule=None, message_template=M.RULE_SATISFIED, params={})


def satisfied(policy: PolicyTerms, request: Request, rule: Any, applies: bool = True) -> Decision:
    if REFUSALS_ONLY.get():
        return _PASSED
    return verdict(policy, request, rule, M.RULE_SATISFIED if applies else M.RULE_NOT_APPLICABLE)


# ---------------------------------------------------------------- leave, block


def leave_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    rule = policy.controls["leave"]
    if request.actor.on_leave:
        yield verdict(policy, request, rule, M.ON_LEAVE, "OnLeave")
    else:
        yield satisfied(policy, request, rule)


def block_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    rule = policy.controls["origination_block"]
    if request.duty != "originate":
        yield satisfied(policy, request, rule, applies=False)
        return
    for person in (request.actor, request.acting_for):
        if person is not None and person.origination_blocked:
            yield verdict(
                policy, request, rule, M.ORIGINATION_BLOCKED, "OriginationBlocked",
                blocked_user=person.username, limit=policy.params["missed_inspections_block"],
            )
            return
    yield satisfied(policy, request, rule)


# ---------------------------------------------------------------- role grants


def required_branch(policy: PolicyTerms, request: Request, roles: tuple[str, ...]) -> str | None:
    """The branch a grant must be scoped to (None: any grant will do); committees sit at their level."""
    loan = request.loan
    if loan is None:
        return None
    committee = policy.committee
    if set(roles) & {*committee.member_roles, committee.chair_role}:
        level = loan.approval_tier or policy.min_tier(loan.exposure, loan.loan_type)
        if committee.levels.get(level) == "head_office":
            return policy.params["head_office_branch"]
    return loan.branch


def grants_for(policy: PolicyTerms, request: Request, roles: tuple[str, ...], valid_only: bool = True) -> list[Grant]:
    branch = required_branch(policy, request, roles)
    day = policy.local_date(request.now)
    return [
        g for g in request.actor.grants
        if g.role in roles
        and (g.branch is None or branch is None or g.branch == branch)
        and (not valid_only or g.valid_on(day))
    ]


def role_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    rule = policy.controls["role_grant"]
    spec = policy.duty_specs[request.duty]
    if request.role is not None and request.role not in spec.roles:
        yield verdict(
            policy, request, rule, M.ROLE_NOT_FOR_DUTY, "RoleMissing",
            role=request.role, allowed_roles=", ".join(spec.roles),
        )
        return
    roles = (request.role,) if request.role is not None else spec.roles
    if grants_for(policy, request, roles):
        yield satisfied(policy, request, rule)
        return
    branch = required_branch(policy, request, roles) or "any"
    dated = grants_for(policy, request, roles, valid_only=False)
    if dated:
        g = dated[0]
        yield verdict(
            policy, request, rule, M.ROLE_EXPIRED, "RoleMissing",
            role=g.role, branch=branch, valid_from=str(g.valid_from or "-"),
            valid_to=str(g.valid_to or "-"), date=policy.local_date(request.now).isoformat(),
        )
        return
    if branch == "any":
        yield verdict(policy, request, rule, M.ROLE_MISSING_ANYWHERE, "RoleMissing", role=" or ".join(roles))
        return
    yield verdict(
        policy, request, rule, M.ROLE_MISSING, "RoleMissing", role=" or ".join(roles), branch=branch
    )


# ---------------------------------------------------------------- duty pairs


def _in_scope(rule: PairTerms, act: DutyAct, request: Request) -> bool:
    if rule.scope == "subject" and act.subject is not None and request.subject is not None:
        return act.subject == request.subject
    return request.loan is not None and act.loan_id == request.loan.loan_id


def _file_acts(request: Request) -> tuple[list[DutyAct], DutyAct | None]:
    """The history, plus an implied `originate` act when the engine did not record one."""
    acts = list(request.history)
    loan = request.loan
    if loan is None:
        return acts, None
    recorded = any(
        a.duty == "originate" and a.loan_id == loan.loan_id and a.attributable_to(loan.originator) for a in acts
    )
    if recorded:
        return acts, None
    implied = DutyAct(loan.originator, "originate", loan.loan_id, _EPOCH, "origination")
    return acts + [implied], implied


def _conflict_template(rule: Any, act: DutyAct, implied: bool, mine: bool, subject: str | None, voter: bool) -> str:
    if voter:
        return M.VOTER_FILE_WORK if mine else M.VOTER_PRINCIPAL_FILE_WORK
    if implied:
        return M.CONFLICT_ORIGINATOR if mine else M.CONFLICT_PRINCIPAL_ORIGINATOR
    if act.loan_id is None:
        return M.CONFLICT_SELF_NO_LOAN if mine else M.CONFLICT_PRINCIPAL_NO_LOAN
    if getattr(rule, "scope", "loan") == "subject" and subject is not None:
        return M.CONFLICT_SELF_SUBJECT if mine else M.CONFLICT_PRINCIPAL_SUBJECT
    return M.CONFLICT_SELF if mine else M.CONFLICT_PRINCIPAL


def conflict(
    policy: PolicyTerms, request: Request, rule: Any, act: DutyAct, implied: bool = False, voter: bool = False
) -> Decision:
    """A refusal naming the earlier act: who did it, which duty, on which loan, on what date."""
    mine = act.attributable_to(request.actor.username)
    subject = act.subject if act.subject is not None else request.subject
    specs = policy.duty_specs
    return verdict(
        policy, request, rule, _conflict_template(rule, act, implied, mine, subject, voter),
        "NotEligibleVoter" if voter else "DutyConflict", conflicting=None if implied else act,
        loan_id=act.loan_id, subject=subject,
        earlier_duty=act.duty, earlier_duty_label=specs[act.duty].done,
        earlier_user=act.username, earlier_on_behalf_of=act.on_behalf_of,
        date=None if implied else policy.local_date(act.performed_at).isoformat(),
        duty_a=specs[act.duty].en, duty_b=specs[request.duty].en,
        duty_a_zh=specs[act.duty].zh, duty_b_zh=specs[request.duty].zh,
        principal=request.acting_for.username if request.acting_for else None,
    )


def conflicting_acts(request: Request, opposite: frozenset[str], rule: PairTerms | None) -> list[tuple[DutyAct, bool]]:
    """Acts by the actor or principal, in scope, whose duty is in `opposite`; earliest first."""
    acts, implied = _file_acts(request)
    hits = [
        (a, a is implied) for a in acts
        if a.duty in opposite
        and any(a.attributable_to(p) for p in request.people)
        and (_in_scope(rule, a, request) if rule is not None else
             request.loan is not None and a.loan_id == request.loan.loan_id)
    ]
    hits.sort(key=lambda h: (h[1], h[0].performed_at))  # recorded acts before the implied one
    return hits


def pair_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    for rule in policy.pairs:
        if not rule.involves(request.duty):
            yield satisfied(policy, request, rule, applies=False)
            continue
        if request.loan is None and (rule.scope == "loan" or request.subject is None):
            raise ValueError(
                f"duty {request.duty!r} needs a loan{' or a subject' if rule.scope == 'subject' else ''} "
                f"to check rule {rule.id}"
            )
        hits = conflicting_acts(request, rule.opposite(request.duty), rule)
        if hits:
            act, implied = hits[0]
            yield conflict(policy, request, rule, act, implied)
        else:
            yield satisfied(policy, request, rule)


# ---------------------------------------------------------------- authority


def tier_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    rule = policy.controls["approval_tier"]
    loan = request.loan
    if loan is None or request.duty not in policy.tier_checked_duties:
        yield satisfied(policy, request, rule, applies=False)
        return
    path = loan.approval_tier or policy.tier_checked_duties[request.duty]
    if path is None:
        yield satisfied(policy, request, rule, applies=False)
        return
    required = policy.min_tier(loan.exposure, loan.loan_type)
    if policy.tier_rank(path) < policy.tier_rank(required):
        ceiling = policy.tier(path).ceiling
        yield verdict(
            policy, request, rule, M.TIER_TOO_LOW, "AuthorityExceeded",
            amount=money(loan.exposure), loan_type=loan.loan_type, tier=path,
            required_tier=required, ceiling=money(ceiling) if ceiling is not None else "-",
        )
    else:
        yield satisfied(policy, request, rule)


def limit_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    loan = request.loan
    for rule in policy.limits:
        applies = loan is not None and request.duty == rule.duty and (
            request.role == rule.role
            or (request.role is None and grants_for(policy, request, (rule.role,)))
        )
        if not applies:
            yield satisfied(policy, request, rule, applies=False)
            continue
        assert loan is not None
        amount = loan.exposure
        grants = grants_for(policy, request, (rule.role,))
        limits = [g.limit for g in grants if g.limit is not None]
        covered = any(lim >= amount for lim in limits) or (
            not rule.require_limit and any(g.limit is None for g in grants)
        )
        if covered:
            yield satisfied(policy, request, rule)
        elif not grants:
            yield verdict(policy, request, rule, M.ROLE_MISSING, "RoleMissing",
                          role=rule.role, branch=loan.branch)
        elif not limits:
            yield verdict(policy, request, rule, M.NO_LIMIT, "AuthorityExceeded",
                          role=rule.role, amount=money(amount))
        else:
            yield verdict(policy, request, rule, M.OVER_LIMIT, "AuthorityExceeded",
                          role=rule.role, amount=money(amount), limit=money(max(limits)))


# ---------------------------------------------------------------- business signature (双签)


def business_signature_verdicts(policy: PolicyTerms, request: Request) -> Iterator[Decision]:
    """The business signature is the originator's attestation (default), or, when the policy says
    `business_signature_by: second_customer_manager`, a customer manager who did not work on the file."""
    rule = policy.controls.get("business_signature")
    if rule is None:
        return
    loan = request.loan
    if request.duty != "sign_business" or loan is None:
        yield satisfied(policy, request, rule, applies=False)
        return
    who = request.acting_for or request.actor
    if policy.params.get("business_signature_by", "originator") == "originator":
        if who.username != loan.originator:
            yield verdict(policy, request, rule, M.BUSINESS_SIGNATURE_ORIGINATOR, "WrongSigner",
                          originator=loan.originator or "-")
            return
    else:
        worked = policy.groups.get("file_originator", frozenset())
        earlier = next((a for a in request.history if a.username == who.username and a.duty in worked), None)
        if earlier is not None:
            yield verdict(policy, request, rule, M.BUSINESS_SIGNATURE_SECOND, "WrongSigner", conflicting=earlier,
                          earlier_act=policy.duty_specs[earlier.duty].done,
                          earlier_act_zh=policy.duty_specs[earlier.duty].zh)
            return
    yield satisfied(policy, request, rule)
