"""Mandatory leave (强制休假) as policy: the longest run of leave in business days, and who in a sensitive role is short."""
from datetime import date, timedelta

import pytest

from policies import DEFAULT_POLICY, PolicyFormatError, load_policy, parse_policy
from policies.leave import days_missing, longest_leave_run, monitored_roles, short_of_leave

DEFAULT_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")
HOLIDAYS = {date(2026, 10, d) for d in range(1, 8)}  # National Day in 2026


def china_2026(day: date) -> bool:
    """A small stand-in for the engine's calendar: weekends and National Day 2026 off, Saturday 10 October worked."""
    return day == date(2026, 10, 10) or (day.weekday() < 5 and day not in HOLIDAYS)


@pytest.fixture
def policy():
    return load_policy()


def test_the_default_policy_names_the_sensitive_roles(policy):
    assert policy.mandatory_leave_roles == (
        "customer_manager", "credit_reviewer", "risk_manager", "disbursement_reviewer", "accounting_operator",
        "collateral_custodian", "post_loan_manager")
    assert policy.params["leave_min_business_days"] == 5
    assert monitored_roles(policy, {"auditor", "post_loan_manager", "customer_manager"}) == (
        "customer_manager", "post_loan_manager")


def test_a_working_week_of_leave_is_a_run_of_five(policy):
    assert longest_leave_run([(date(2026, 3, 2), date(2026, 3, 6))], 2026, china_2026) == 5
    assert days_missing(policy, 5) == 0


def test_two_short_leaves_do_not_add_up(policy):
    runs = longest_leave_run([(date(2026, 3, 2), date(2026, 3, 4)), (date(2026, 3, 9), date(2026, 3, 11))], 2026,
                             china_2026)
    assert runs == 3 and days_missing(policy, runs) == 2


def test_weekends_and_holidays_neither_break_nor_count():
    across_a_weekend = [(date(2026, 6, 4), date(2026, 6, 10))]  # Thursday to Wednesday
    assert longest_leave_run(across_a_weekend, 2026, china_2026) == 5
    across_national_day = [(date(2026, 9, 30), date(2026, 10, 9))]
    assert longest_leave_run(across_national_day, 2026, china_2026) == 3  # 30 September, 8 and 9 October
    joined_by_a_weekend = [(date(2026, 6, 4), date(2026, 6, 5)), (date(2026, 6, 8), date(2026, 6, 10))]
    assert longest_leave_run(joined_by_a_weekend, 2026, china_2026) == 5
    overlapping = [(date(2026, 6, 1), date(2026, 6, 3)), (date(2026, 6, 2), date(2026, 6, 5))]
    assert longest_leave_run(overlapping, 2026, china_2026) == 5


def test_only_days_in_the_year_count():
    over_new_year = [(date(2026, 12, 28), date(2027, 1, 8))]
    assert longest_leave_run(over_new_year, 2026, china_2026) == 4  # Monday 28 to Thursday 31 December
    assert longest_leave_run(over_new_year, 2027, lambda d: d.weekday() < 5) == 6  # Friday 1 to Friday 8 January
    assert longest_leave_run([], 2026, china_2026) == 0


def test_who_is_short(policy):
    assert short_of_leave(policy, {"cm_wang": 5, "cm_li": 3, "plm_guo": 0, "coll_hu": 9}) == {"cm_li": 2, "plm_guo": 5}


def test_the_minimum_is_the_policy_parameter():
    policy = parse_policy(DEFAULT_TEXT.replace("leave_min_business_days: 5", "leave_min_business_days: 10"))
    assert short_of_leave(policy, {"cm_wang": 5}) == {"cm_wang": 5}


def test_a_sensitive_role_must_be_a_role():
    text = DEFAULT_TEXT.replace("roles: [customer_manager, credit_reviewer,", "roles: [customer_manger, credit_reviewer,")
    assert text != DEFAULT_TEXT
    with pytest.raises(PolicyFormatError) as err:
        parse_policy(text, "bank.yaml")
    assert err.value.key == "mandatory_leave.roles[0]" and "unknown role 'customer_manger'" in err.value.problem


def test_a_long_leave_is_counted_quickly():
    periods = [(date(2026, 1, 1) + timedelta(days=i), date(2026, 1, 1) + timedelta(days=i)) for i in range(365)]
    assert longest_leave_run(periods, 2026, lambda d: d.weekday() < 5) == 261
