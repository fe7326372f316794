"""The recorded history a replay reads: loans, the audit events that say what happened on them, in order, the
version each instance ran, and the steps each running instance waits at now."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from engine.store.models import AuditEvent, Loan, ProcessInstance, WorkItem

# What a replay needs from the trail: the application, each instance's start, every person's completion (with the
# payment the engine derived for it), the automatic steps (decisions, timers, messages caught), and the ends.
REPLAYED_ACTIONS = ("loan_created", "instance_started", "task_started", "task_completed", "step_completed",
                    "instance_completed", "payment_made", "message_received", "warning_raised",
                    "extension_requested")
CHUNK = 200
# Columns read from each event (plain rows, not ORM objects: a long replay keeps nothing in the session).
EVENT_COLUMNS = (AuditEvent.id, AuditEvent.action, AuditEvent.occurred_at, AuditEvent.loan_ref,
                 AuditEvent.instance_id, AuditEvent.process_id, AuditEvent.step, AuditEvent.step_name,
                 AuditEvent.actor, AuditEvent.role, AuditEvent.on_behalf_of, AuditEvent.detail)


@dataclass
class LoanHistory:
    """One loan as recorded: the row, its events in the order they happened, its instances and their open steps."""

    loan: Loan
    events: list = field(default_factory=list)  # rows with the EVENT_COLUMNS, in the order they happened
    instances: dict[int, ProcessInstance] = field(default_factory=dict)
    open_steps: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))


def recorded_loans(session: Session, limit: int | None = None) -> list[Loan]:
    """The loans to replay, oldest first; with `limit`, the newest `limit` of them."""
    query = select(Loan).order_by(Loan.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(reversed(session.scalars(query).all()))


def histories(session: Session, loans: list[Loan]):
    """Each loan's history, read in chunks (a handful of queries per chunk, whatever its size)."""
    for start in range(0, len(loans), CHUNK):
        chunk = loans[start:start + CHUNK]
        by_ref = {loan.reference: LoanHistory(loan) for loan in chunk}
        by_id = {loan.id: by_ref[loan.reference] for loan in chunk}
        for event in session.execute(select(*EVENT_COLUMNS).where(
                AuditEvent.loan_ref.in_(list(by_ref)), AuditEvent.action.in_(REPLAYED_ACTIONS))
                .order_by(AuditEvent.id)):
            by_ref[event.loan_ref].events.append(event)
        for instance in session.scalars(select(ProcessInstance).options(defer(ProcessInstance.state))
                                        .where(ProcessInstance.loan_id.in_(list(by_id)))):
            by_id[instance.loan_id].instances[instance.id] = instance
        for instance_id, loan_id, bpmn_id in session.execute(select(
                WorkItem.instance_id, WorkItem.loan_id, WorkItem.bpmn_id).where(WorkItem.loan_id.in_(list(by_id)))):
            by_id[loan_id].open_steps[instance_id].add(bpmn_id)
        yield from by_ref.values()
