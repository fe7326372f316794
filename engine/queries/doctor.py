"""Stuck work made visible: running instances that wait for nothing, and tasks that nobody may perform."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.store.models import Incident, Loan, ProcessInstance, ProcessVersion, RoleGrant, User, WorkItem


@dataclass(frozen=True)
class StuckInstance:
    loan_ref: str
    instance_id: int
    process_id: str
    process_version: int
    since: datetime
    incident_id: int | None  # an open incident already explains it


@dataclass(frozen=True)
class UnservedTask:
    item_id: int
    loan_ref: str
    name: str
    role: str
    branch: str


@dataclass(frozen=True)
class DoctorReport:
    stuck: list[StuckInstance]
    unserved: list[UnservedTask]

    @property
    def healthy(self) -> bool:
        return not self.stuck and not self.unserved


def stuck_instances(session: Session) -> list[StuckInstance]:
    """Running, with no open task, no timer and no awaited message: nothing will ever move it."""
    open_incident = (select(Incident.id).where(Incident.instance_id == ProcessInstance.id, Incident.status == "open")
                     .limit(1).scalar_subquery())
    rows = session.execute(
        select(Loan.reference, ProcessInstance.id, ProcessVersion.process_id, ProcessVersion.version,
               ProcessInstance.updated_at, open_incident)
        .join(Loan, Loan.id == ProcessInstance.loan_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(ProcessInstance.status == "running", ProcessInstance.next_timer_due.is_(None),
               ProcessInstance.waiting_messages.is_(None),
               ~exists().where(WorkItem.instance_id == ProcessInstance.id))
        .order_by(ProcessInstance.updated_at)).all()
    return [StuckInstance(*row) for row in rows]


def unserved_tasks(session: Session, gate) -> list[UnservedTask]:
    """Open tasks that no active user may perform under the policy (no grant, every holder excluded)."""
    found = []
    holders: dict[str, list[User]] = {}
    for item in session.scalars(select(WorkItem).order_by(WorkItem.id)):
        if item.role not in holders:
            holders[item.role] = session.scalars(select(User).join(RoleGrant).where(
                RoleGrant.role == item.role, User.active.is_(True)).distinct()).all()
        loan = session.get(Loan, item.loan_id)
        if not any(gate.decide(session, user, item, loan).allowed for user in holders[item.role]):
            found.append(UnservedTask(item.id, loan.reference, item.name, item.role, item.branch))
    return found
