"""Mandatory leave (强制休假) monitored through the engine and the CLI: the longest run of business days on leave."""
from datetime import date

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import InvalidInput
from engine.simulation.staff import seed_team


@pytest.fixture
def team(engine):
    seed_team(engine, None)
    engine.record_leave("cm_wang", date(2026, 3, 2), date(2026, 3, 6))      # Monday to Friday
    engine.record_leave("cm_li", date(2026, 3, 2), date(2026, 3, 4))        # two leaves of three days
    engine.record_leave("cm_li", date(2026, 3, 9), date(2026, 3, 11))
    engine.record_leave("coll_hu", date(2026, 6, 4), date(2026, 6, 10))     # Thursday to Wednesday, over a weekend
    engine.record_leave("plm_guo", date(2026, 9, 30), date(2026, 10, 9))    # over National Day: 3 business days
    return engine


def standing(report, username):
    return next(p for p in report.people if p.username == username)


def test_who_has_taken_the_mandatory_leave(team):
    report = team.leave_report()
    assert report.year == 2026 and report.min_business_days == 5  # the engine clock says November 2026
    assert (standing(report, "cm_wang").longest_run, standing(report, "cm_wang").status) == (5, "compliant")
    li = standing(report, "cm_li")
    assert (li.longest_run, li.missing, li.status) == (3, 2, "not_yet")
    assert standing(report, "coll_hu").status == "compliant"
    guo = standing(report, "plm_guo")
    assert (guo.longest_run, guo.missing, guo.status) == (3, 2, "not_yet")
    rev = standing(report, "rev_chen")
    assert (rev.longest_run, rev.missing, rev.roles, rev.branches) == (0, 5, ("credit_reviewer",), ("BJ01",))


def test_only_active_people_in_sensitive_roles_that_year(team):
    report = team.leave_report()
    names = {p.username for p in report.people}
    assert {"cm_wang", "risk_liu", "disb_xu", "acct_ma", "coll_hu", "plm_lin", "rev_zhou"} <= names
    assert not names & {"auditor_xie", "admin", "designer_zheng", "plh_luo", "cro_gao", "chair_huang", "member1"}
    team.add_user("cm_gone", None)
    team.grant_role("cm_gone", "customer_manager", "BJ01", valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31))
    assert "cm_gone" not in {p.username for p in team.leave_report().people}
    last_year = team.leave_report(2025)
    assert standing(last_year, "cm_gone").status == "missed"  # 2025 is over: no longer "not yet"
    assert standing(last_year, "cm_wang").longest_run == 0  # the March leave was in 2026


def test_a_year_out_of_range_is_refused(team):
    with pytest.raises(InvalidInput):
        team.leave_report(1066)


def test_the_cli_prints_the_report(team, database_url):
    result = CliRunner().invoke(main, ["--database", database_url, "users", "leave-report", "--year", "2026"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Mandatory leave 2026: at least 5 consecutive business days" in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "compliant" in lines["cm_wang"] and " 5 " in lines["cm_wang"]
    assert "2 business day(s)" in lines["cm_li"]  # missing, or short once 2026 is over: the CLI reads the wall clock
    assert "customer_manager" in lines["cm_li"] and "auditor_xie" not in result.output
