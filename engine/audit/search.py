"""Searching the audit trail: the events an auditor filters for, a page or a stream at a time."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, and_, or_, select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent

MAX_PER_PAGE = 500
USER_TASK_ACTIONS = ("task_started", "task_completed")


# -- values handed out -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventFilter:
    """What an auditor searches by; every field is optional and they combine with AND."""

    loan_ref: str | None = None
    actor: str | None = None
    role: str | None = None
    process_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    rule: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class EventView:
    id: int
    occurred_at: datetime
    action: str
    outcome: str
    loan_ref: str | None
    process_id: str | None
    process_version: int | None
    instance_id: int | None
    step: str | None
    step_name: str | None
    actor: str | None
    role: str | None
    on_behalf_of: str | None
    source: str
    policy_version: str | None
    rule: str | None
    reason: str | None
    detail: dict
    prev_hash: str
    hash: str


EXPORT_FIELDS = tuple(f.name for f in fields(EventView))


@dataclass(frozen=True)
class EventPage:
    """One page, newest first; pass `next_after` as after_id for older events, `prev_before` as before_id for newer."""

    events: tuple[EventView, ...]
    next_after: int | None
    prev_before: int | None


def event_view(row: AuditEvent) -> EventView:
    return EventView(**{name: getattr(row, name) for name in EXPORT_FIELDS})


# -- search --------------------------------------------------------------------------------------------
def _conditions(f: EventFilter) -> list:
    columns = {"loan_ref": AuditEvent.loan_ref, "actor": AuditEvent.actor, "role": AuditEvent.role,
               "process_id": AuditEvent.process_id, "action": AuditEvent.action, "outcome": AuditEvent.outcome,
               "rule": AuditEvent.rule}
    conds = [column == getattr(f, name) for name, column in columns.items() if getattr(f, name)]
    if f.since:
        conds.append(AuditEvent.occurred_at >= f.since)
    if f.until:
        conds.append(AuditEvent.occurred_at < f.until)
    return conds


def count_events(session: Session, filters: EventFilter) -> int:
    """How many events match (for summaries such as a simulation's escalations)."""
    return session.scalar(select(func.count()).select_from(AuditEvent).where(*_conditions(filters)))


def _beyond(session: Session, event_id: int, older: bool):
    """Keyset condition on (occurred_at, id): strictly older (or newer) than the given event."""
    at = session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.id == event_id))
    if at is None:
        return None
    if older:  # the first term is an index range, the second only breaks ties
        return and_(AuditEvent.occurred_at <= at, or_(AuditEvent.occurred_at < at, AuditEvent.id < event_id))
    return and_(AuditEvent.occurred_at >= at, or_(AuditEvent.occurred_at > at, AuditEvent.id > event_id))


def search_events(session: Session, filters: EventFilter | None = None, after_id: int | None = None,
                  before_id: int | None = None, per_page: int = 50) -> EventPage:
    """Newest first, keyset-paginated so page 10,000 costs what page 1 does (uses the *_time indexes)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    conds = _conditions(filters or EventFilter())
    cursor = after_id if after_id is not None else before_id
    older = before_id is None
    if cursor is not None:
        beyond = _beyond(session, cursor, older)
        if beyond is None:
            return EventPage((), None, None)
        conds.append(beyond)
    order = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc()) if older else \
            (AuditEvent.occurred_at.asc(), AuditEvent.id.asc())
    rows = session.scalars(select(AuditEvent).where(*conds).order_by(*order).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not older:
        rows.reverse()
    events = tuple(event_view(r) for r in rows)
    if not events:
        return EventPage((), None, None)
    has_older = more if older else True
    has_newer = cursor is not None if older else more
    return EventPage(events, events[-1].id if has_older else None, events[0].id if has_newer else None)


def iter_events(session: Session, filters: EventFilter | None = None, limit: int | None = None,
                batch: int = 1000) -> Iterator[EventView]:
    """Every matching event, newest first, fetched page by page (for exports)."""
    after, yielded = None, 0
    while True:
        page = search_events(session, filters, after_id=after, per_page=batch)
        for event in page.events:
            if limit is not None and yielded >= limit:
                return
            yield event
            yielded += 1
        if page.next_after is None:
            return
        after = page.next_after
        session.expunge_all()
