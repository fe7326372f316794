"""The record on a credit file: every decision as its own entry (who, in which role, for whom, when, what, why) and
the comments, read from the audit trail, so nothing a later step writes can overwrite an earlier one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent, User

# The acts a reader of the file needs to see, in the order they happened.
FILE_ACTIONS = ("task_completed", "task_reassigned", "meeting_closed", "warning_raised", "loan_approved",
                "payment_made", "comment_added", "loan_closed", "collateral_release_proposed", "collateral_released",
                "recovery_recorded")


@dataclass(frozen=True)
class FileEntry:
    id: int
    occurred_at: datetime
    action: str
    actor: str | None
    actor_name: str
    role: str | None
    on_behalf_of: str | None
    process_id: str | None
    process_version: int | None
    step: str | None
    step_name: str | None
    reason: str | None
    values: dict = field(default_factory=dict)  # the decision as recorded, field by field


def file_record(session: Session, loan_ref: str) -> list[FileEntry]:
    """The loan's decisions and comments, oldest first (the audit trail keeps each; none is overwritten)."""
    rows = session.execute(select(AuditEvent, User.display_name).outerjoin(User, User.username == AuditEvent.actor)
                           .where(AuditEvent.loan_ref == loan_ref, AuditEvent.action.in_(FILE_ACTIONS),
                                  AuditEvent.outcome == "done")
                           .order_by(AuditEvent.id)).all()
    entries = []
    for event, display_name in rows:
        detail = event.detail or {}
        if event.action == "task_completed":
            values = dict(detail.get("after") or {})
        elif event.action == "comment_added":
            values = {}
        else:
            values = {k: v for k, v in detail.items() if k not in ("task_id", "before", "after")}
            if isinstance(detail.get("after"), dict):
                values.update(detail["after"])
        entries.append(FileEntry(event.id, event.occurred_at, event.action, event.actor,
                                 display_name or event.actor or "", event.role, event.on_behalf_of, event.process_id,
                                 event.process_version, event.step, event.step_name, event.reason, values))
    return entries

