"""Failed sign-ins counted in the audit trail, so every web worker and every restart sees the same lock."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.store.models import SIGN_IN_ATTEMPTS, AuditEvent

_PG_SIGN_IN_LOCK = 727_002  # advisory lock space: one password check per user name at a time


def take_turn(session: Session, username: str) -> None:
    """On PostgreSQL, wait for other sign-ins of this user name to commit, so parallel guesses share no free attempt.

    (SQLite writers already take the whole database at BEGIN.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:username))"),
                        {"space": _PG_SIGN_IN_LOCK, "username": username})


def wait_seconds(session: Session, username: str, now: datetime, free_attempts: int, max_lock_seconds: int) -> int:
    """Seconds before `username` may try a password again (0: now).

    After `free_attempts` consecutive failures the wait doubles with every further failure, up to `max_lock_seconds`,
    counted from the last failure; a successful sign-in starts the count again. Reads at most a handful of rows
    of the partial index ix_audit_sign_in."""
    enough = free_attempts + max_lock_seconds.bit_length()  # more failures than this all wait the cap
    recent = session.execute(select(AuditEvent.action, AuditEvent.occurred_at)
                             .where(AuditEvent.actor == username, text(SIGN_IN_ATTEMPTS))
                             .order_by(AuditEvent.id.desc()).limit(enough)).all()
    failures = 0
    for action, _occurred_at in recent:
        if action != "sign_in_failed":
            break
        failures += 1
    if failures == 0 or failures < free_attempts:
        return 0
    lock = min(2 ** (failures - free_attempts + 1), max_lock_seconds)
    left = (recent[0].occurred_at + timedelta(seconds=lock) - now).total_seconds()
    return max(0, math.ceil(left))
