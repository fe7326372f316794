"""Process changes as the studio and the API read them: one with its problems against what is deployed now, or a list."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from engine.commands.changes import MAX_ID
from engine.store.lookups import newest_files
from engine.errors import NotFound
from engine.store.models import ProcessChange
from engine.views import ChangeView, DeployResult, ProblemView

STATUSES = ("draft", "submitted", "approved", "rejected", "withdrawn")


def change_view(change: ProcessChange, problems=(), base_files=None, with_files: bool = True) -> ChangeView:
    return ChangeView(
        id=change.id, author=change.author, status=change.status, note=change.note or "",
        files=dict(change.files or {}) if with_files else {}, created_at=change.created_at,
        updated_at=change.updated_at, submitted_at=change.submitted_at, reviewer=change.reviewer,
        decided_at=change.decided_at, reason=change.reason,
        deployed=tuple(DeployResult(p, v, bool(c)) for p, v, c in change.deployed or ()),
        problems=tuple(ProblemView(p.file, p.line, p.element, p.message, p.severity, p.rule, p.template, p.params)
                       for p in problems),
        base_files=dict(base_files or {}), policy_text=change.policy_text if with_files else None,
        replay=change.replay if with_files else None, replayed_at=change.replayed_at)


def change(session: Session, change_id: int, check) -> ChangeView:
    """One change with the deployed files it is laid over and every problem `check` finds in the candidate."""
    row = stored(session, change_id)
    base = newest_files(session)
    problems = check({**base, **(row.files or {})}, row.policy_text) if row.status in ("draft", "submitted") else ()
    return change_view(row, problems, {name: base[name] for name in row.files or {} if name in base})


def stored(session: Session, change_id: int) -> ProcessChange:
    """The row itself, with its files, policy and replay."""
    row = session.scalar(select(ProcessChange).options(undefer(ProcessChange.files), undefer(ProcessChange.policy_text),
                                                       undefer(ProcessChange.replay))
                         .where(ProcessChange.id == change_id)) if 1 <= change_id <= MAX_ID else None
    if row is None:
        raise NotFound("No process change %(id)s.", id=change_id)
    return row


def changes(session: Session, status: str | None = None) -> list[ChangeView]:
    query = select(ProcessChange).options(undefer(ProcessChange.files)).order_by(ProcessChange.id.desc())
    if status:
        query = query.where(ProcessChange.status == status)
    return [change_view(row) for row in session.scalars(query.limit(200))]
