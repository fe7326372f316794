"""Is the trail intact? A verification walks the chain (all of it, or from the checkpoint the last passing
verification recorded) and holds it to every checkpoint in the database, signatures included; its result is kept,
and the newest result decides whether the audit pages raise the alarm."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.chain import resume_point, walk_chain
from engine.audit.exports import checkpoint_dict
from engine.audit.signing import refusal
from engine.store.models import AuditCheckpoint, AuditEvent, AuditVerification

MODES = ("incremental", "full")
# Every reason a verification gives, by code (English templates with %(name)s parameters, translated on show).
MESSAGES = {
    "edited": "its content does not match its hash (the event was edited)",
    "unlinked": "its previous-hash does not match the event before it (an event was deleted, inserted or reordered)",
    "missing": "it is missing (events were deleted after the checkpoint was taken)",
    "rewritten": "its hash differs from the checkpoint (the chain was rewritten up to this event)",
    "count": "the trail holds %(found)s event(s) up to it; the checkpoint counted %(counted)s",
    "unsigned": "checkpoint %(checkpoint)s carries no signature",
    "other_key": "checkpoint %(checkpoint)s was signed by another key (fingerprint %(fingerprint)s)",
    "altered": "checkpoint %(checkpoint)s: its signature does not match its content (altered after signing, or forged)",
}
_CHAIN_CODES = {MESSAGES["edited"]: "edited", MESSAGES["unlinked"]: "unlinked"}


@dataclass(frozen=True)
class Finding:
    """The first thing wrong: the event it is about, a reason code from MESSAGES and its parameters."""

    event_id: int
    reason: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrailCheck:
    mode: str
    start_event_id: int       # 0: walked from the first event
    checked: int
    last: tuple[int, str]     # the newest event verified: where the next checkpoint goes
    finding: Finding | None


@dataclass(frozen=True)
class VerificationView:
    id: int
    verified_at: datetime
    actor: str | None
    source: str
    mode: str
    intact: bool
    checked: int
    start_event_id: int
    checkpoint_id: int | None
    broken_event_id: int | None
    broken_reason: str | None
    broken_params: dict
    broken_at: datetime | None
    broken_action: str | None

    @property
    def reason_template(self) -> str | None:
        return MESSAGES.get(self.broken_reason or "", self.broken_reason)


@dataclass(frozen=True)
class CheckpointView:
    id: int
    event_id: int
    head_hash: str
    events: int | None
    created_at: datetime
    signed: bool
    key_fingerprint: str | None


def _last_verified_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The checkpoint the newest passing verification recorded: an incremental verification starts there. While
    the newest verification reports a broken event, the newest such checkpoint before that event, so that the
    event is walked again and only a trail really repaired clears the alarm."""
    latest = latest_verification(session)
    query = (select(AuditCheckpoint).join(AuditVerification, AuditVerification.checkpoint_id == AuditCheckpoint.id)
             .where(AuditVerification.intact.is_(True)).order_by(AuditVerification.id.desc()).limit(1))
    if latest is not None and not latest.intact and latest.broken_event_id:
        query = query.where(AuditCheckpoint.event_id < latest.broken_event_id)
    return session.scalar(query)


def checkpoint_findings(session: Session, public_key=None) -> list[Finding]:
    """Every checkpoint in the database against the chain: its event still there with the same hash and, when the
    bank's public key is known, a signed checkpoint's signature valid under it."""
    rows = session.execute(select(AuditCheckpoint, AuditEvent.hash)
                           .outerjoin(AuditEvent, AuditEvent.id == AuditCheckpoint.event_id)
                           .where(AuditCheckpoint.event_id > 0).order_by(AuditCheckpoint.id)).all()
    found = []
    for point, actual in rows:
        if public_key is not None and point.signature:
            refused = refusal(checkpoint_dict(point), public_key)
            if refused:
                found.append(Finding(point.event_id, refused[0], {"checkpoint": point.id, **refused[1]}))
                continue
        if actual is None:
            found.append(Finding(point.event_id, "missing", {"checkpoint": point.id}))
        elif actual != point.head_hash:
            found.append(Finding(point.event_id, "rewritten", {"checkpoint": point.id}))
    return found


def check_trail(session: Session, mode: str = "incremental", public_key=None) -> TrailCheck:
    """Walk the chain (incremental: from the last verified checkpoint, whose own event is walked again) and hold
    it to the checkpoints; the finding is the problem at the lowest event."""
    if mode not in MODES:
        raise ValueError(f"unknown verification mode {mode!r}")
    start = None
    if mode == "incremental":
        base = _last_verified_checkpoint(session)
        start = resume_point(session, base.event_id) if base is not None else None
    walk = walk_chain(session, start=start)
    findings = checkpoint_findings(session, public_key)
    if walk.broken is not None:
        findings.append(Finding(walk.broken.event_id, _CHAIN_CODES.get(walk.broken.reason, walk.broken.reason)))
    first = min(findings, key=lambda f: f.event_id) if findings else None
    return TrailCheck(mode, start[0] if start else 0, walk.checked, walk.last, first)


def verification_view(row: AuditVerification) -> VerificationView:
    return VerificationView(**{name: getattr(row, name) for name in VerificationView.__dataclass_fields__})


def latest_verification(session: Session) -> VerificationView | None:
    row = session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))
    return verification_view(row) if row is not None else None


def verifications(session: Session, limit: int = 50) -> list[VerificationView]:
    rows = session.scalars(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(limit))
    return [verification_view(row) for row in rows]


def newest_checkpoint(session: Session, signed_only: bool = False) -> CheckpointView | None:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    if signed_only:
        query = query.where(AuditCheckpoint.signature.is_not(None))
    row = session.scalar(query)
    if row is None:
        return None
    return CheckpointView(row.id, row.event_id, row.head_hash, row.events, row.created_at, bool(row.signature),
                          row.key_fingerprint)
