"""Collection (催收): opened by the feed on the first day past due, escalated, a formal demand served, and ended when
the loan is current again or handed over to workout when it becomes non-performing."""

from engine.runtime.calendar import add_business_days
from tests.integration.conftest import disbursed_loan as disbursed, feed_position

LATE = dict(overdue_principal="0", overdue_interest="6250.00", last_repayment_date="2026-11-01")


def position(ref: str, **changes) -> dict:
    return feed_position(ref, **{"last_repayment_date": "2026-11-01", **changes})


def collections(engine, ref):
    return [i for i in engine.loan(ref, with_paths=True).instances if i.process_id == "collection"]


def test_collection_opens_on_the_first_day_overdue_escalates_demands_and_ends_on_cure(engine_mode, engine, driver,
                                                                                      feed, clock):
    ref = disbursed(driver)
    engine.import_positions("2026-11-30", [position(ref)], actor=feed, source="api")
    assert collections(engine, ref) == []
    opened_at = clock.now()
    engine.import_positions("2026-12-01", [position(ref, days_past_due=1, **LATE)], actor=feed, source="api")
    engine.import_positions("2026-12-02", [position(ref, days_past_due=2, **LATE)], actor=feed, source="api")
    assert [c.status for c in collections(engine, ref)] == ["running"]  # never two open collections
    reminder = driver.item(ref, "remind_borrower")
    assert (reminder.role, reminder.candidate_user, reminder.stage) == ("customer_manager", "cm_wang", "collection")
    assert reminder.due_at == add_business_days(opened_at, 2, engine.policy.local_date, engine.kernel.calendar)
    driver.do(ref, "remind_borrower", "cm_wang", reminded_on="2026-12-02", reminder_channel="phone",
              borrower_response="Promises to pay next week.")
    assert driver.items(ref, "escalate_collection") == []  # not yet 15 days past due

    clock.advance(days=44, hours=1)  # 2026-12-16 10:00 in Beijing: 15 days after the first day past due
    engine.tick()
    escalation = driver.item(ref, "escalate_collection")
    assert (escalation.role, escalation.candidate_user) == ("post_loan_manager", "plm_guo")
    driver.do(ref, "escalate_collection", "plm_guo", overdue_reason="A buyer pays late.",
              collection_actions="Visited the borrower's finance director.")
    demand = driver.item(ref, "serve_demand")
    assert demand.candidate_user == "plm_guo" and demand.due_at is not None
    driver.do(ref, "serve_demand", "plm_guo", demand_served_on="2026-12-18", demand_delivery="in_person",
              demand_receipt="Signed by the legal representative.")
    assert [c.status for c in collections(engine, ref)] == ["running"]  # awaiting the outcome

    engine.import_positions("2026-12-20", [position(ref, last_repayment_date="2026-12-19")], actor=feed,
                            source="api")
    [collection] = collections(engine, ref)
    assert collection.status == "completed" and "collection_cured" in collection.completed_steps


def test_a_cure_before_escalation_cancels_the_reminder_and_a_new_default_opens_a_new_collection(engine, driver,
                                                                                                 feed):
    ref = disbursed(driver)
    engine.import_positions("2026-12-01", [position(ref, days_past_due=1, **LATE)], actor=feed, source="api")
    assert len(driver.items(ref, "remind_borrower")) == 1
    engine.import_positions("2026-12-03", [position(ref, last_repayment_date="2026-12-02")], actor=feed,
                            source="api")
    assert driver.items(ref, "remind_borrower") == []
    [cured] = collections(engine, ref)
    assert cured.status == "completed" and "collection_cured" in cured.completed_steps
    engine.import_positions("2027-01-02", [position(ref, days_past_due=1, **LATE)], actor=feed, source="api")
    assert [c.status for c in collections(engine, ref)] == ["completed", "running"]
    driver.do(ref, "remind_borrower", "cm_wang", reminded_on="2027-01-02", reminder_channel="sms",
              borrower_response="Paid today.")
    engine.import_positions("2027-01-03", [position(ref, last_repayment_date="2027-01-02")], actor=feed,
                            source="api")  # cured while waiting for the escalation
    assert [(c.status, "collection_cured" in c.completed_steps) for c in collections(engine, ref)] == \
        [("completed", True), ("completed", True)]


def test_a_loan_becoming_nonperforming_hands_its_collection_over_to_workout(engine_mode, engine, driver, feed):
    ref = disbursed(driver)
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    engine.import_positions("2027-03-10", [position(ref, days_past_due=95, **late)], actor=feed, source="api")
    assert len(driver.items(ref, "remind_borrower")) == 1
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="95 days past due.")
    [collection] = collections(engine, ref)
    assert collection.status == "completed" and "collection_handed_over" in collection.completed_steps
    assert driver.items(ref, "remind_borrower") == []
    assert [i.status for i in engine.loan(ref).instances if i.process_id == "workout"] == ["running"]
    engine.import_positions("2027-03-11", [position(ref, days_past_due=96, **late)], actor=feed, source="api")
    assert len(collections(engine, ref)) == 1  # still overdue, not newly overdue


def test_collections_and_rule_warnings_replay_exactly_as_they_went(engine, driver, feed, clock):
    from engine.bootstrap import BUNDLED_BPMN
    from engine.runtime.specs import collect_files

    cured, handed_over = disbursed(driver), disbursed(driver)
    engine.import_positions("2026-12-01", [position(cured, days_past_due=1, **LATE)], actor=feed, source="api")
    driver.do(cured, "remind_borrower", "cm_wang", reminded_on="2026-12-02", reminder_channel="visit",
              borrower_response="Pays Friday.")
    engine.import_positions("2026-12-05", [position(cured, last_repayment_date="2026-12-04")], actor=feed,
                            source="api")
    late = dict(overdue_principal="125000.00", overdue_interest="6250.00")
    engine.import_positions("2027-03-10", [position(handed_over, days_past_due=95, **late)], actor=feed, source="api")
    driver.do(handed_over, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="95 days past due.")
    driver.do(handed_over, "register_warning", "cro_gao", registered_level="level_2", notes="Registered.")
    report = engine.replay({f.name: f.data.decode("utf-8") for f in collect_files([BUNDLED_BPMN])})
    assert (report.total, report.same, report.differing) == (2, 2, [])
