"""Timers: what is due fires per instance in its own transaction; one instance failing never stops the others."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.clock import utc
from engine.commands import collateral, failures
from engine.commands.escalations import escalate_overdue
from engine.commands.flow import advance
from engine.commands.messages import retry_due_messages
from engine.commands.reviews import periodic_reviews
from engine.commands.unit import open_unit
from engine.errors import ConcurrentChange, DatabaseUnavailable
from engine.kernel import Kernel
from engine.runtime import execution
from engine.store.models import Loan, ProcessInstance


def due_instances(kernel: Kernel, now: datetime, limit: int = 500) -> list[int]:
    """Running instances with a due timer, except those whose incident is waiting (backoff or a person)."""
    with kernel.db.reading() as session:
        return list(session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.status == "running", ProcessInstance.next_timer_due <= now,
            ~failures.blocked(now)).order_by(ProcessInstance.next_timer_due).limit(limit)))


def fire_timers(kernel: Kernel, instance_id: int) -> bool:
    """Fire what is due on one instance in its own transaction; False if another worker took it or it failed.
    A failure rolls back only this instance and becomes (or counts on) an incident."""
    try:
        with open_unit(kernel, "timer", "fire_timers") as unit:
            now = kernel.clock.now()
            query = select(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                  ProcessInstance.next_timer_due <= now, ~failures.blocked(now))
            if kernel.db.is_postgres:
                query = query.with_for_update(skip_locked=True, of=ProcessInstance)
            instance = unit.session.scalar(query)
            if instance is None:
                return False
            unit.current = instance.id
            loan = unit.session.get(Loan, instance.loan_id)
            workflow, loaded = unit.workflows.checkout(unit, instance)
            log = execution.StepLog()
            execution.run_engine(workflow, log)
            advance(unit, instance, workflow, loaded, loan, log)
            failures.resolve(unit.session, unit.audit, instance, ("timer",), now, None, loan.reference)
            return True
    except ConcurrentChange:
        return False  # someone else moved it; the next tick looks again
    except (DatabaseUnavailable, OperationalError, InterfaceError):
        raise  # the database is away: the worker waits and reconnects
    except Exception as err:  # noqa: BLE001 - any failure of one instance must not stop the others
        failures.count_failure(kernel, instance_id, "timer", err)
        return False


def tick(kernel: Kernel, now: datetime | None = None) -> int:
    """Fire every due timer, retry due message incidents and open the collateral revaluations that fell due, as of
    the engine clock; returns how many instances moved by a timer or message. One instance failing never stops the
    others."""
    if now is not None and hasattr(kernel.clock, "set"):
        kernel.clock.set(utc(now))
    fired = retry_due_messages(kernel)
    while True:
        due = due_instances(kernel, kernel.clock.now())
        moved = sum(1 for instance_id in due if fire_timers(kernel, instance_id))
        fired += moved
        if not moved:
            collateral.open_due_revaluations(kernel)  # a task opened is no timer fired: not counted
            escalate_overdue(kernel)
            periodic_reviews(kernel)  # the classification reviews whose scheduled day has come
            return fired
