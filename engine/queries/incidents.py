"""Incidents as the administrator sees them: the list, and one incident."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.models import Incident, Loan
from engine.views import IncidentView


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


def incident(session: Session, incident_id: int) -> IncidentView:
    row = session.get(Incident, incident_id)
    if row is None:
        raise NotFound("No incident %(id)s.", id=incident_id)
    return view(row, session.get(Loan, row.loan_id).reference)
