"""The unit of work of one command: a transaction, its audit log, and the rows every command reads first."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.audit.chain import AUDIT_HEAD, AuditLog
from engine.commands.policy_versions import refresh as refresh_policy
from engine.errors import ConcurrentChange, EngineError, NotFound, ScriptFailed
from engine.kernel import Kernel
from engine.ops.metrics import observe_command
from engine.store.models import Incident, Loan, ProcessInstance, TaskDraft, User, WorkItem
from engine.store.people import away

WorkItemOther = aliased(WorkItem)


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
_LOCKED_ITEM = select(ProcessInstance, WorkItem, Loan).join(WorkItem, WorkItem.instance_id == ProcessInstance.id).join(
    Loan, Loan.id == WorkItem.loan_id).where(WorkItem.id == bindparam("item_id")).execution_options(
    populate_existing=True)
# A completion's row also brings the person and their grants, and answers what would otherwise be five more
# statements, each nearly always "no": is an incident open on the instance, has the task drafts to drop, is the
# person on leave today, do they hold another task on this loan (the look-ahead then has nothing to look at), and has
# the instance another task open (else the work items are refreshed without reading them).
_COMPLETION = _LOCKED_ITEM.outerjoin(User, User.username == bindparam("actor")).add_columns(
    User,
    exists().where(Incident.instance_id == ProcessInstance.id, Incident.status == "open").label("incident_open"),
    exists().where(TaskDraft.work_item_id == WorkItem.id).label("has_drafts"),
    away(User.id).label("actor_away"),
    exists().where(WorkItemOther.loan_id == WorkItem.loan_id, WorkItemOther.id != WorkItem.id, or_(
        WorkItemOther.claimed_by == bindparam("actor"), WorkItemOther.candidate_user == bindparam("actor"))
    ).label("actor_has_others"),
    exists().where(WorkItemOther.instance_id == WorkItem.instance_id, WorkItemOther.id != WorkItem.id
                   ).label("instance_has_others")).options(joinedload(User.grants))
# SQLite holds the write lock from BEGIN to COMMIT, so the chain's head read now is still the head when the command's
# events are appended: the same row brings it (PostgreSQL reads it under the chain's lock, just before the commit).
_COMPLETION_WITH_HEAD = _COMPLETION.add_columns(AUDIT_HEAD.scalar_subquery().label("audit_head"))
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


@dataclass(frozen=True)
class Completion:
    """A task about to be completed, locked, with the facts its command reads."""

    item: WorkItem
    instance: ProcessInstance
    loan: Loan
    user: User  # who completes it, with their grants
    incident_open: bool
    has_drafts: bool
    actor_away: bool
    actor_has_others: bool
    instance_has_others: bool

    @property
    def instance_items(self) -> dict | None:
        """The instance's open work items by task id, when this one is all of them (None: read them)."""
        return None if self.instance_has_others else {self.item.task_id: self.item}


def locked_for_completion(unit: Unit, item_id: int, actor: str) -> Completion:
    """`locked_item` for a completion by `actor`, with the person and their grants, in one statement on SQLite (two
    on PostgreSQL)."""
    postgres = unit.kernel.db.is_postgres
    if postgres:
        unit.session.execute(_LOCK_INSTANCE, {"item_id": item_id})
    day = unit.policy.local_date(unit.clock.now())
    rows = unit.session.execute(_COMPLETION if postgres else _COMPLETION_WITH_HEAD,
                                {"item_id": item_id, "actor": actor, "day": day}).unique().all()
    if not rows:  # (all of them: one per grant, which fill the user's collection)
        raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
    row = rows[0]
    if row[3] is None:
        raise NotFound("No user named '%(username)s'.", username=actor)
    if not postgres:
        unit.audit.head_read(row.audit_head)
    return Completion(row[1], row[0], row[2], row[3], *(bool(v) for v in row[4:9]))


def locked_item(unit: Unit, item_id: int) -> tuple[WorkItem, ProcessInstance]:
    """The work item and its instance (its loan with them), locked for this transaction and read again after the
    lock: whoever comes second sees the first one's commit (the task gone, the claim taken), never a stale copy.
    Every command that changes an instance locks its row first, so they queue instead of deadlocking."""
    if unit.kernel.db.is_postgres:  # the lock first; the item and the loan read after it, as it left them
        unit.session.execute(_LOCK_INSTANCE, {"item_id": item_id})
    # SQLite holds the write lock from BEGIN: one statement; the loan comes with it, so `session.get(Loan, ...)`
    # needs none
    row = unit.session.execute(_LOCKED_ITEM, {"item_id": item_id}).first()
    instance, item = row[0:2] if row is not None else (None, None)
    if item is None or instance is None:
        raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
    return item, instance
