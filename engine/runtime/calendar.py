"""Working days: what `business_days(n)` in a BPMN `due` expression means, and what mandatory leave counts."""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import chinese_calendar

MAX_BUSINESS_DAYS = 2_500  # about ten years of working days


class WorkingCalendar:
    """Which days the bank works: its own working and closing days first, then China's public holidays and
    adjusted working days (调休); Monday to Friday for years the holiday schedule does not cover yet."""

    def __init__(self, closing_days: Iterable[date] = (), working_days: Iterable[date] = ()):
        self.closing_days, self.working_days = frozenset(closing_days), frozenset(working_days)

    @classmethod
    def from_policy(cls, policy) -> "WorkingCalendar":
        return cls(policy.closing_days, policy.working_days)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        if day in self.closing_days:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # the library knows only the years the State Council has published
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


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
