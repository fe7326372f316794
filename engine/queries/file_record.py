"""The record on a credit file: every decision as its own entry (who, in which role, for whom, when, what, why) and
the comments, read from the audit trail, so nothing a later step writes can overwrite an earlier one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kernel import Kernel
from engine.store.models import AuditEvent, ProcessVersion, User

# The acts a reader of the file needs to see, in the order they happened.
FILE_ACTIONS = ("task_completed", "task_reassigned", "meeting_closed", "warning_raised", "loan_approved",
                "payment_made", "comment_added")


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
    form: dict = field(default_factory=dict)  # the step's form schema: titles and enum titles for the values


def file_record(session: Session, kernel: Kernel, loan_ref: str) -> list[FileEntry]:
    """The loan's decisions and comments, oldest first (the audit trail keeps each; none is overwritten)."""
    rows = session.execute(select(AuditEvent, User.display_name).outerjoin(User, User.username == AuditEvent.actor)
                           .where(AuditEvent.loan_ref == loan_ref, AuditEvent.action.in_(FILE_ACTIONS),
                                  AuditEvent.outcome == "done")
                           .order_by(AuditEvent.id)).all()
    forms: dict[tuple[str, int], dict] = {}
    entries = []
    for event, display_name in rows:
        detail = event.detail or {}
        form = {}
        if event.action == "task_completed":
            values = dict(detail.get("after") or {})
            form = _form(session, kernel, forms, event.process_id, event.process_version, event.step)
        elif event.action == "comment_added":
            values = {}
        else:
            values = {k: v for k, v in detail.items() if k not in ("task_id", "before", "after")}
            if isinstance(detail.get("after"), dict):
                values.update(detail["after"])
        entries.append(FileEntry(event.id, event.occurred_at, event.action, event.actor,
                                 display_name or event.actor or "", event.role, event.on_behalf_of, event.process_id,
                                 event.process_version, event.step, event.step_name, event.reason, values, form))
    return entries


def _form(session: Session, kernel: Kernel, forms: dict, process_id: str | None, version: int | None,
          step: str | None) -> dict:
    """The form a step had in the version it ran on (titles change between versions; the record does not)."""
    if not (process_id and version and step):
        return {}
    if (process_id, version) not in forms:
        row = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                          ProcessVersion.version == version))
        loaded = kernel.workflows.loaded(row) if row is not None else None
        forms[(process_id, version)] = {m.bpmn_id: m.form for m in loaded.user_tasks.values()} if loaded else {}
    return forms[(process_id, version)].get(step, {})
