"""What the policy and today's user base say about a replayed step: who may do it, and whether the person who did
it would be refused. A finding counts only when the deployed files under the current policy do not share it."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from policies.model import Actor, DutyAct, Grant, LoanFacts, N_, Request

from engine.store.models import Leave, User


@dataclass(frozen=True)
class Finding:
    """A difference before it is placed on a loan: kind, gettext template, params."""

    kind: str
    template: str
    params: dict


class Staff:
    """Every user and grant, read once per replay (the replay asks about today's user base)."""

    def __init__(self, session: Session):
        self.session = session
        users = session.scalars(select(User).options(selectinload(User.grants))).all()
        self.users = {u.username: u for u in users}
        self.leave: dict[int, list[tuple]] = {}
        for row in session.scalars(select(Leave)):
            self.leave.setdefault(row.user_id, []).append((row.starts_on, row.ends_on))
        self._actors: dict = {}

    def actor(self, username: str, at: datetime, policy):
        """The policy's view of a person at a moment (grants today, leave on that day), or None if unknown."""
        user = self.users.get(username)
        if user is None:
            return None
        day = policy.local_date(at)
        key = (username, day)
        if key not in self._actors:  # as `access.actor_for`, with the leave read once
            away = any(start <= day <= end for start, end in self.leave.get(user.id, ()))
            self._actors[key] = Actor(username=user.username, grants=tuple(
                Grant(g.role, g.branch, g.limit, g.valid_from, g.valid_to) for g in user.grants),
                on_leave=away, origination_blocked=user.origination_blocked)
        return self._actors[key]

    def reachable(self, username: str, at: datetime, policy) -> bool:
        """An assignee who can take the task: active and not on leave that day (a stand-in is not looked up)."""
        user = self.users.get(username)
        if user is None or not user.active:
            return False
        day = policy.local_date(at)
        return not any(start <= day <= end for start, end in self.leave.get(user.id, ()))

    def covered(self, policy, duty: str, role: str, branch: str | None, amount: Decimal, at: datetime) -> bool:
        """Someone active holds `role` at `branch` (or unscoped) on that day, with a limit covering `amount` where
        the policy requires one (as `commands/authority.covered` asks the database)."""
        day = policy.local_date(at)
        limited = any(r.duty == duty and r.role == role and r.require_limit for r in policy.limits)
        for user in self.users.values():
            if not user.active:
                continue
            for g in user.grants:
                if g.role != role or (g.branch not in (None, branch) and not role.startswith("committee")):
                    continue
                if (g.valid_from and g.valid_from > day) or (g.valid_to and g.valid_to < day):
                    continue
                if not limited or (g.limit is not None and g.limit >= amount):
                    return True
        return False


def route(staff: Staff, policy, duty: str, role: str, branch: str, amount: Decimal, at: datetime):
    """(role, branch, served) of a newly opened task, up the authority chain when no local limit covers it."""
    if not any(r.duty == duty and r.role == role and r.require_limit for r in policy.limits):
        return role, branch, True
    if staff.covered(policy, duty, role, branch, amount, at):
        return role, branch, True
    step = policy.escalation.get(duty)
    if step is not None:
        to, higher = step
        if to == "head_office":
            branch = policy.params["head_office_branch"]
        else:
            role = higher
    return role, branch, step is not None and staff.covered(policy, duty, role, branch, amount, at)


def serving_problem(staff: Staff, policy, duty: str, role: str, branch: str, amount: Decimal,
                    at: datetime) -> tuple[str, dict] | None:
    """Why nobody may do a step with this duty in this lane (template, params), or None."""
    if duty not in policy.duty_specs:
        return "the policy does not define the duty %(duty)s", {"duty": duty}
    if role not in policy.duty_specs[duty].roles:
        return "the policy does not let %(role)s do %(duty)s", {"role": role, "duty": duty}
    if not staff.covered(policy, duty, role, branch, Decimal(0), at) and \
            not any(r.duty == duty and r.role == role and r.require_limit for r in policy.limits):
        return "no active user holds the role %(role)s", {"role": role}
    _role, _branch, served = route(staff, policy, duty, role, branch, amount, at)
    if not served:
        return "nobody's limit covers the amount, even up the authority chain", {}
    return None


def unserved(staff: Staff, candidate_policy, current_policy, step_name: str, meta, recorded_meta, branch: str,
             amount: Decimal, at: datetime) -> Finding | None:
    """A step the candidate opens that nobody may do, unless the deployed step under today's policy shares it."""
    problem = serving_problem(staff, candidate_policy, meta.duty, meta.role, branch, amount, at)
    if problem is None:
        return None
    if recorded_meta is not None and serving_problem(staff, current_policy, recorded_meta.duty, recorded_meta.role,
                                                     branch, amount, at) is not None:
        return None  # not the candidate's doing: today's user base or policy already has it
    reason, params = problem
    return Finding("unserved", N_("%(step)s: nobody could do it (%(reason)s)."),
                   {"step": step_name, "role": meta.role, "duty": meta.duty, "reason": reason % params if params
                    else reason, "reason_template": reason, "reason_params": params})


@dataclass(frozen=True)
class Attempt:
    """One recorded completion as the policy sees it."""

    username: str
    on_behalf_of: str | None
    duty: str
    role: str
    facts: LoanFacts
    history: tuple[DutyAct, ...]
    at: datetime
    subject: str | None


def _request(staff: Staff, policy, attempt: Attempt) -> Request | None:
    actor = staff.actor(attempt.username, attempt.at, policy)
    if actor is None:
        return None
    acting_for = staff.actor(attempt.on_behalf_of, attempt.at, policy) if attempt.on_behalf_of else None
    return Request(actor=actor, duty=attempt.duty, loan=attempt.facts, history=attempt.history, now=attempt.at,
                   role=attempt.role, acting_for=acting_for, subject=attempt.subject,
                   recused=frozenset(a.username for a in attempt.history if a.duty == "recuse"))


def _allowed(policy, request: Request) -> bool | None:
    try:
        return policy.check(request).allowed
    except ValueError:  # a duty this policy does not define
        return None


def refusal(staff: Staff, candidate_policy, current_policy, attempt: Attempt, recorded: Attempt | None,
            step_name: str) -> Finding | None:
    """The candidate policy refusing the person who did the step, unless the deployed step under today's policy
    refuses them as well (then grants or leave changed since, not the candidate)."""
    request = _request(staff, candidate_policy, attempt)
    if request is None:
        return None
    try:
        decision = candidate_policy.check(request)
    except ValueError:
        return None  # reported when the step opened (unserved)
    if decision.allowed:
        return None
    if recorded is not None:
        before = _request(staff, current_policy, recorded)
        if before is not None and _allowed(current_policy, before) is False:
            return None
    return Finding("refused", N_("%(step)s: %(actor)s would be refused under %(rule)s: %(reason)s"),
                   {"step": step_name, "actor": attempt.username, "rule": decision.rule or "",
                    "reason": decision.message, "reason_template": decision.message_template,
                    "reason_params": {k: str(v) for k, v in decision.params.items()}})


def with_tier(facts: LoanFacts, tier: str | None) -> LoanFacts:
    return replace(facts, approval_tier=tier)
