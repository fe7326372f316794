"""Working days for due dates: what `business_days(n)` in a BPMN `due` expression means."""
from __future__ import annotations

from datetime import datetime, timedelta

MAX_BUSINESS_DAYS = 2_500  # about ten years of working days


def business_days(count) -> str:
    """For BPMN `due` expressions: a deadline counted in working days (Monday to Friday)."""
    return f"{int(count)}BD"


def add_business_days(now: datetime, count: int, local_date) -> datetime:
    """`count` working days later, same time of day; weekends (in the bank's time zone) do not count."""
    if not 0 <= count <= MAX_BUSINESS_DAYS:
        raise ValueError(f"{count} business days is more than {MAX_BUSINESS_DAYS}")
    moment, left = now, count
    while left > 0:
        moment += timedelta(days=1)
        if local_date(moment).weekday() < 5:
            left -= 1
    return moment
