"""Incidents: a step that failed outside a person's request is recorded, retried with backoff, then waits for a person.

Plain functions over a session; CreditEngine calls them in their own transactions so that a failure on one
instance rolls back only that instance and never stops the worker.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from . import runtime
from .models import Incident, Loan, ProcessInstance
from .roles import INCIDENT_ROLES  # noqa: F401 (re-exported for the engine's checks)
from .views import IncidentView

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
        incident.detail = runtime.plain_data(detail)
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


def resolve(session: Session, audit, instance: ProcessInstance, kinds, now: datetime, actor: str | None,
            loan_ref: str, task: str | None = None) -> int:
    """Close the instance's open incidents of these kinds (for failed completions: of this task): the step they
    were about has now gone through."""
    closed = 0
    for incident in session.scalars(select(Incident).where(
            Incident.instance_id == instance.id, Incident.status == "open", Incident.kind.in_(kinds))):
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


def view(incident: Incident, loan_ref: str) -> IncidentView:
    return IncidentView(
        id=incident.id, loan_ref=loan_ref, instance_id=incident.instance_id, kind=incident.kind,
        process_id=incident.process_id, process_version=incident.process_version, step=incident.step,
        step_name=incident.step_name, error=incident.error, status=incident.status, attempts=incident.attempts,
        first_seen=incident.first_seen, last_seen=incident.last_seen, next_attempt_at=incident.next_attempt_at,
        resolved_at=incident.resolved_at, resolved_by=incident.resolved_by)


def listing(session: Session, status: str | None = "open", loan_ref: str | None = None,
            limit: int = 200) -> list[IncidentView]:
    query = select(Incident, Loan.reference).join(Loan, Loan.id == Incident.loan_id)
    if loan_ref:
        query = query.where(Loan.reference == loan_ref)
    if status:
        query = query.where(Incident.status == status)
    rows = session.execute(query.order_by(Incident.last_seen.desc(), Incident.id.desc()).limit(limit)).all()
    return [view(incident, ref) for incident, ref in rows]
