"""One clock for the whole engine, so tests and simulations can move time by months."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def utc(dt: datetime) -> datetime:
    """Return an aware UTC datetime (naive values are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to (tests, simulation, `tick --now`)."""

    def __init__(self, start: datetime | None = None):
        self._now = utc(start) if start else datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = utc(when)

    def advance(self, **delta) -> datetime:
        self._now += timedelta(**delta)
        return self._now
