"""The core banking feed (核心系统): positions land idempotently, bad rows are refused one by one, and only the
feed or an accounting operator may report a loan repaid."""
import csv
import json

import pytest

from engine.errors import NotAllowed
from tests.integration.conftest import FEED


def disbursed(driver, borrower: str = "Hengda Precision Machining Co., Ltd.") -> str:
    ref = driver.start(borrower=borrower)
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def position(ref: str, **changes) -> dict:
    return {"loan": ref, "contract_number": "HT-2026-001", "maturity_date": "2027-11-20",
            "schedule": "Monthly interest, principal at maturity", "outstanding_principal": "1500000.00",
            "overdue_principal": "0", "overdue_interest": "0", "days_past_due": 0,
            "last_repayment_date": "2026-11-30", "last_repayment_amount": "6250.00", **changes}


def test_the_same_batch_twice_changes_nothing(engine, driver, feed):
    ref = disbursed(driver)
    batch = [position(ref)]
    first = engine.import_positions("2026-12-04", batch, actor=feed, source="api")
    assert (first.accepted, first.unchanged, first.refused) == ([ref], [], [])
    account = engine.loan(ref).account
    assert account.as_of.isoformat() == "2026-12-04" and account.outstanding_principal == 1_500_000
    assert account.contract_number == "HT-2026-001" and account.days_past_due == 0
    assert engine.count_events("position_recorded") == 1

    again = engine.import_positions("2026-12-04", batch, actor=feed, source="api")
    assert (again.accepted, again.unchanged, again.refused) == ([], [ref], [])
    assert engine.count_events("position_recorded") == 1

    overdue = engine.import_positions("2026-12-05", [position(ref, overdue_interest="6250.00", days_past_due=1)],
                                      actor=feed, source="api")
    assert overdue.accepted == [ref]
    with engine.db.reading() as session:
        from engine.store.models import AuditEvent
        event = session.query(AuditEvent).filter_by(action="position_recorded").order_by(AuditEvent.id.desc()).first()
        assert event.actor == FEED and event.loan_ref == ref
        assert event.detail["before"]["days_past_due"] == 0 and event.detail["after"]["days_past_due"] == 1
        assert event.detail["after"]["overdue_interest"] == "6250.00"


def test_a_bad_row_is_reported_and_the_good_rows_land(engine, driver, feed):
    good = disbursed(driver)
    undisbursed = driver.start(borrower="Not Yet Paid Co.")
    engine.import_positions("2026-12-05", [position(good)], actor=feed, source="api")
    other = disbursed(driver, "Second Borrower Co.")
    rows = [position("L-2099-999999"), position(other, outstanding_principal="-1"), position(undisbursed),
            position(other, contract_number=""), position(good), position(other)]
    summary = engine.import_positions("2026-12-04", rows, actor=feed, source="api")
    assert summary.accepted == [other] and summary.unchanged == []
    assert [(e.row, e.field) for e in summary.refused] == [
        (1, "loan"), (2, "outstanding_principal"), (3, "loan"), (4, "contract_number"), (5, "as_of")]
    messages = [e.message for e in summary.refused]
    assert "L-2099-999999" in messages[0] and "not been disbursed" in messages[2]
    assert "2026-12-05" in messages[4]
    assert engine.loan(other).account.as_of.isoformat() == "2026-12-04"
    assert engine.loan(good).account.as_of.isoformat() == "2026-12-05"


def test_repayment_is_reported_only_by_the_feed_or_an_accounting_operator(engine, driver, feed, clock):
    ref = disbursed(driver)
    refused_before = engine.count_events("refused")
    for person in ("cm_wang", "plm_guo", None):
        with pytest.raises(NotAllowed, match="accounting operator"):
            engine.send_message(ref, "loan_repaid", {"repaid_on": "2027-06-30"}, actor=person, source="cli")
    assert engine.count_events("refused") == refused_before + 3
    assert engine.loan(ref).status == "disbursed"

    closing = position(ref, outstanding_principal="0", last_repayment_amount="1500000.00",
                       last_repayment_date="2026-11-10")
    summary = engine.import_positions("2026-11-10", [closing], actor=feed, source="api")
    assert summary.accepted == [ref]
    assert engine.count_events("message_queued") == 1  # post-loan takes it once it waits for it
    clock.advance(days=16)
    engine.tick()
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo")
    assert driver.open_steps(ref) == ["review_closure"]
    assert engine.import_positions("2026-11-10", [closing], actor=feed, source="api").unchanged == [ref]
    assert engine.count_events("message_queued") == 1

    other = disbursed(driver, "Second Borrower Co.")
    assert engine.send_message(other, "loan_repaid", {"repaid_on": "2027-06-30"}, actor="acct_ma") == 0
    assert engine.count_events("message_queued") == 2


def test_only_the_core_banking_role_may_feed_positions(engine, driver, feed):
    ref = disbursed(driver)
    with pytest.raises(NotAllowed):
        engine.import_positions("2026-12-04", [position(ref)], actor="acct_ma", source="api")
    assert engine.loan(ref).account is None


def test_the_command_line_loads_a_csv_or_json_file_and_fails_on_a_refused_row(engine, driver, database_url,
                                                                            tmp_path):
    from click.testing import CliRunner

    from engine.cli import main

    ref = disbursed(driver)
    feed_csv = tmp_path / "positions.csv"
    with feed_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(position(ref)))
        writer.writeheader()
        writer.writerows([position(ref), position("L-2099-999999")])
    cli = CliRunner()
    loaded = cli.invoke(main, ["--database", database_url, "servicing", "import", str(feed_csv),
                               "--as-of", "2026-12-04"], catch_exceptions=False)
    assert loaded.exit_code == 1
    assert "1 recorded, 0 unchanged, 1 refused" in loaded.output
    assert "Row 2 (L-2099-999999), loan: No loan L-2099-999999." in loaded.output
    assert engine.loan(ref).account.outstanding_principal == 1_500_000

    feed_json = tmp_path / "positions.json"
    feed_json.write_text(json.dumps({"as_of": "2026-12-04", "positions": [position(ref)]}), encoding="utf-8")
    again = cli.invoke(main, ["--database", database_url, "servicing", "import", str(feed_json)],
                       catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "0 recorded, 1 unchanged, 0 refused" in again.output

    undated = cli.invoke(main, ["--database", database_url, "servicing", "import", str(feed_csv)])
    assert undated.exit_code == 1 and "--as-of" in undated.output


def test_send_message_on_the_command_line_names_who_reports_the_repayment(engine, driver, database_url):
    from click.testing import CliRunner

    from engine.cli import main

    ref = disbursed(driver)
    refused = engine.count_events("refused")
    anyone = CliRunner().invoke(main, ["--database", database_url, "send-message", ref, "loan_repaid"])
    assert anyone.exit_code == 1 and "accounting operator" in anyone.output
    posing = CliRunner().invoke(main, ["--database", database_url, "send-message", ref, "loan_repaid",
                                       "--by", "cm_wang"])
    assert posing.exit_code == 1
    assert engine.count_events("refused") == refused + 2
    booked = CliRunner().invoke(main, ["--database", database_url, "send-message", ref, "loan_repaid",
                                       "--by", "acct_ma"])
    assert booked.exit_code == 0, booked.output


def test_days_past_due_crossing_a_floor_open_a_review_that_cannot_approve_better(engine, driver, feed):
    from engine.errors import InvalidInput

    ref = disbursed(driver)
    engine.import_positions("2026-12-04", [position(ref)], actor=feed, source="api")
    assert driver.items(ref, "approve_classification") == []
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00", last_repayment_date="2026-11-30")
    engine.import_positions("2027-01-05", [position(ref, days_past_due=31, **late)], actor=feed, source="api")
    reviews = driver.items(ref, "approve_classification")
    assert len(reviews) == 1 and reviews[0].role == "credit_risk_officer"
    with pytest.raises(InvalidInput, match="31 days past due") as refused:
        driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="normal",
                  approval_reason="Customer promised to pay.")
    assert "special_mention" in refused.value.fields["classification"]
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Floor.")
    assert engine.loan(ref).classification == "special_mention"

    engine.import_positions("2027-01-06", [position(ref, days_past_due=32, **late)], actor=feed, source="api")
    assert driver.items(ref, "approve_classification") == []  # the same floor: nothing new to review
    engine.import_positions("2027-03-10", [position(ref, days_past_due=95, **late)], actor=feed, source="api")
    assert len(driver.items(ref, "approve_classification")) == 1
    for better in ("normal", "special_mention"):
        with pytest.raises(InvalidInput, match="95 days past due"):
            driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification=better,
                      approval_reason="Better.")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="Floor.")
    assert engine.loan(ref).classification == "substandard"
    with engine.db.reading() as session:
        from engine.store.models import AuditEvent
        opened = [e.actor for e in session.query(AuditEvent).filter_by(action="instance_started",
                                                                       process_id="classification")]
    assert opened == ["system:servicing", "system:servicing"]


def test_a_proposal_from_an_inspection_carries_the_days_past_due_the_feed_reports(engine, driver, feed, clock):
    ref = disbursed(driver)
    clock.advance(days=16)
    engine.tick()
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00", last_repayment_date="2026-11-15")
    summary = engine.import_positions("2026-11-17", [position(ref, days_past_due=95, **late)], actor=feed,
                                      source="api")
    assert summary.accepted == [ref], summary.refused
    automatic = driver.item(ref, "approve_classification")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="Floor.")
    driver.do(ref, "lead_inspection", "plm_guo", repayment_status="overdue")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="reclassify", classification="special_mention",
              remarks="Improving.")
    proposed = [i for i in driver.items(ref, "approve_classification") if i.id != automatic.id]
    assert len(proposed) == 1
    data = engine.task("cro_gao", proposed[0].id).data
    assert data["classification_floor"] == "substandard" and data["proposal"]["days_overdue"] == 95


def test_a_loan_falling_to_substandard_and_on_to_loss_by_the_feed_moves_to_workout_once(engine, driver, feed):
    ref = disbursed(driver)
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    for as_of, days, floor in (("2027-03-10", 95, "substandard"), ("2027-09-01", 275, "doubtful"),
                               ("2027-11-26", 365, "loss")):
        engine.import_positions(as_of, [position(ref, days_past_due=days, **late)], actor=feed, source="api")
        [review] = driver.items(ref, "approve_classification")
        driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification=floor,
                  approval_reason=f"{days} days past due.")
        assert engine.loan(ref).classification == floor
    workouts = [i for i in engine.loan(ref).instances if i.process_id == "workout"]
    assert len(workouts) == 1  # moved to workout when it fell to substandard, not again as it worsened
    assert [i.bpmn_id for i in engine.loan_items(ref) if i.process_id == "workout"] == ["propose_workout"]
