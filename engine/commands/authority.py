"""Up the authority chain (向上级行申请授权): a task whose amount no local limit covers goes where the policy says
(the same role at head office, or a named higher role) as soon as it opens, recorded as an escalation; when even
there nobody's limit covers it, it is an incident the administrator sees, never a silent wait."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_, select

from engine.access import loan_facts
from engine.commands import failures
from engine.commands.unit import Unit
from engine.errors import EngineError
from engine.store.models import Loan, ProcessInstance, RoleGrant, User, WorkItem


class NoAuthorityCovers(EngineError):
    """Nobody, even up the authority chain, holds a limit that covers the amount."""

    code = "no_authority_covers"


def covered(unit: Unit, duty: str, role: str, branch: str | None, amount: Decimal) -> bool:
    """Someone active holds a valid grant of `role` at `branch` (or unscoped) whose limit covers `amount`, where
    the policy requires a limit for this duty in this role; any holder otherwise."""
    today = unit.policy.local_date(unit.clock.now())
    query = select(RoleGrant.limit).join(User).where(
        User.active.is_(True), RoleGrant.role == role,
        or_(RoleGrant.branch.is_(None), RoleGrant.branch == branch),
        or_(RoleGrant.valid_from.is_(None), RoleGrant.valid_from <= today),
        or_(RoleGrant.valid_to.is_(None), RoleGrant.valid_to >= today))
    if any(r.duty == duty and r.role == role and r.require_limit for r in unit.policy.limits):
        query = query.where(RoleGrant.limit.is_not(None), RoleGrant.limit >= amount)
    return unit.session.connection().scalar(query.limit(1)) is not None


def route_up(unit: Unit, item: WorkItem, loan: Loan, instance: ProcessInstance) -> None:
    """Send a newly opened task up the chain when no limit at its branch covers the loan (see the module doc)."""
    policy = unit.policy
    if not any(r.duty == item.duty and r.role == item.role and r.require_limit for r in policy.limits):
        return
    amount = loan_facts(loan).exposure
    if covered(unit, item.duty, item.role, item.branch, amount):
        return
    rule = policy.controls.get("authority_escalation")
    step = policy.escalation.get(item.duty)
    origin = {"role": item.role, "branch": item.branch}
    if step is not None:
        to, higher_role = step
        if to == "head_office":
            item.branch = policy.params["head_office_branch"]
        else:
            item.role = higher_role
    served = step is not None and covered(unit, item.duty, item.role, item.branch, amount)
    item.escalated_at, item.escalation = unit.clock.now(), "authority" if served else "unserved"
    unit.audit.record("task_escalated", loan_ref=loan.reference, process_id=item.process_id,
                      instance_id=instance.id, process_version=instance.process_version.version,
                      step=item.bpmn_id, step_name=item.name, role=item.role, actor=None,
                      detail={"task_id": item.task_id, "reason": item.escalation, "amount": amount,
                              "rule": rule.id if rule else None, "from": origin,
                              "to": {"role": item.role, "branch": item.branch}})
    if not served:
        error = NoAuthorityCovers("Nobody's limit covers loan %(loan)s of CNY %(amount)s for %(task)s, even up the "
                                  "authority chain; grant a limit or change the policy.",
                                  loan=loan.reference, amount=f"{amount:,.2f}", task=item.name)
        error.step_id, error.step_name, error.process_id = item.bpmn_id, item.name, item.process_id
        failures.record_failure(unit.session, unit.audit, instance, "unserved", error, unit.clock.now(),
                                unit.kernel.settings.incident_max_attempts,
                                unit.kernel.settings.incident_backoff_seconds, detail={"task": item.bpmn_id})
