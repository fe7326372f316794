"""Exports of the audit trail (CSV, JSON) and checkpoints of the chain head kept outside the database."""
from __future__ import annotations


import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.chain import _plain
from engine.audit.search import EXPORT_FIELDS, EventView, event_view
from engine.audit.signing import sign
from engine.store.models import AuditCheckpoint, AuditEvent


# -- exports --------------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, datetime):
        return _plain(value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_START) else text


def export_chunks(events: Iterable[EventView], fmt: str) -> Iterator[str]:
    """The events as CSV or JSON text, a piece at a time (for streaming responses and files)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_FIELDS)
        for event in events:
            writer.writerow([_cell(getattr(event, name)) for name in EXPORT_FIELDS])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    elif fmt == "json":
        yield "["
        for n, event in enumerate(events):
            yield ("," if n else "") + "\n" + json.dumps(_plain(asdict(event)), ensure_ascii=False, sort_keys=True)
        yield "\n]\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}; use csv or json")


def iter_trail(session: Session, batch: int = 5000) -> Iterator[EventView]:
    """The whole trail in chain (id) order, a batch at a time: the export `audit verify-offline` reads."""
    last = 0
    while True:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)).all()
        if not rows:
            return
        yield from (event_view(row) for row in rows)
        last = rows[-1].id
        session.expunge_all()


def export_rows(events: Iterable[EventView], fmt: str) -> str:
    return "".join(export_chunks(events, fmt))


# -- checkpoints ---------------------------------------------------------------------------------------
def write_checkpoint(session: Session, clock, at: tuple[int, str] | None = None, signing_key=None) -> dict:
    """Record the chain head now (or the event `at`, (id, hash), e.g. the newest one just verified), signed with
    `signing_key` (Ed25519) when given; the returned dict is what to keep outside the database."""
    if at is not None:
        event_id, head_hash = at
    else:
        head = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
        event_id, head_hash = (head.id, head.hash) if head else (0, "0" * 64)
    count = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= event_id))
    now = clock.now()
    point = {"event_id": event_id, "head_hash": head_hash, "events": count, "created_at": _plain(now)}
    if signing_key is not None:
        point = sign(point, signing_key)
    row = AuditCheckpoint(event_id=event_id, head_hash=head_hash, created_at=now, events=count,
                          signature=point.get("signature"), key_fingerprint=point.get("key_fingerprint"))
    session.add(row)
    session.flush()
    return {"checkpoint": row.id, **point}


def checkpoint_dict(row: AuditCheckpoint) -> dict:
    """A checkpoint row in the form `write_checkpoint` returns (unsigned ones without signature fields)."""
    point = {"checkpoint": row.id, "event_id": row.event_id, "head_hash": row.head_hash, "events": row.events,
             "created_at": _plain(row.created_at)}
    if row.signature:
        point.update(signature=row.signature, key_fingerprint=row.key_fingerprint)
    return point


def latest_checkpoint(session: Session) -> dict | None:
    """The newest checkpoint recorded in the database, in the form `write_checkpoint` returns."""
    row = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    return checkpoint_dict(row) if row is not None else None


# Why a checkpoint does not match (English templates; the CLI translates them).
MESSAGES = {
    "missing": "it is missing (events were deleted after the checkpoint was taken)",
    "rewritten": "its hash differs from the checkpoint (the chain was rewritten up to this event)",
}


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    event_id: int
    reason: str | None = None


def verify_against_checkpoint(session: Session, checkpoint: dict) -> CheckpointCheck:
    """The event a checkpoint names must still exist with the same hash, or the chain was rebuilt."""
    event_id, expected = int(checkpoint["event_id"]), str(checkpoint["head_hash"])
    if event_id == 0:
        return CheckpointCheck(True, 0)
    actual = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == event_id))
    if actual is None:
        return CheckpointCheck(False, event_id, MESSAGES["missing"])
    if actual != expected:
        return CheckpointCheck(False, event_id, MESSAGES["rewritten"])
    return CheckpointCheck(True, event_id)
