"""Failed steps: a step that failed outside a person's request is recorded on an incident, retried with backoff,
then waits for a person. Recorded in a transaction of its own, so a failure on one instance rolls back only that
instance and never stops the worker."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from engine.runtime import execution
from engine.kernel import Kernel
from engine.store.models import Incident, Loan, ProcessInstance, WorkItem

# Kinds the worker retries by itself; a failed task completion is only counted (the person retries it).
AUTOMATIC = ("timer", "message")
log = logging.getLogger("creditflow.incidents")


def blocked(now: datetime):
    """SQL condition: the instance has an open automatic incident that is not due for another attempt."""
    return exists().where(and_(
        Incident.instance_id == ProcessInstance.id, Incident.status == "open", Incident.kind.in_(AUTOMATIC),
        or_(Incident.next_attempt_at.is_(None), Incident.next_attempt_at > now)))


def describe(error: BaseException) -> tuple[str | None, str | None, str | None, str]:
    """(process id, BPMN id, step name, message) of a failure, as far as the error knows them."""
    message = str(error) or type(error).__name__
    if not getattr(error, "step_id", None):
        message = f"{type(error).__name__}: {message}"
    return (getattr(error, "process_id", None), getattr(error, "step_id", None), getattr(error, "step_name", None),
            message[:4000])


def record_failure(session: Session, audit, instance: ProcessInstance, kind: str, error: BaseException, now: datetime,
                   max_attempts: int, backoff_seconds: float, detail: dict | None = None) -> Incident:
    """Open an incident for this instance and kind, or count one more attempt on the open one."""
    process_id, step, step_name, message = describe(error)
    incident = session.scalar(select(Incident).where(
        Incident.instance_id == instance.id, Incident.kind == kind, Incident.status == "open"))
    if incident is None:
        incident = Incident(instance_id=instance.id, loan_id=instance.loan_id, kind=kind, attempts=0, status="open",
                            process_id=process_id or instance.process_version.process_id,
                            process_version=instance.process_version.version, first_seen=now)
        session.add(incident)
    incident.attempts += 1
    incident.last_seen = now
    incident.error = message
    incident.step = step or incident.step
    incident.step_name = step_name or incident.step_name
    if detail:
        incident.detail = execution.plain_data(detail)
    if kind in AUTOMATIC and incident.attempts < max_attempts:
        incident.next_attempt_at = now + timedelta(seconds=backoff_seconds * 2 ** (incident.attempts - 1))
    else:
        incident.next_attempt_at = None  # waits for a person
    session.flush()
    loan = session.get(Loan, instance.loan_id)
    audit.record("incident_opened" if incident.attempts == 1 else "incident_failed_again", outcome="failed",
                 loan_ref=loan.reference, process_id=instance.process_version.process_id,
                 process_version=instance.process_version.version, instance_id=instance.id, step=incident.step,
                 step_name=incident.step_name,
                 detail={"incident": incident.id, "kind": kind, "error": message, "attempts": incident.attempts,
                         "next_attempt_at": incident.next_attempt_at})
    return incident


_OPEN_OF_KINDS = select(Incident.id).where(Incident.instance_id == bindparam("instance_id"), Incident.status == "open",
                                            Incident.kind.in_(bindparam("kinds", expanding=True)))


def resolve(session: Session, audit, instance: ProcessInstance, kinds, now: datetime, actor: str | None,
            loan_ref: str, task: str | None = None) -> int:
    """Close the instance's open incidents of these kinds (for failed completions: of this task): the step they
    were about has now gone through."""
    closed = 0
    open_ids = session.scalars(_OPEN_OF_KINDS, {"instance_id": instance.id, "kinds": list(kinds)}).all()
    # nearly always none: then no incident is loaded
    if not open_ids:
        return 0
    for incident in session.scalars(select(Incident).where(Incident.id.in_(open_ids)).order_by(Incident.id)):
        if task is not None and (incident.detail or {}).get("task") != task:
            continue
        incident.status, incident.resolved_at, incident.resolved_by = "resolved", now, actor
        incident.next_attempt_at = None
        audit.record("incident_resolved", actor=actor, loan_ref=loan_ref,
                     process_id=instance.process_version.process_id, process_version=instance.process_version.version,
                     instance_id=instance.id, step=incident.step, step_name=incident.step_name,
                     detail={"incident": incident.id, "kind": incident.kind, "attempts": incident.attempts})
        closed += 1
    return closed


def count_failure(kernel: Kernel, instance_id: int, kind: str, error: BaseException,
                  detail: dict | None = None) -> int | None:
    """Record a failed step on an incident in its own transaction (the failed one was rolled back). A failed
    completion whose task someone else completed in the meantime (they took the instance's lock as this one let it
    go) records nothing: that step went through. Returns the incident's id, or None."""
    with kernel.db.transaction() as session:
        audit = kernel.audit_log(session, "timer" if kind != "task" else "web")
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
        instance = session.scalar(query.with_for_update(of=ProcessInstance) if kernel.db.is_postgres else query)
        task = (detail or {}).get("task") if kind == "task" else None
        if task and session.scalar(select(WorkItem.id).where(WorkItem.instance_id == instance_id,
                                                             WorkItem.bpmn_id == task).limit(1)) is None:
            log.info("failed completion of %s on instance %s: the step went through since", task, instance_id)
            return None
        incident = record_failure(session, audit, instance, kind, error, kernel.clock.now(),
                                  kernel.settings.incident_max_attempts, kernel.settings.incident_backoff_seconds,
                                  detail)
        audit.write()
        incident_id, attempts = incident.id, incident.attempts
    log.warning("incident %s: %s", incident_id, error, extra={
        "incident": incident_id, "instance": instance_id, "attempts": attempts, "outcome": "failed",
        "error": type(error).__name__})
    return incident_id
