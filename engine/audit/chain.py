"""The append-only, hash-chained audit trail, written in the same transaction as the change it records."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "occurred_at", "action", "outcome", "loan_ref", "process_id", "process_version", "instance_id",
    "step", "step_name", "actor", "role", "on_behalf_of", "source", "policy_version", "rule", "reason", "detail",
)
_CHAINED = frozenset(CHAINED_FIELDS)
_PG_CHAIN_LOCK = 727_001
AUDIT_HEAD = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_APPEND = insert(AuditEvent.__table__)
_PG_LOCK = text(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")


def _plain(value):
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, (date, Decimal)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def canonical(event) -> str:
    """The exact text that is hashed: sorted keys, UTC times, no whitespace (event: a row or a dict)."""
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    content = {name: _plain(get(name)) for name in CHAINED_FIELDS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(prev_hash: str, event) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode("utf-8")).hexdigest()


_AS_IS = (str, int, float, bool, type(None))


def _recorded_hash(prev_hash: str, row: dict) -> str:
    """`event_hash` of a row built by `AuditLog.record`, whose detail is plain already: the same text, without
    walking the detail again."""
    content = {name: (value if isinstance(value, _AS_IS) or name == "detail" else _plain(value))
               for name, value in ((name, row[name]) for name in CHAINED_FIELDS)}
    text_ = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + text_).encode("utf-8")).hexdigest()


class AuditLog:
    """Appends events to the chain inside the caller's transaction (written in one batch before commit)."""

    def __init__(self, session: Session, source: str, policy_version: str | None, clock):
        self.session = session
        self.source = source
        self.policy_version = policy_version
        self.clock = clock
        self._head: str | None = None
        self._rows: list[dict] = []
        self.loan_ref: str | None = None  # the first loan this command touched (for its log line)

    def _chain_head(self) -> str:
        if self._head is None:
            if self.session.get_bind().dialect.name == "postgresql":
                self.session.connection().execute(_PG_LOCK)
            last = self.session.connection().scalar(AUDIT_HEAD)
            self._head = last or GENESIS
        return self._head

    def head_read(self, head: str | None) -> None:
        """The chain's head, read by the caller in a statement of its own, where no other writer can append before
        this transaction commits (SQLite, whose write lock is held from BEGIN): `write` need not read it again."""
        self._head = head or GENESIS

    def record(self, action: str, *, outcome: str = "done", detail: dict | None = None, **fields) -> dict:
        """Append one event (chained and written by `write`); returns its column values."""
        if not _CHAINED.issuperset(fields):
            raise TypeError(f"unknown audit fields: {', '.join(sorted(set(fields) - _CHAINED))}")
        row = dict.fromkeys(CHAINED_FIELDS)
        row.update(fields)
        row.update(action=action, outcome=outcome, detail=_plain(detail or {}),
                   occurred_at=fields.get("occurred_at") or self.clock.now(),
                   source=fields.get("source") or self.source,
                   policy_version=fields.get("policy_version") or self.policy_version)
        self.loan_ref = self.loan_ref or fields.get("loan_ref")
        self._rows.append(row)
        return row

    def write(self) -> None:
        """Chain what was recorded and insert it, in order, in one statement. Called just before the commit: the
        chain's head is read (on PostgreSQL under the chain's lock, held to the commit) only now, so writers queue
        for the length of an insert, not for the whole command."""
        if not self._rows:
            return
        prev = self._chain_head()
        for row in self._rows:
            row["prev_hash"] = prev
            row["hash"] = prev = _recorded_hash(prev, row)
        self._head = prev
        self.session.connection().execute(_APPEND, self._rows)  # Core: one executemany, every column
        self._rows = []


@dataclass(frozen=True)
class ChainBreak:
    """Where verification failed and why."""

    event_id: int
    reason: str


def verify_chain(session: Session, batch: int = 5000,
                 start: tuple[int, str] | None = None) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order; return (events checked, first break or None). `start`: (event id, its hash) of
    an event already verified (a checkpoint): only the events after it are walked."""
    walk = walk_chain(session, batch, start)
    return walk.checked, walk.broken


@dataclass
class ChainWalk:
    checked: int = 0
    broken: ChainBreak | None = None
    last: tuple[int, str] = (0, GENESIS)  # the newest event verified: (id, hash)


def resume_point(session: Session, event_id: int) -> tuple[int, str] | None:
    """Where a walk resumes so that it re-checks the event `event_id` itself (its content against its hash) and
    everything after it: (the id before it, its recorded previous hash)."""
    if not event_id:
        return None
    prev_hash = session.scalar(select(AuditEvent.prev_hash).where(AuditEvent.id == event_id))
    before = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.id < event_id)) or 0
    return (before, prev_hash) if prev_hash is not None else None


def walk_chain(session: Session, batch: int = 5000, start: tuple[int, str] | None = None) -> ChainWalk:
    """`verify_chain`, also telling the newest event it verified (where a new checkpoint may be taken)."""
    walk = ChainWalk(last=start or (0, GENESIS))
    last_id, prev = walk.last
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            walk.last = (last_id, prev)
            return walk
        for event in rows:
            if event.prev_hash != prev:
                walk.broken = ChainBreak(event.id, "its previous-hash does not match the event before it "
                                                   "(an event was deleted, inserted or reordered)")
            elif event_hash(prev, event) != event.hash:
                walk.broken = ChainBreak(event.id, "its content does not match its hash (the event was edited)")
            if walk.broken is not None:
                walk.last = (last_id, prev)
                return walk
            prev = event.hash
            walk.checked += 1
            last_id = event.id
        session.expunge_all()
