"""The feed's rules: onboarding a disbursed portfolio, floors read from the deployed decision table, the periodic
classification of every loan, and a company's non-performing claims pulling its other loans down."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.store.models import AuditEvent, Loan
from tests.integration.test_redesigns import redesigned
from tests.integration.test_servicing import FEED, position

BEIJING = timezone(timedelta(hours=8))
OLD_BOOK = "91350100M000100Y43"  # a company's unified social credit code
PERSON = "11010519491231002X"  # a resident ID: a retail borrower


def disbursed(driver, **application) -> str:
    ref = driver.start(**application)
    driver.through_approval_dual(ref)
    if application.get("product", "working_capital") == "working_capital":
        driver.through_disbursement(ref)
    else:  # a personal loan is paid to the seller (受托支付)
        for step, person in (("prepare_contract", "cm_wang"), ("register_collateral", "coll_hu"),
                             ("review_disbursement", "disb_xu")):
            driver.do(ref, step, person)
        driver.do(ref, "execute_entrusted_payment", "acct_ma", payment_amount=1_500_000)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def onboard_row(ref: str, **changes) -> dict:
    return {**position(ref, contract_number=f"HT-{ref}", last_repayment_date="2026-10-20"),
            "borrower": "Old Book Trading Co., Ltd.", "borrower_id": OLD_BOOK, "product": "working_capital", "amount": "2000000.00", "branch": "BJ01",
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


def reviews_opened_by_rule(engine, ref: str) -> list[str]:
    with engine.db.reading() as session:
        return [e.detail["due_on"] for e in session.query(AuditEvent).filter_by(
            action="classification_review_due", loan_ref=ref).order_by(AuditEvent.id)]


@pytest.mark.usefixtures("engine_mode")
def test_every_loan_is_reviewed_each_quarter_on_days_counted_from_its_disbursement(engine, driver, feed, clock):
    ref = disbursed(driver)  # disbursed 2026-11-02: reviews due 2027-02-02, 2027-05-02, 2027-08-02 ...
    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert driver.items(ref, "approve_classification") == []
    clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    engine.tick()
    [review] = driver.items(ref, "approve_classification")  # one, however often the worker looks
    data = engine.task("cro_gao", review.id).data
    assert data["proposal"]["proposed_by"] == "system:servicing"
    assert data["proposal"]["proposed_classification"] == "normal"
    assert reviews_opened_by_rule(engine, ref) == ["2027-02-02"]
    clock.set(datetime(2027, 2, 20, 9, 0, tzinfo=BEIJING))  # decided late: the next one is not moved
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="normal",
              approval_reason="Quarterly review.")
    clock.set(datetime(2027, 5, 1, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert driver.items(ref, "approve_classification") == []
    clock.set(datetime(2027, 5, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert len(driver.items(ref, "approve_classification")) == 1
    assert reviews_opened_by_rule(engine, ref) == ["2027-02-02", "2027-05-02"]


def test_the_tick_reads_only_the_loans_whose_review_day_has_come(engine, driver, feed, clock):
    """A loan looked at is read again on its next monthly anniversary of the disbursement; until then a tick passes
    over it."""
    from sqlalchemy import update

    ref = disbursed(driver)  # disbursed 2026-11-02: first quarterly review due 2027-02-02
    assert next_review_on(engine, ref) is None
    engine.tick()
    assert next_review_on(engine, ref) == date(2026, 12, 2)
    clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert len(driver.items(ref, "approve_classification")) == 1 and next_review_on(engine, ref) == date(2027, 3, 2)
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="normal",
              approval_reason="Quarterly review.")
    with engine.db.transaction() as session:  # as if the loan had been looked at for 2027-05-02 already
        session.execute(update(Loan).where(Loan.reference == ref).values(next_review_on=date(2027, 8, 2)))
    clock.set(datetime(2027, 5, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert driver.items(ref, "approve_classification") == []  # not read: its day has not come
    clock.set(datetime(2027, 8, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert len(driver.items(ref, "approve_classification")) == 1 and next_review_on(engine, ref) == date(2027, 9, 2)


def test_a_policy_that_shortens_the_review_interval_misses_no_day(engine, driver, feed, clock):
    """Quarterly when the loan was first looked at, monthly from December: the 2026-12-02 review opens on its day."""
    from dataclasses import replace

    ref = disbursed(driver)  # disbursed 2026-11-02
    engine.tick()
    engine.kernel.use_policy(replace(engine.policy, params={**engine.policy.params,
                                                            "classification_review_months": 1}))
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert len(driver.items(ref, "approve_classification")) == 1
    assert reviews_opened_by_rule(engine, ref) == ["2026-12-02"]


def next_review_on(engine, ref):
    with engine.db.reading() as session:
        return session.query(Loan.next_review_on).filter_by(reference=ref).scalar()


def test_a_review_since_the_last_scheduled_day_stands_for_the_periodic_one_which_proposes_the_floor(
        engine, driver, feed, clock):
    ref = disbursed(driver)
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00", last_repayment_date="2026-11-30")
    clock.set(datetime(2027, 1, 10, 9, 0, tzinfo=BEIJING))
    engine.import_positions("2027-01-10", [position(ref, days_past_due=31, **late)], actor=feed, source="api")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Floor.")
    clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert driver.items(ref, "approve_classification") == []  # reviewed on 2027-01-10, after the disbursement
    engine.import_positions("2027-05-01", [position(ref, days_past_due=95, **late)], actor=feed, source="api")
    assert len(driver.items(ref, "approve_classification")) == 1  # the feed's review of the new floor
    clock.set(datetime(2027, 5, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert len(driver.items(ref, "approve_classification")) == 1  # never a second open review
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="Floor.")
    clock.set(datetime(2027, 8, 2, 9, 0, tzinfo=BEIJING))
    engine.tick()
    [review] = driver.items(ref, "approve_classification")
    assert engine.task("cro_gao", review.id).data["proposal"]["proposed_classification"] == "substandard"


@pytest.mark.usefixtures("engine_mode")
def test_a_company_with_a_non_performing_loan_has_its_other_loans_pulled_down(engine, driver, feed):
    from engine.errors import InvalidInput

    bad = disbursed(driver, borrower_id=OLD_BOOK)
    other = disbursed(driver, borrower_id=OLD_BOOK)
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    engine.import_positions("2027-03-10", [position(bad, days_past_due=95, **late), position(other)], actor=feed,
                            source="api")
    assert driver.items(other, "approve_classification") == []
    driver.do(bad, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="95 days past due.")
    [pulled] = driver.items(other, "approve_classification")
    proposal = engine.task("cro_gao", pulled.id).data["proposal"]
    assert proposal["proposed_by"] == "system:servicing" and bad in proposal["reason"]
    with pytest.raises(InvalidInput, match="This review's floor is substandard"):
        driver.do(other, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
                  approval_reason="Pays on time.")
    driver.do(other, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="Customer-level classification.")
    assert engine.loan(other).classification == "substandard"


def test_a_persons_other_loans_are_not_pulled(engine, driver, feed):
    bad = disbursed(driver, borrower="Zhang San", borrower_id=PERSON, product="personal_business")
    other = disbursed(driver, borrower="Zhang San", borrower_id=PERSON, product="personal_business")
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    engine.import_positions("2027-03-10", [position(bad, days_past_due=95, **late)], actor=feed, source="api")
    driver.do(bad, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="95 days past due.")
    assert driver.items(other, "approve_classification") == []
    assert engine.loan(other).classification == "normal"


@pytest.mark.usefixtures("engine_mode")
def test_days_past_due_0_31_95_275_365_each_open_the_next_floor_and_no_better_class_is_approved(engine, driver,
                                                                                                feed):
    from engine.errors import InvalidInput

    ref = disbursed(driver)
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    engine.import_positions("2026-12-04", [position(ref)], actor=feed, source="api")
    assert driver.items(ref, "approve_classification") == []
    steps = (("2027-01-05", 31, "special_mention", "normal"), ("2027-03-10", 95, "substandard", "special_mention"),
             ("2027-09-01", 275, "doubtful", "substandard"), ("2027-11-26", 365, "loss", "doubtful"))
    for as_of, days, floor, better in steps:
        engine.import_positions(as_of, [position(ref, days_past_due=days, **late)], actor=feed, source="api")
        [review] = driver.items(ref, "approve_classification")
        assert engine.task("cro_gao", review.id).data["classification_floor"] == floor
        with pytest.raises(InvalidInput, match=f"{days} days past due"):
            driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification=better,
                      approval_reason="Better.")
        driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification=floor,
                  approval_reason=f"{days} days past due.")
        assert engine.loan(ref).classification == floor


@pytest.mark.usefixtures("engine_mode")
def test_an_inspections_classification_proposal_throws_the_feeds_days_past_due(engine, driver, feed, clock):
    ref = disbursed(driver)
    clock.advance(days=16)
    engine.tick()
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00", last_repayment_date="2026-11-15")
    engine.import_positions("2026-11-17", [position(ref, days_past_due=40, **late)], actor=feed, source="api")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Floor.")
    driver.do(ref, "lead_inspection", "plm_guo", repayment_status="overdue")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="reclassify", classification="substandard",
              remarks="Cash flow has dried up.")
    with engine.db.reading() as session:
        thrown = [e.detail["payload"] for e in session.query(AuditEvent).filter_by(
            action="message_thrown", loan_ref=ref, step="classification_proposed", process_id="post_loan")]
    assert [(p["days_overdue"], p["proposed_classification"]) for p in thrown] == [(40, "substandard")]


def test_an_onboarded_loan_is_first_reviewed_on_its_next_scheduled_day_not_at_once(engine, driver, feed, clock):
    # disbursed 2026-06-20: quarterly reviews fall on 09-20 (before the file was kept here), then 12-20
    engine.import_positions("2026-11-01", [onboard_row("CB-0001")], actor=feed, source="api", onboard=True)
    engine.tick()
    assert driver.items("CB-0001", "approve_classification") == []
    clock.set(datetime(2026, 12, 20, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert len(driver.items("CB-0001", "approve_classification")) == 1
    assert reviews_opened_by_rule(engine, "CB-0001") == ["2026-12-20"]


def test_a_loan_disbursed_more_than_ten_years_ago_is_reviewed_on_its_quarterly_day(engine, driver, feed, clock):
    # a 20-year loan disbursed 2014-06-20: its reviews still fall on the 20th of every third month from then
    row = onboard_row("CB-0009", disbursed_on="2014-06-20", maturity_date="2034-06-20")
    assert engine.import_positions("2026-11-01", [row], actor=feed, source="api", onboard=True).refused == []
    engine.tick()  # the worker's tick goes on, whatever the age of the loans
    assert driver.items("CB-0009", "approve_classification") == []
    clock.set(datetime(2026, 12, 20, 9, 0, tzinfo=BEIJING))
    engine.tick()
    assert reviews_opened_by_rule(engine, "CB-0009") == ["2026-12-20"]
