"""Mandatory leave (强制休假): the rule stays policy, so the engine only gathers leave periods and asks here."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta

from .policyset import PolicySet


def monitored_roles(policy: PolicySet, roles: Iterable[str]) -> tuple[str, ...]:
    """Which of these roles oblige their holder to take mandatory leave, in the policy's order."""
    held = set(roles)
    return tuple(r for r in policy.mandatory_leave_roles if r in held)


def longest_leave_run(periods: Iterable[tuple[date, date]], year: int,
                      is_working_day: Callable[[date], bool]) -> int:
    """The most working days in a row spent on leave within `year`.

    Periods are inclusive and may overlap or touch. Weekends and holidays neither count nor break a run, so
    Thursday to the next Wednesday is five days, and leave on Friday and again from Monday is one run. Only days
    inside the calendar year count: leave over New Year counts partly in each year."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    on_leave: set[date] = set()
    for starts_on, ends_on in periods:
        day = max(starts_on, first)
        while day <= min(ends_on, last):
            on_leave.add(day)
            day += timedelta(days=1)
    if not on_leave:
        return 0
    longest = run = 0
    day, end = min(on_leave), max(on_leave)
    while day <= end:
        if is_working_day(day):
            run = run + 1 if day in on_leave else 0
            longest = max(longest, run)
        day += timedelta(days=1)
    return longest


def days_missing(policy: PolicySet, longest_run: int) -> int:
    """Business days still missing from the longest run to the policy's minimum (0 when it is met)."""
    return max(0, policy.params["leave_min_business_days"] - longest_run)


def short_of_leave(policy: PolicySet, runs: Mapping[str, int]) -> dict[str, int]:
    """Who has not yet had the minimum run of leave, with the business days missing; `runs` maps user to run."""
    return {user: missing for user, run in runs.items() if (missing := days_missing(policy, run))}
