"""The unit of work of one command: a transaction, its audit log, and the rows every command reads first."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.audit.chain import AuditLog
from engine.commands.policy_versions import refresh as refresh_policy
from engine.errors import ConcurrentChange, EngineError, NotFound, ScriptFailed
from engine.kernel import Kernel
from engine.ops.metrics import observe_command
from engine.store.models import Incident, Loan, ProcessInstance, WorkItem


@dataclass
class Unit:
    """One command's transaction: session, audit log, the kernel, and the workflows it saved."""

    session: Session
    audit: AuditLog
    source: str
    kernel: Kernel
    saved: dict = field(default_factory=dict)  # instance id -> (row, workflow)
    current: int | None = None  # the instance a message was being delivered to (for the incident)

    @property
    def clock(self):
        return self.kernel.clock

    @property
    def policy(self):
        return self.kernel.policy

    @property
    def gate(self):
        return self.kernel.gate

    @property
    def workflows(self):
        return self.kernel.workflows


# The work item, its instance and its loan in one statement; PostgreSQL's lock on the instance goes first.
# and whether an incident is open on the instance (nearly never: a completion then reads no incident)
_LOCKED_ITEM = select(ProcessInstance, WorkItem, Loan, exists().where(
    Incident.instance_id == ProcessInstance.id, Incident.status == "open").label("incident_open")).join(
    WorkItem, WorkItem.instance_id == ProcessInstance.id).join(Loan, Loan.id == WorkItem.loan_id).where(
    WorkItem.id == bindparam("item_id")).execution_options(populate_existing=True)
_LOCK_INSTANCE = select(ProcessInstance.id).join(WorkItem, WorkItem.instance_id == ProcessInstance.id).where(
    WorkItem.id == bindparam("item_id")).with_for_update(of=ProcessInstance)


@contextmanager
def open_unit(kernel: Kernel, source: str, name: str = "command"):
    """One transaction with an audit log. A lost optimistic-lock race becomes ConcurrentChange; a refusal is
    recorded after the rollback. Every command is logged and measured."""
    started, outcome, unit = time.perf_counter(), "done", None
    try:
        with kernel.db.transaction() as session:
            refresh_policy(kernel, session)  # another worker may have deployed a newer policy
            unit = Unit(session, kernel.audit_log(session, source), source, kernel)
            yield unit
            unit.audit.write()
        kernel.workflows.committed(unit.saved)
    except StaleDataError as err:
        outcome = "conflict"
        raise ConcurrentChange("Someone else changed this loan at the same time; reload and try again.") from err
    except EngineError as err:
        outcome = "failed" if isinstance(err, ScriptFailed) else err.code
        if isinstance(err, ScriptFailed) and unit is not None and getattr(err, "instance_id", None) is None:
            err.instance_id = unit.current
        if getattr(err, "audit_fields", None):
            record_refusal(kernel, source, err.audit_fields)
        raise
    except BaseException:
        outcome = "error"
        raise
    finally:
        observe_command(name, source, outcome, time.perf_counter() - started, unit)


def record_refusal(kernel: Kernel, source: str, fields: dict) -> None:
    """A refusal is an event too: written in its own transaction, after the refused one rolled back."""
    with kernel.db.transaction() as session:
        audit = kernel.audit_log(session, source)
        audit.record("refused", outcome="denied", **fields)
        audit.write()


def locked_item(unit: Unit, item_id: int) -> tuple[WorkItem, ProcessInstance]:
    item, instance, _loan, _incident_open = locked_with_loan(unit, item_id)
    return item, instance


def locked_with_loan(unit: Unit, item_id: int) -> tuple[WorkItem, ProcessInstance, Loan, bool]:
    """The work item, its instance and its loan, locked for this transaction and read again after the lock: whoever
    comes second sees the first one's commit (the task gone, the claim taken), never a stale copy. Every command that
    changes an instance locks its row first, so they queue instead of deadlocking."""
    if unit.kernel.db.is_postgres:  # the lock first; the item and the loan read after it, as it left them
        unit.session.execute(_LOCK_INSTANCE, {"item_id": item_id})
    # SQLite holds the write lock from BEGIN: one statement; the loan comes with it, so `session.get(Loan, ...)`
    # needs none
    row = unit.session.execute(_LOCKED_ITEM, {"item_id": item_id}).first()
    instance, item, loan, incident_open = row if row is not None else (None, None, None, True)
    if item is None or instance is None:
        raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
    return item, instance, loan, incident_open
