"""Every deadline escalates: an overdue task goes to the supervisor's list, and one that nobody may perform becomes
an incident the administrator sees, never a silent stall."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.commands import failures, notifications
from engine.commands.unit import open_unit
from engine.errors import DatabaseUnavailable, EngineError
from engine.kernel import Kernel
from engine.roles import SUPERVISOR_ROLES
from engine.store.models import DutyRecord, Loan, ProcessInstance, RoleGrant, User, WorkItem


log = logging.getLogger("creditflow.escalations")


class NoEligiblePerformer(EngineError):
    """No active user may perform an open task under the policy (no grant, or every holder is excluded)."""

    code = "no_eligible_performer"


def supervisors_of(process_id: str) -> list[str]:
    """The roles a task of this process escalates to."""
    return [role for role, processes in SUPERVISOR_ROLES.items() if process_id in processes]


def escalate_overdue(kernel: Kernel, limit: int = 200) -> int:
    """Mark every overdue, not yet escalated task as escalated (audited); returns how many."""
    now = kernel.clock.now()
    with kernel.db.reading() as session:
        due = list(session.scalars(select(WorkItem.id).where(
            WorkItem.escalated_at.is_(None), WorkItem.due_at < now).order_by(WorkItem.due_at).limit(limit)))
    for item_id in due:
        try:
            _escalate(kernel, item_id)
        except (DatabaseUnavailable, OperationalError, InterfaceError):
            raise  # the database is away: the worker waits and reconnects
        except Exception:  # noqa: BLE001 - one item must not stop the others
            log.exception("escalating task %s failed", item_id)
    return len(due)


def _escalate(kernel: Kernel, item_id: int) -> None:
    unserved = None
    with open_unit(kernel, "timer", "escalate") as unit:
        query = select(WorkItem).where(WorkItem.id == item_id, WorkItem.escalated_at.is_(None))
        if kernel.db.is_postgres:  # another worker escalating it meanwhile skips it
            query = query.with_for_update(skip_locked=True)
        item = unit.session.scalar(query)
        if item is None:
            return
        loan = unit.session.get(Loan, item.loan_id)
        holders = unit.session.scalars(select(User).join(RoleGrant).where(
            RoleGrant.role == item.role, User.active.is_(True)).distinct()).all()
        served = any(unit.gate.decide(unit.session, user, item, loan).allowed for user in holders)
        item.escalated_at, item.escalation = unit.clock.now(), "overdue" if served else "unserved"
        instance = unit.session.get(ProcessInstance, item.instance_id)
        to = supervisors_of(item.process_id)
        chair = unit.session.scalar(select(DutyRecord.username).where(
            DutyRecord.instance_id == item.instance_id, DutyRecord.duty == "convene_committee")
            .order_by(DutyRecord.id.desc()).limit(1)) if item.duty == "vote" else None
        if chair:  # a member who has not voted in time is reported to the chair of the meeting
            to.append("committee_chair")
        unit.audit.record("task_escalated", loan_ref=loan.reference, process_id=item.process_id,
                          instance_id=item.instance_id, process_version=instance.process_version.version,
                          step=item.bpmn_id, step_name=item.name, role=item.role, actor=None,
                          detail={"task_id": item.task_id, "reason": item.escalation, "due_at": item.due_at,
                                  "to": to, "chair": chair, "assigned_to": item.candidate_user,
                                  "claimed_by": item.claimed_by})
        notifications.task_escalated(unit, item, loan, to, chair)
        if not served:
            unserved = NoEligiblePerformer("Nobody may perform %(task)s on loan %(loan)s under the policy; grant the "
                                           "role or reassign it.", task=item.name, loan=loan.reference)
            unserved.step_id, unserved.step_name, unserved.process_id = item.bpmn_id, item.name, item.process_id
            instance_id = item.instance_id
    if unserved is not None:
        failures.count_failure(kernel, instance_id, "unserved", unserved, detail={"task": unserved.step_id})
