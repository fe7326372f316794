"""The policy's `calendar` section: the bank's own closing and working days, as plain dates, errors naming the key."""
from datetime import date

import pytest

from policies import DEFAULT_POLICY, PolicyFormatError, load_policy, parse_policy

DEFAULT_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")
NO_EXTRA_DAYS = "calendar:\n  closing_days: []\n  working_days: []\n"


def with_calendar(section: str) -> str:
    assert NO_EXTRA_DAYS in DEFAULT_TEXT
    return DEFAULT_TEXT.replace(NO_EXTRA_DAYS, section)


def test_the_default_policy_adds_no_days_of_its_own():
    policy = load_policy()
    assert policy.closing_days == frozenset() and policy.working_days == frozenset()


def test_dates_may_be_written_with_or_without_quotes():
    policy = parse_policy(with_calendar("calendar:\n  closing_days: [2026-12-31, '2027-01-04']\n"
                                        "  working_days:\n    - \"2026-10-10\"\n"), "bank.yaml")
    assert policy.closing_days == frozenset({date(2026, 12, 31), date(2027, 1, 4)})
    assert policy.working_days == frozenset({date(2026, 10, 10)})
    assert policy.raw["calendar"]["closing_days"] == ["2026-12-31", "2027-01-04"]  # plain text, like the file


def test_the_sha256_covers_the_calendar():
    edited = parse_policy(with_calendar("calendar:\n  closing_days: [2026-12-31]\n  working_days: []\n"))
    assert edited.sha256 != load_policy().sha256


def test_a_policy_without_a_calendar_section_adds_no_days():
    policy = parse_policy(DEFAULT_TEXT.replace(NO_EXTRA_DAYS, ""))
    assert policy.closing_days == frozenset() and policy.working_days == frozenset()


@pytest.mark.parametrize("section, key, problem", [
    ("calendar:\n  closing_days: [2026-02-30]\n  working_days: []\n", "calendar.closing_days[0]",
     "'2026-02-30' is not a date"),
    ("calendar:\n  closing_days: [next monday]\n  working_days: []\n", "calendar.closing_days[0]",
     "'next monday' does not match"),
    ("calendar:\n  closing_days: []\n  working_days: [2026-10-10, 2026-10-10]\n", "calendar.working_days",
     "has non-unique elements"),
    ("calendar:\n  closing_days: [2026-10-10]\n  working_days: [2026-10-10]\n", "calendar.working_days[0]",
     "2026-10-10 is also a closing day"),
    ("calendar:\n  closing_day: [2026-10-10]\n", "calendar",
     "Additional properties are not allowed ('closing_day' was unexpected)"),
])
def test_a_bad_calendar_names_the_key(section, key, problem):
    with pytest.raises(PolicyFormatError) as err:
        parse_policy(with_calendar(section), "bank.yaml")
    assert err.value.key == key and problem in err.value.problem
