"""Recoveries during workout (清收回款): while a loan is worked out, each feed position that lowers its outstanding
principal or what is overdue is a recovery, recorded by rule and handed to the workout's remaining steps."""
from __future__ import annotations

from decimal import Decimal

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.commands.floors import RULE_ACTOR
from engine.commands.flow import advance
from engine.commands.steps import WORKOUT
from engine.runtime import execution
from engine.store.models import Loan, LoanAccount, ProcessInstance, ProcessVersion

RECOVERIES = "feed_recoveries"  # the task-data list the workout's record_recovery step reads


def on_position(unit, loan: Loan, before: dict | None, account: LoanAccount) -> None:
    """Compare the position with the one before it; a recovery on a loan in workout is recorded once."""
    if before is None:
        return
    principal = Decimal(before["outstanding_principal"]) - account.outstanding_principal
    overdue = (Decimal(before["overdue_principal"]) + Decimal(before["overdue_interest"])
               - account.overdue_principal - account.overdue_interest)
    if principal <= 0 and overdue <= 0:
        return
    instance = _running_workout(unit, loan)
    if instance is None:
        return
    recovery = {"as_of": account.as_of.isoformat(), "principal_recovered": f"{max(principal, Decimal(0)):.2f}",
                "overdue_recovered": f"{max(overdue, Decimal(0)):.2f}",
                "outstanding_principal": f"{account.outstanding_principal:.2f}",
                "overdue": f"{account.overdue_principal + account.overdue_interest:.2f}"}
    unit.audit.record("recovery_recorded", actor=RULE_ACTOR, loan_ref=loan.reference, instance_id=instance.id,
                      process_id=WORKOUT, process_version=instance.process_version.version,
                      detail={**recovery, "before": before})
    workflow, loaded = unit.workflows.checkout(unit, instance)
    open_tasks = workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)
    known = next((t.data.get(RECOVERIES) for t in open_tasks if t.has_state(TaskState.READY)), None) or []
    recoveries = [*known, recovery]
    for task in open_tasks:
        task.data[RECOVERIES] = recoveries
    advance(unit, instance, workflow, loaded, loan, execution.StepLog())


def _running_workout(unit, loan: Loan) -> ProcessInstance | None:
    return unit.session.scalar(select(ProcessInstance).join(ProcessInstance.process_version).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
        ProcessVersion.process_id == WORKOUT).order_by(ProcessInstance.id).limit(1))
