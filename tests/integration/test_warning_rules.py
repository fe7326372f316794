"""Warnings raised by rule on the feed and the classification, and a confirmed warning's measures as tasks whose
outcomes reach the raiser and the customer manager."""

from engine.runtime.calendar import add_business_days
from engine.store.models import AuditEvent, DutyRecord
from tests.integration.conftest import disbursed_loan as disbursed, feed_position as position

LATE = dict(overdue_principal="125000.00", overdue_interest="6250.00", last_repayment_date="2026-11-30")
MEASURE_FORMS = {
    "ad_hoc_inspection": {"inspected_on": "2027-01-08", "inspection_findings": "Two buyers stopped paying."},
    "request_collateral_topup": {"topup_requested_on": "2027-01-08", "topup_outcome": "The borrower pledges a "
                                 "second warehouse."},
    "freeze_line": {"line_frozen_on": "2027-01-08", "freeze_outcome": "Undrawn CNY 0 frozen."},
    "notify_accelerated_repayment": {"notice_served_on": "2027-01-08", "notice_outcome": "Served in person."},
}


def rule_warnings(engine, ref) -> list[tuple[str, str]]:
    """(rule, actor) of each warning raised on the loan."""
    with engine.db.reading() as session:
        return [(e.rule, e.actor) for e in session.query(AuditEvent).filter_by(action="warning_raised", loan_ref=ref)
                .order_by(AuditEvent.id)]


def warnings(engine, ref):
    return [i for i in engine.loan(ref).instances if i.process_id == "risk_warning"]


def notes(engine, username, kind):
    return [n for n in engine.notifications(username, "en") if n.kind == kind]


def test_days_past_due_beyond_the_threshold_raise_one_warning_by_rule(engine_mode, engine, driver, feed):
    ref = disbursed(driver)
    engine.import_positions("2027-01-04", [position(ref, days_past_due=30, **LATE)], actor=feed, source="api")
    assert rule_warnings(engine, ref) == []  # 30 days is the threshold, not beyond it
    beyond = position(ref, days_past_due=31, **LATE)
    engine.import_positions("2027-01-05", [beyond], actor=feed, source="api")
    engine.import_positions("2027-01-05", [beyond], actor=feed, source="api")
    engine.import_positions("2027-01-06", [position(ref, days_past_due=32, **LATE)], actor=feed, source="api")
    assert rule_warnings(engine, ref) == [("WARN-OVERDUE", "system:servicing")]
    assert [w.status for w in warnings(engine, ref)] == ["running"]
    register = driver.item(ref, "register_warning")
    warning = engine.task("cro_gao", register.id).data["warning"]
    assert warning["rule"] == "WARN-OVERDUE" and warning["raised_by"] == "system:servicing"
    assert warning["rule_detail"] == {"days_past_due": 31, "threshold": 30}
    [told] = notes(engine, "cm_wang", "warning_raised")
    assert "system:servicing raised a risk warning" in told.text and "Days past due 31" in told.text
    with engine.db.reading() as session:  # the rule raised it: SOD-09 keeps no person from deciding it
        raisers = [r.username for r in session.query(DutyRecord).filter_by(duty="raise_warning")]
    assert raisers == ["system:servicing"]
    [told_zh] = [n for n in engine.notifications("cm_wang", "zh_CN") if n.kind == "warning_raised"]
    assert "逾期 31 天(核心系统报送),超过 30 天" in told_zh.text


def test_an_open_rule_warning_is_not_raised_again_but_a_closed_one_may_be(engine, driver, feed):
    ref = disbursed(driver)
    engine.import_positions("2027-01-05", [position(ref, days_past_due=31, **LATE)], actor=feed, source="api")
    engine.import_positions("2027-01-06", [position(ref)], actor=feed, source="api")  # paid up
    engine.import_positions("2027-02-10", [position(ref, days_past_due=31, **LATE)], actor=feed, source="api")
    assert rule_warnings(engine, ref) == [("WARN-OVERDUE", "system:servicing")]  # the first is still open
    driver.do(ref, "register_warning", "cro_gao", registered_level="level_1", notes="Registered.")
    driver.do(ref, "decide_warning", "cro_gao", warning_decision="dismiss", measures=[], decision_reason="Paid.")
    assert [w.status for w in warnings(engine, ref)] == ["completed"]
    engine.import_positions("2027-02-11", [position(ref)], actor=feed, source="api")
    engine.import_positions("2027-03-20", [position(ref, days_past_due=31, **LATE)], actor=feed, source="api")
    assert len(rule_warnings(engine, ref)) == 2


def test_maturity_near_with_nothing_repaid_for_months_raises_a_warning(engine, driver, feed):
    ref = disbursed(driver)
    quiet = position(ref, maturity_date="2027-11-20", last_repayment_date="2027-06-30")
    engine.import_positions("2027-10-01", [quiet], actor=feed, source="api")  # maturity 50 days away
    assert rule_warnings(engine, ref) == []
    engine.import_positions("2027-10-25", [quiet], actor=feed, source="api")  # 26 days, nothing paid for 117
    engine.import_positions("2027-10-26", [quiet], actor=feed, source="api")
    assert rule_warnings(engine, ref) == [("WARN-MATURITY", "system:servicing")]

    other = disbursed(driver)
    paying = position(other, maturity_date="2027-11-20", last_repayment_date="2027-10-20")
    engine.import_positions("2027-10-25", [paying], actor=feed, source="api")
    assert rule_warnings(engine, other) == []


def test_a_class_approved_worse_than_normal_raises_a_warning(engine, driver, feed):
    ref = disbursed(driver)
    late = dict(overdue_principal="0", overdue_interest="6250.00")
    engine.import_positions("2026-12-10", [position(ref, days_past_due=5, **late)], actor=feed, source="api")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Floor.")
    assert rule_warnings(engine, ref) == [("WARN-CLASS", "system:servicing")]
    register = driver.item(ref, "register_warning")
    assert engine.task("cro_gao", register.id).data["warning"]["rule_detail"]["classification"] == "special_mention"


def test_a_confirmed_warning_turns_each_measure_into_a_task_and_reports_the_outcomes(engine_mode, engine, driver,
                                                                                       feed, clock):
    ref = disbursed(driver)
    engine.import_positions("2027-01-05", [position(ref, days_past_due=31, **LATE)], actor=feed, source="api")
    driver.do(ref, "register_warning", "cro_gao", registered_level="level_2", notes="Registered.")
    decided_at = clock.now()
    driver.do(ref, "decide_warning", "cro_gao", warning_decision="level_2",
              measures=["ad_hoc_inspection", "extra_collateral"], decision_reason="Two months unpaid.")

    inspection, topup = driver.item(ref, "ad_hoc_inspection"), driver.item(ref, "request_collateral_topup")
    assert (inspection.role, inspection.candidate_user) == ("post_loan_manager", "plm_guo")
    assert (topup.role, topup.candidate_user) == ("customer_manager", "cm_wang")
    five = add_business_days(decided_at, 5, engine.policy.local_date, engine.kernel.calendar)
    assert inspection.due_at == five and topup.due_at == five
    assert driver.items(ref, "freeze_line") == [] and driver.items(ref, "notify_accelerated_repayment") == []

    # the rule raised it: the post-loan manager hears in its place, with the customer manager
    for username in ("plm_guo", "cm_wang"):
        [decided] = notes(engine, username, "warning_decided")
        assert "decided by cro_gao: confirmed at level 2 (moderate)" in decided.text
    assert notes(engine, "system:servicing", "warning_decided") == []

    driver.do(ref, "ad_hoc_inspection", "plm_guo", **MEASURE_FORMS["ad_hoc_inspection"])
    [done] = notes(engine, "cm_wang", "warning_measure_done")
    assert done.text == (f'plm_guo carried out the measure "ad-hoc inspection" of the risk warning on loan {ref} '
                         "(Days past due 31 (core banking feed), beyond 30): Two buyers stopped paying.")
    assert [w.status for w in warnings(engine, ref)] == ["running"]  # the top-up is still open
    driver.do(ref, "request_collateral_topup", "cm_wang", **MEASURE_FORMS["request_collateral_topup"])
    [done] = notes(engine, "plm_guo", "warning_measure_done")
    assert "extra collateral" in done.text and "second warehouse" in done.text
    assert "追加担保" in [n for n in engine.notifications("plm_guo", "zh_CN")
                        if n.kind == "warning_measure_done"][0].text
    assert [w.status for w in warnings(engine, ref)] == ["completed"]


def test_a_person_hears_the_outcomes_of_the_warning_they_raised(engine, driver, clock):
    ref = disbursed(driver)
    engine.raise_warning("risk_liu", ref, "The borrower's main customer went bankrupt.", source="cli")
    driver.do(ref, "register_warning", "cro_gao", registered_level="level_3", notes="Registered.")
    driver.do(ref, "decide_warning", "cro_gao", warning_decision="level_3",
              measures=["freeze_undrawn_line", "accelerate_repayment", "reclassification_review"],
              decision_reason="Severe.")
    freeze, notice = driver.item(ref, "freeze_line"), driver.item(ref, "notify_accelerated_repayment")
    assert freeze.role == "credit_risk_officer" and notice.candidate_user == "cm_wang"
    assert driver.items(ref, "approve_classification") == []  # reviewed once the measures are done
    driver.do(ref, "freeze_line", "cro_gao", **MEASURE_FORMS["freeze_line"])
    driver.do(ref, "notify_accelerated_repayment", "cm_wang", **MEASURE_FORMS["notify_accelerated_repayment"])
    assert sorted(n.text.split(" carried out")[0] for n in notes(engine, "risk_liu", "warning_measure_done")) == \
        ["cm_wang", "cro_gao"]
    assert len(notes(engine, "cm_wang", "warning_measure_done")) == 1  # the freeze; not their own notice
    assert notes(engine, "plm_guo", "warning_measure_done") == []  # a person raised it: they hear, not plm
    assert len(driver.items(ref, "approve_classification")) == 1
