"""Working days for due dates: what `business_days(n)` in a BPMN `due` expression means."""
from __future__ import annotations

from datetime import date, datetime, timedelta

MAX_BUSINESS_DAYS = 2_500  # about ten years of working days


class WorkingCalendar:
    """Which days the bank works. For now Monday to Friday; the policy's calendar refines it."""

    @classmethod
    def from_policy(cls, policy) -> "WorkingCalendar":
        return cls()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5


def business_days(count) -> str:
    """For BPMN `due` expressions: a deadline counted in working days."""
    return f"{int(count)}BD"


def add_business_days(now: datetime, count: int, local_date, calendar: WorkingCalendar) -> datetime:
    """`count` working days later, same time of day; days the bank does not work (in its time zone) do not count."""
    if not 0 <= count <= MAX_BUSINESS_DAYS:
        raise ValueError(f"{count} business days is more than {MAX_BUSINESS_DAYS}")
    moment, left = now, count
    while left > 0:
        moment += timedelta(days=1)
        if calendar.is_working_day(local_date(moment)):
            left -= 1
    return moment
