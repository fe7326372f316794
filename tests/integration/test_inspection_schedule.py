"""Post-loan inspections follow the schedule from the disbursement: the first one is counted from the day the money
went out (not from when a manager was assigned), later ones never drift, and a miss is charged to whoever led it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.store.models import User

pytestmark = pytest.mark.usefixtures("engine_mode")

BEIJING = timezone(timedelta(hours=8))


def disbursed(driver) -> str:
    ref = driver.start()  # working capital for a small enterprise: first inspection within 15 days
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    return ref


def lead_days(engine) -> int:
    return engine.policy.params["inspection_lead_days"]


def post_loan_timer(engine, ref):
    return next(i.next_timer_due for i in engine.loan(ref).instances if i.process_id == "post_loan")


def test_the_first_inspection_is_due_15_days_after_disbursement_even_if_the_manager_is_assigned_late(engine, driver,
                                                                                                       clock):
    ref = disbursed(driver)  # disbursed on Monday 2026-11-02
    clock.advance(days=8)  # the post-loan head assigns a manager eight days later
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    reminder = datetime(2026, 11, 17, 9, 0, tzinfo=BEIJING) - timedelta(days=lead_days(engine))
    assert post_loan_timer(engine, ref) == reminder
    clock.set(reminder - timedelta(minutes=1))
    engine.tick()
    assert "lead_inspection" not in driver.open_steps(ref)
    clock.set(reminder)
    engine.tick()
    assert "lead_inspection" in driver.open_steps(ref)  # in time to be done by the 17th


def test_later_inspections_follow_the_schedule_not_the_day_the_last_one_ended(engine, driver, clock):
    ref = disbursed(driver)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    clock.set(datetime(2026, 11, 17, 9, 0, tzinfo=BEIJING))
    engine.tick()
    clock.advance(days=8)  # done eight days late, inside the grace period
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo")
    # quarterly from the first due date (2026-11-17), not from the 25th
    assert post_loan_timer(engine, ref) == datetime(2027, 2, 17, 9, 0, tzinfo=BEIJING) - timedelta(
        days=lead_days(engine))


def test_a_missed_inspection_is_charged_to_the_manager_who_leads_it(engine, driver, clock):
    ref = disbursed(driver)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    reminder = datetime(2026, 11, 17, 9, 0, tzinfo=BEIJING) - timedelta(days=lead_days(engine))
    clock.set(reminder)
    engine.tick()  # the inspection task appears
    clock.set(datetime(2026, 11, 17, 9, 0, tzinfo=BEIJING) + timedelta(days=engine.policy.params["inspection_grace_days"],
                                                                      minutes=-1))
    engine.tick()  # still within the grace period after the due date
    with engine.db.reading() as session:
        assert not session.query(User).filter_by(username="plm_guo").one().missed_inspections
    clock.advance(minutes=2)
    engine.tick()  # and still open when the grace period is over
    with engine.db.reading() as session:
        missed = {u.username: u.missed_inspections for u in session.query(User)}
    assert missed["plm_guo"] == 1 and not missed.get("cm_wang")
