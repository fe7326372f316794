"""A person's notifications, newest first, in the reader's language; and how many they have not read."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import notices
from engine.kernel import Kernel
from engine.queries.texts import step_texts_in
from engine.store.models import Notification
from engine.views import NotificationView


def notifications(session: Session, kernel: Kernel, username: str, locale: str, limit: int = 50,
                  unread_only: bool = False) -> list[NotificationView]:
    query = select(Notification).where(Notification.username == username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all()
    names = step_texts_in(session, kernel.texts, locale).step if rows else None
    return [view(n, locale, names) for n in rows]


def view(note: Notification, locale: str, names=None) -> NotificationView:
    """`names`: a task's name in the reader's language (the catalogs beside the diagrams)."""
    return NotificationView(
        id=note.id, kind=note.kind, loan_ref=note.loan_ref, item_id=note.item_id,
        title=notices.title(note.kind, locale), text=notices.sentence(note.kind, note.loan_ref, note.params or {},
                                                                      locale, names),
        link=notices.link(note.loan_ref, note.item_id, note.params), created_at=note.created_at, read_at=note.read_at)


def unread_count(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.username == username, Notification.read_at.is_(None))) or 0
