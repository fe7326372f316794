"""The feed's rules: onboarding a disbursed portfolio, floors read from the deployed decision table, the periodic
classification of every loan, and a company's non-performing claims pulling its other loans down."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.store.models import AuditEvent, Loan
from tests.integration.test_redesigns import redesigned
from tests.integration.test_servicing import FEED, disbursed, position

BEIJING = timezone(timedelta(hours=8))
OLD_BOOK = "91350100M000100Y43"  # a company's unified social credit code
PERSON = "11010519491231002X"  # a resident ID: a retail borrower


@pytest.fixture
def feed(engine):
    engine.add_user(FEED, None, "核心系统")
    engine.grant_role(FEED, "core_banking")
    return FEED


def onboard_row(ref: str, **changes) -> dict:
    return {**position(ref, contract_number=f"HT-{ref}", last_repayment_date="2026-10-20"), "borrower": "Old Book Trading Co., Ltd.",
            "borrower_id": OLD_BOOK, "product": "working_capital", "amount": "2000000.00", "branch": "BJ01",
            "disbursed_on": "2026-06-20", "originator": "cm_wang", "loan_type": "new", **changes}


def post_loan_timer(engine, ref):
    return next(i.next_timer_due for i in engine.loan(ref).instances if i.process_id == "post_loan")


def reminder(engine, day: datetime) -> datetime:
    return day - timedelta(days=engine.policy.params["inspection_lead_days"])


def inspect(driver, ref: str) -> None:
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo")


@pytest.mark.usefixtures("engine_mode")
def test_an_onboarded_portfolio_is_inspected_on_the_schedule_of_its_real_disbursement(engine, driver, feed, clock):
    rows = [onboard_row("CB-0001"),  # disbursed 2026-06-20, 30 days then quarterly: next due 2027-01-20
            onboard_row("CB-0002", borrower="Young Loan Co.", borrower_id="91110108MA01ABCD2H",
                        disbursed_on="2026-10-25", small_enterprise="true")]  # first inspection 2026-11-09
    summary = engine.import_positions("2026-11-01", rows, actor=feed, source="api", onboard=True)
    assert summary.refused == [] and summary.onboarded == ["CB-0001", "CB-0002"]
    assert summary.accepted == ["CB-0001", "CB-0002"]
    loan = engine.loan("CB-0001")
    assert (loan.status, loan.stage, loan.borrower, loan.originator) == (
        "disbursed", "post_loan", "Old Book Trading Co., Ltd.", "cm_wang")
    assert loan.account.contract_number == "HT-CB-0001" and loan.account.outstanding_principal == 1_500_000
    assert [i.process_id for i in loan.instances] == ["post_loan"]
    with engine.db.reading() as session:
        disbursed_at = session.query(Loan).filter_by(reference="CB-0001").one().disbursed_at
        assert engine.policy.local_date(disbursed_at).isoformat() == "2026-06-20"
        events = session.query(AuditEvent).filter_by(action="loan_onboarded").all()
        assert sorted(e.loan_ref for e in events) == ["CB-0001", "CB-0002"]
        assert events[0].actor == FEED and events[0].detail["after"]["disbursed_on"] == "2026-06-20"

    again = engine.import_positions("2026-11-01", rows, actor=feed, source="api", onboard=True)
    assert (again.onboarded, again.accepted, again.unchanged) == ([], [], ["CB-0001", "CB-0002"])
    assert engine.count_events("loan_onboarded") == 2
    assert len(engine.loan("CB-0001").instances) == 1

    for ref in ("CB-0001", "CB-0002"):
        driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    young_due = reminder(engine, datetime(2026, 11, 9, 9, 0, tzinfo=BEIJING))
    old_due = reminder(engine, datetime(2027, 1, 20, 9, 0, tzinfo=BEIJING))
    assert post_loan_timer(engine, "CB-0002") == young_due
    assert post_loan_timer(engine, "CB-0001") == old_due  # not 30 days from the import, nor overdue rounds
    clock.set(young_due)
    engine.tick()
    assert "lead_inspection" in driver.open_steps("CB-0002")
    assert "lead_inspection" not in driver.open_steps("CB-0001")
    clock.set(old_due - timedelta(minutes=1))
    engine.tick()
    assert "lead_inspection" not in driver.open_steps("CB-0001")
    clock.set(old_due)
    engine.tick()
    assert "lead_inspection" in driver.open_steps("CB-0001")
    inspect(driver, "CB-0001")
    assert post_loan_timer(engine, "CB-0001") == reminder(engine, datetime(2027, 4, 20, 9, 0, tzinfo=BEIJING))


def test_an_onboarding_row_with_a_fault_is_refused_on_its_own(engine, driver, feed):
    rows = [onboard_row("CB-0101", borrower_id="91350100M000100Y44"), onboard_row("CB-0102", disbursed_on=""),
            onboard_row("CB-0103", originator="acct_ma"), onboard_row("L-2026-000001"),
            onboard_row("CB-0105", product="mortgage"), onboard_row("CB-0106", disbursed_on="2026-11-05"),
            onboard_row("CB-0107")]
    summary = engine.import_positions("2026-11-01", rows, actor=feed, source="api", onboard=True)
    assert [(e.row, e.field) for e in summary.refused] == [
        (1, "borrower_id"), (2, "disbursed_on"), (3, "originator"), (4, "loan"), (5, "product"),
        (6, "disbursed_on")]
    assert summary.onboarded == ["CB-0107"]
    assert engine.count_events("loan_onboarded") == 1
    with engine.db.reading() as session:
        assert session.query(Loan).filter(Loan.reference.like("CB-%")).count() == 1


def test_onboarding_from_the_command_line(engine, driver, database_url, tmp_path):
    import csv

    from click.testing import CliRunner

    from engine.cli import main

    rows = [onboard_row("CB-0201"), onboard_row("CB-0202", originator="nobody")]
    path = tmp_path / "portfolio.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cli = CliRunner()
    loaded = cli.invoke(main, ["--database", database_url, "servicing", "import", str(path), "--as-of",
                               "2026-11-01", "--onboard"], catch_exceptions=False)
    assert loaded.exit_code == 1
    assert "1 onboarded" in loaded.output and "Row 2 (CB-0202), originator" in loaded.output
    assert engine.loan("CB-0201").stage == "post_loan"


def test_the_floor_is_what_the_deployed_decision_table_says(engine, driver, feed, tmp_path):
    ref = disbursed(driver)
    folder = redesigned(tmp_path, {"classification_floor.dmn": [  # substandard from 60 days instead of 90
        ("<text>&gt; 90</text>", "<text>&gt; 60</text>")]})
    engine.deploy([str(folder)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    engine.import_positions("2027-01-05", [position(ref, days_past_due=65, **late)], actor=feed, source="api")
    [review] = driver.items(ref, "approve_classification")
    assert engine.task("cro_gao", review.id).data["proposal"]["proposed_classification"] == "substandard"
    from engine.errors import InvalidInput
    with pytest.raises(InvalidInput, match="65 days past due"):
        driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
                  approval_reason="Better.")
