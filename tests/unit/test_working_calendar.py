"""Business days are China's: public holidays and adjusted working days (调休), refined by the bank's own calendar."""
from datetime import date, datetime, timezone

import pytest

from engine.runtime.calendar import WorkingCalendar, add_business_days
from policies import DEFAULT_POLICY, load_policy

DEFAULT_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")
NO_EXTRA_DAYS = "calendar:\n  closing_days: []\n  working_days: []\n"


def policy_with_calendar(tmp_path, closing_days="[]", working_days="[]"):
    assert NO_EXTRA_DAYS in DEFAULT_TEXT
    text = DEFAULT_TEXT.replace(NO_EXTRA_DAYS, f"calendar:\n  closing_days: {closing_days}\n"
                                              f"  working_days: {working_days}\n")
    path = tmp_path / "bank.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@pytest.fixture
def policy():
    return load_policy()


def test_national_day_is_not_a_business_day(policy):
    calendar = WorkingCalendar.from_policy(policy)
    before = datetime(2026, 9, 29, 2, 30, tzinfo=timezone.utc)  # Tuesday 10:30 in Beijing
    due = add_business_days(before, 2, policy.local_date, calendar)
    assert due == datetime(2026, 10, 8, 2, 30, tzinfo=timezone.utc)  # Wednesday 30 September, then Thursday 8 October
    assert not any(calendar.is_working_day(date(2026, 10, day)) for day in range(1, 8))


def test_an_adjusted_working_saturday_is_a_business_day(policy):
    calendar = WorkingCalendar.from_policy(policy)
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, worked in exchange for National Day (调休)
    assert not calendar.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    friday = datetime(2026, 10, 9, 2, 0, tzinfo=timezone.utc)
    assert add_business_days(friday, 1, policy.local_date, calendar) == datetime(2026, 10, 10, 2, 0,
                                                                                 tzinfo=timezone.utc)


def test_the_banks_own_closing_and_working_days_take_effect(tmp_path):
    policy = policy_with_calendar(tmp_path, closing_days="[2026-11-11]", working_days="['2026-10-05']")
    calendar = WorkingCalendar.from_policy(policy)
    assert policy.closing_days == frozenset({date(2026, 11, 11)})
    assert policy.working_days == frozenset({date(2026, 10, 5)})
    assert not calendar.is_working_day(date(2026, 11, 11))  # an ordinary Wednesday the bank closes
    assert calendar.is_working_day(date(2026, 10, 5))  # inside National Day, the bank opens
    tuesday = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)
    assert add_business_days(tuesday, 1, policy.local_date, calendar) == datetime(2026, 11, 12, 2, 0,
                                                                                  tzinfo=timezone.utc)


def test_a_year_the_holiday_schedule_does_not_cover_counts_monday_to_friday(tmp_path):
    policy = policy_with_calendar(tmp_path, closing_days="['2199-03-05']", working_days="['2199-03-09']")
    calendar = WorkingCalendar.from_policy(policy)
    assert calendar.is_working_day(date(2199, 10, 1))  # a Tuesday; no holiday schedule is known that far ahead
    assert [calendar.is_working_day(date(2199, 3, d)) for d in range(2, 12)] == [
        False, False, True, False, True, True, True, True, False, True]  # Sat 2 .. Mon 11: the bank's days apply
    friday = datetime(2199, 3, 15, 2, 0, tzinfo=timezone.utc)
    assert add_business_days(friday, 1, policy.local_date, calendar) == datetime(2199, 3, 18, 2, 0,
                                                                                 tzinfo=timezone.utc)
