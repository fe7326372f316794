"""The append-only, hash-chained audit trail, written in the same transaction as the change it records."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "occurred_at", "action", "outcome", "loan_ref", "process_id", "process_version", "instance_id",
    "step", "step_name", "actor", "role", "on_behalf_of", "source", "policy_version", "rule", "reason", "detail",
)
_PG_CHAIN_LOCK = 727_001


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
                self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
            last = self.session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
            self._head = last or GENESIS
        return self._head

    def record(self, action: str, *, outcome: str = "done", detail: dict | None = None, **fields) -> dict:
        """Append one event; returns its column values (hash included)."""
        unknown = set(fields) - set(CHAINED_FIELDS)
        if unknown:
            raise TypeError(f"unknown audit fields: {', '.join(sorted(unknown))}")
        row = {name: None for name in CHAINED_FIELDS}
        row.update(fields)
        row.update(action=action, outcome=outcome, detail=_plain(detail or {}),
                   occurred_at=fields.get("occurred_at") or self.clock.now(),
                   source=fields.get("source") or self.source,
                   policy_version=fields.get("policy_version") or self.policy_version)
        self.loan_ref = self.loan_ref or fields.get("loan_ref")
        row["prev_hash"] = self._chain_head()
        row["hash"] = event_hash(row["prev_hash"], row)
        self._head = row["hash"]
        self._rows.append(row)
        return row

    def write(self) -> None:
        """Insert what was recorded, in order, in one statement."""
        if self._rows:
            self.session.execute(insert(AuditEvent), self._rows)
            self._rows = []


@dataclass(frozen=True)
class ChainBreak:
    """Where verification failed and why."""

    event_id: int
    reason: str


def verify_chain(session: Session, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order; return (events checked, first break or None)."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return checked, None
        for event in rows:
            if event.prev_hash != prev:
                return checked, ChainBreak(event.id, "its previous-hash does not match the event before it "
                                                      "(an event was deleted, inserted or reordered)")
            if event_hash(prev, event) != event.hash:
                return checked, ChainBreak(event.id, "its content does not match its hash (the event was edited)")
            prev = event.hash
            checked += 1
            last_id = event.id
        session.expunge_all()
