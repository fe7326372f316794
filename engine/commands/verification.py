"""Recording a verification of the trail (its result, the checkpoint it leaves, its own audit event) and the
worker's signed checkpoints exported on a schedule."""
from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select, text

from engine.audit.exports import write_checkpoint
from engine.audit.integrity import TrailCheck, VerificationView, verification_view
from engine.commands.unit import Unit
from engine.store.models import AuditCheckpoint, AuditEvent, AuditVerification

CHECKPOINT_FILE = "checkpoints.jsonl"
# Workers due at the same moment queue here, so the second sees the first's checkpoint and signs none (SQLite's
# writers are queued by BEGIN IMMEDIATE already). Not the chain's own lock: writers go on while a checkpoint is signed.
_PG_CHECKPOINT_LOCK = text("SELECT pg_advisory_xact_lock(727003)")  # 727001: the chain; 727002: sign-ins


def record_verification(unit: Unit, actor: str | None, check: TrailCheck, signing_key=None) -> VerificationView:
    """Keep the result; an intact trail gets a checkpoint at the newest event verified (signed when the key is
    there), where the next incremental verification starts. The verification is itself an audit event."""
    finding, checkpoint_id = check.finding, None
    if finding is None and check.last[0]:
        checkpoint_id = write_checkpoint(unit.session, unit.clock, at=check.last, signing_key=signing_key)["checkpoint"]
    bad = unit.session.get(AuditEvent, finding.event_id) if finding else None
    row = AuditVerification(
        verified_at=unit.clock.now(), actor=actor, source=unit.source, mode=check.mode, intact=finding is None,
        checked=check.checked, start_event_id=check.start_event_id, checkpoint_id=checkpoint_id,
        broken_event_id=finding.event_id if finding else None, broken_reason=finding.reason if finding else None,
        broken_params=dict(finding.params) if finding else {}, broken_at=bad.occurred_at if bad else None,
        broken_action=bad.action if bad else None)
    unit.session.add(row)
    unit.session.flush()
    detail = {"verification": row.id, "mode": check.mode, "checked": check.checked, "from_event": check.start_event_id}
    if finding:
        detail.update(broken_event=finding.event_id, reason=finding.reason)
    else:
        detail.update(checkpoint=checkpoint_id, to_event=check.last[0])
    unit.audit.record("chain_verified", outcome="done" if finding is None else "failed", actor=actor, detail=detail)
    return verification_view(row)


def checkpoint_due(unit: Unit, interval) -> bool:
    """The newest signed checkpoint is older than `interval` (or there is none); on PostgreSQL, asked under the
    checkpoint lock, held to the commit."""
    if unit.kernel.db.is_postgres:
        unit.session.connection().execute(_PG_CHECKPOINT_LOCK)
    newest = unit.session.scalar(select(AuditCheckpoint.created_at).where(AuditCheckpoint.signature.is_not(None))
                                 .order_by(AuditCheckpoint.id.desc()).limit(1))
    return newest is None or unit.clock.now() - newest >= interval


def export_signed_checkpoint(unit: Unit, signing_key, directory: str | Path) -> dict:
    """Sign the chain head and append it to `directory`/checkpoints.jsonl, flushed to disk before the database
    commits: a checkpoint the file lacks is never recorded."""
    point = write_checkpoint(unit.session, unit.clock, signing_key=signing_key)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / CHECKPOINT_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(point, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return point
