"""After a workflow moved: its state, the loan's status and the work items, saved the same way by every command."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import bindparam, select

from engine.commands import authority, failures, notifications, payments
from engine.commands.unit import Unit
from engine.errors import ScriptFailed
from engine.runtime import execution
from engine.runtime.calendar import add_business_days
from engine.runtime.specs import LoadedProcess
from engine.runtime.timers import duration_from
from engine.store.models import Loan, ProcessInstance, ProcessVersion, WorkItem
from engine.store.writes import add_now, delete_now, save_now

# End events whose id says what became of the loan (an end event may also declare `loan_status`).
END_STATUS = {"rejected": "rejected", "withdrawn": "withdrawn", "disbursed": "disbursed", "archived": "closed",
              "facility_closed": "withdrawn"}
# End events after which the loan shows a stage of its own (the file archived after closure).
END_STAGE = {"archived": "archived"}
# The process whose running instance keeps the loan's stage at `workout`, whatever else runs on it.
WORKOUT = "workout"
# Loan fields set by automatic steps (decision tables).
AUTOMATIC_LOAN_OUTPUTS = ("approval_tier",)


_ITEMS_OF = select(WorkItem).where(WorkItem.instance_id == bindparam("instance_id"))


def subject_of(instance: ProcessInstance) -> str:
    """What subject-scoped pair rules compare: one warning, one classification proposal, one process instance."""
    return f"{instance.process_version.process_id}:{instance.id}"


def save_state(unit: Unit, instance: ProcessInstance, workflow, loaded: LoadedProcess, loan: Loan,
               log: execution.StepLog, completed_task_id: str | None = None, items: dict | None = None) -> None:
    """The automatic steps as audit events, the state without its spec, timers, messages waited for, the end
    reached, and the work items; all written by now, so that routing the thrown messages sees it."""
    now = unit.clock.now()
    version = instance.process_version
    for step in log.steps:
        for field_name in AUTOMATIC_LOAN_OUTPUTS:
            if field_name in step.get("changed", {}):
                setattr(loan, field_name, step["changed"][field_name])
        unit.audit.record("step_completed", loan_ref=loan.reference, process_id=version.process_id,
                          process_version=version.version, instance_id=instance.id, step=step["step"],
                          step_name=step["name"], actor=None,
                          detail=execution.plain_data({k: v for k, v in step.items() if k not in ("step", "name")}))
    for event, data in log.loan_events:
        payments.apply_loan_event(unit, loan, event, data, None, instance)
    execution.prune_finished_subprocesses(workflow)
    if workflow.completed:
        _completed(unit, instance, workflow, loan)
    timer_due, messages = execution.waiting_for(workflow)
    save_now(unit.session, instance, state=unit.workflows.dumps(workflow), updated_at=now, next_timer_due=timer_due,
             waiting_messages=",".join(messages) or None)
    unit.saved[instance.id] = (instance, workflow)
    opened = refresh_work_items(unit, instance, workflow, loaded, loan, completed_task_id, items)
    save_now(unit.session, loan, updated_at=now)  # with the stage and whatever else the step changed on it
    unit.session.flush()  # anything else the command changed (rare on this path)
    for item in opened:  # ids known now; the notifications go in with the commit
        notifications.task_opened(unit, item, loan)


def _completed(unit: Unit, instance: ProcessInstance, workflow, loan: Loan) -> None:
    version = instance.process_version
    instance.status = "completed"
    end = execution.end_event_reached(workflow)
    status = END_STATUS.get(end or "")
    if status and (status == "closed" or loan.status == "active"):  # origination's ends decide an active loan only
        if status in notifications.LOAN_OUTCOMES and loan.status != status:
            notifications.loan_decided(unit, loan, notifications.LOAN_OUTCOMES[status])
        loan.status = status
    if end in END_STAGE:
        loan.stage = END_STAGE[end]
    elif loan.status in ("rejected", "withdrawn", "closed", "settled"):
        loan.stage = "archived" if loan.stage == "archived" else "closed"
    elif loan.status == "disbursed":  # a warning or classification ended: back in post-loan care, or in workout
        loan.stage = WORKOUT if loan.stage == WORKOUT and in_workout(unit, loan, other_than=instance.id) \
            else "post_loan"
    unit.audit.record("instance_completed", loan_ref=loan.reference, process_id=version.process_id,
                      process_version=version.version, instance_id=instance.id, step=end,
                      detail={"end": end, "loan_status": loan.status})


def refresh_work_items(unit: Unit, instance: ProcessInstance, workflow, loaded: LoadedProcess, loan: Loan,
                       completed_task_id: str | None = None, items: dict | None = None) -> list[WorkItem]:
    """One work item per READY user task: new ones offered (and audited), vanished ones cancelled; returns the
    new ones. `items`: the instance's work items by task id, when the caller holds them all (else read here)."""
    existing = items if items is not None else {
        w.task_id: w for w in unit.session.scalars(_ITEMS_OF, {"instance_id": instance.id})}
    ready = {str(t.id): t for t in execution.ready_user_tasks(workflow)}
    for task_id, item in existing.items():
        if task_id not in ready:
            if task_id != completed_task_id:
                unit.audit.record("task_cancelled", loan_ref=loan.reference, process_id=loaded.process_id,
                                  process_version=instance.process_version.version, instance_id=instance.id,
                                  step=item.bpmn_id, step_name=item.name, role=item.role,
                                  detail={"task_id": task_id, "claimed_by": item.claimed_by,
                                          "assigned_to": item.candidate_user})
            if item.escalation == "unserved":
                failures.resolve(unit.session, unit.audit, instance, ("unserved",), unit.clock.now(), None,
                                 loan.reference, task=item.bpmn_id)
            delete_now(unit.session, item)
    now = unit.clock.now()
    opened = []
    for task_id, task in ready.items():
        if task_id in existing:
            continue
        meta = loaded.user_tasks[task.task_spec.name]
        candidate = None
        if meta.assignee:
            value = unit.kernel.script_engine.evaluate(task, meta.assignee)
            candidate = str(value) if value else None
            if candidate and not unit.gate.reachable(unit.session, candidate):
                unit.audit.record("assignee_unavailable", loan_ref=loan.reference, step=meta.bpmn_id,
                                  step_name=meta.name, detail={"assignee": candidate, "offered_to": meta.role})
                candidate = None  # away without a stand-in: the task goes to everyone in the lane
        item = WorkItem(
            instance_id=instance.id, loan_id=loan.id, task_id=task_id, bpmn_id=meta.bpmn_id, name=meta.name,
            process_id=loaded.process_id, role=meta.role, duty=meta.duty, stage=meta.stage or loan.stage,
            branch=loan.branch, candidate_user=candidate, claimed_by=None, created_at=now,
            due_at=due_at(unit, meta, task, now), escalated_at=None, escalation=None)
        unit.audit.record("task_started", loan_ref=loan.reference, process_id=loaded.process_id,
                          process_version=instance.process_version.version, instance_id=instance.id,
                          step=meta.bpmn_id, step_name=meta.name, role=meta.role,
                          detail={"duty": meta.duty, "assigned_to": candidate, "task_id": task_id,
                                  "due_at": item.due_at})
        if candidate is None:
            authority.route_up(unit, item, loan, instance)
        opened.append(add_now(unit.session, item))  # only its notification reads it
        if meta.stage:
            loan.stage = stage_shown(unit, loan, meta.stage)
    return opened


def in_workout(unit: Unit, loan: Loan, other_than: int | None = None) -> bool:
    """A workout instance runs on the loan (资产保全): the loan's stage says so until it ends."""
    return unit.session.scalar(select(ProcessInstance.id).join(ProcessInstance.process_version).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running", ProcessInstance.id != other_than,
        ProcessVersion.process_id == WORKOUT).limit(1)) is not None


def stage_shown(unit: Unit, loan: Loan, stage: str) -> str:
    """The stage a task opening puts the loan in: while it is worked out, inspections, warnings and reviews on it
    keep it in `workout`."""
    if stage in (WORKOUT, "closed", "archived") or loan.status != "disbursed" or loan.stage != WORKOUT:
        return stage  # a running workout keeps the loan's stage at `workout`, so the stage says whether one runs
    return WORKOUT


def due_at(unit: Unit, meta, task, now: datetime) -> datetime:
    """When a task is due: the BPMN's `due` (an ISO duration, or an expression such as
    `business_days(warning_register_business_days)`), else the policy's default number of days."""
    policy = unit.policy
    if not meta.due:
        return now + timedelta(days=int(policy.params.get("task_due_days", 3)))
    try:
        value = meta.due if meta.due.upper().startswith("P") else str(unit.kernel.script_engine.evaluate(task, meta.due))
        match = re.fullmatch(r"(\d+)BD", value)
        if match:
            return add_business_days(now, int(match.group(1)), policy.local_date, unit.kernel.calendar)
        return now + duration_from(value, now)
    except (OverflowError, ValueError, SpiffWorkflowException) as exc:
        raise ScriptFailed("Step '%(step)s' failed: %(error)s", step=meta.name, error=str(exc)) from exc
