"""The running instances of one process, by version, with the steps they are at: what a designer picks from to
move loans to another version."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import Loan, ProcessInstance, ProcessVersion, WorkItem
from engine.views import RunningInstanceView

LIMIT = 500


def running_instances(session: Session, process_id: str) -> tuple[list[int], list[RunningInstanceView]]:
    """(every deployed version number of the process, its running instances oldest version first)."""
    versions = list(session.scalars(select(ProcessVersion.version).where(ProcessVersion.process_id == process_id)
                                    .order_by(ProcessVersion.version)))
    rows = session.execute(
        select(ProcessInstance.id, Loan.reference, Loan.borrower, ProcessVersion.version, ProcessInstance.updated_at)
        .join(Loan, ProcessInstance.loan_id == Loan.id)
        .join(ProcessVersion, ProcessInstance.process_version_id == ProcessVersion.id)
        .where(ProcessVersion.process_id == process_id, ProcessInstance.status == "running")
        .order_by(ProcessVersion.version, Loan.reference).limit(LIMIT)).all()
    steps: dict[int, list[tuple[str, str]]] = {}
    if rows:
        for instance_id, bpmn_id, name in session.execute(
                select(WorkItem.instance_id, WorkItem.bpmn_id, WorkItem.name)
                .where(WorkItem.instance_id.in_([r.id for r in rows])).order_by(WorkItem.id)):
            steps.setdefault(instance_id, []).append((bpmn_id, name))
    return versions, [RunningInstanceView(r.id, r.reference, r.borrower, process_id, r.version,
                                          tuple(steps.get(r.id, ())), r.updated_at) for r in rows]
