"""A supervisor hands an open task to someone else: a stuck or mis-assigned task never waits for one person."""
from __future__ import annotations

from datetime import timedelta

from engine.commands.notifications import notify
from engine.commands.unit import Unit, locked_item
from engine.errors import InvalidInput, NotAllowed
from engine.roles import PERSONAL_DUTIES, SUPERVISOR_ROLES
from engine.store.models import Loan, ProcessInstance
from engine.store.people import get_user


def reassign(unit: Unit, actor: str, item_id: int, to_user: str, reason: str) -> None:
    """The branch head (origination, warnings, classifications) or the post-loan head (post-loan work) reassigns a
    task, with a reason; the new person must be someone the policy lets do it now, and any claim is released."""
    item, _instance = locked_item(unit, item_id)
    loan = unit.session.get(Loan, item.loan_id)
    supervisor = get_user(unit.session, actor)
    today = unit.policy.local_date(unit.clock.now())
    if not any(g.role in SUPERVISOR_ROLES and item.process_id in SUPERVISOR_ROLES[g.role]
               and g.branch in (None, loan.branch)
               and not (g.valid_from and g.valid_from > today) and not (g.valid_to and g.valid_to < today)
               for g in supervisor.grants):
        raise NotAllowed("Only the branch head (origination, warnings, classifications) or the post-loan head "
                         "(post-loan work) may reassign this task.")
    if item.duty in PERSONAL_DUTIES:
        raise NotAllowed("A committee member's vote or the chair's decision belongs to that person; it cannot be "
                         "handed to someone else (reconvene the committee instead).")
    if not (reason or "").strip():
        raise InvalidInput("Give the reason for the reassignment.", fields={"reason": "This field is required."})
    target = get_user(unit.session, to_user)
    unit.gate.check_reassignment(unit, target, item, loan)
    before = {"assigned_to": item.candidate_user, "claimed_by": item.claimed_by}
    item.candidate_user, item.claimed_by = target.username, None
    if item.escalated_at is not None:  # the new person gets a deadline of their own; a new miss escalates again
        item.due_at = unit.clock.now() + timedelta(days=int(unit.policy.params.get("task_due_days", 3)))
        item.escalated_at = item.escalation = None
    instance = unit.session.get(ProcessInstance, item.instance_id)
    instance.updated_at = unit.clock.now()  # a concurrent command on the instance fails cleanly
    unit.audit.record("task_reassigned", actor=actor, loan_ref=loan.reference, process_id=item.process_id,
                      instance_id=item.instance_id, process_version=instance.process_version.version,
                      step=item.bpmn_id, step_name=item.name, role=item.role, reason=reason.strip(),
                      detail={"task_id": item.task_id, "before": before, "after": {"assigned_to": target.username}})
    notify(unit, target.username, "task_reassigned", loan.reference, item.id, task=item.name, process_id=item.process_id, step=item.bpmn_id, by=actor,
           reason=reason.strip())
