"""A loan's post-loan state stays flat over its life: finished inspection rounds leave the state (the audit trail
keeps them), and the loan page's diagram still shows the path they took."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.store.models import ProcessInstance, ProcessVersion

pytestmark = pytest.mark.usefixtures("engine_mode")


def one_round(engine, driver, clock, ref) -> None:
    due = next(i.next_timer_due for i in engine.loan(ref).instances if i.process_id == "post_loan")
    clock.set(due)
    engine.tick()
    driver.approve_reviews(ref)  # each quarter's classification review (classification_review_months)
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo")


def post_loan_state(engine) -> dict:
    with engine.db.reading() as session:
        return json.loads(session.scalar(select(ProcessInstance.state).join(ProcessVersion)
                                         .where(ProcessVersion.process_id == "post_loan")))


def test_the_state_does_not_grow_with_the_inspection_rounds(engine, driver, clock):
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    one_round(engine, driver, clock, ref)
    one_round(engine, driver, clock, ref)
    after_two = post_loan_state(engine)
    for _n in range(6):
        one_round(engine, driver, clock, ref)
    after_eight = post_loan_state(engine)
    assert after_eight["subprocesses"] == {}  # finished rounds are gone from the state
    assert len(after_eight["tasks"]) <= len(after_two["tasks"])
    assert len(json.dumps(after_eight)) < 1.2 * len(json.dumps(after_two))
    post_loan = next(i for i in engine.loan(ref, with_paths=True).instances if i.process_id == "post_loan")
    assert {"loan_disbursed_start", "assign_post_loan_manager", "on_site_inspection",
            "review_inspection_report"} <= set(post_loan.completed_steps)  # the diagram still shows the path taken
    assert "next_step" in post_loan.current_steps and "on_site_inspection>review_inspection_report" in post_loan.taken_flows
    assert driver.open_steps(ref) == ["revalue_collateral"]  # two years on, the collateral is due for revaluation
    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2029-06-30"}, actor="acct_ma") == 1
    driver.do(ref, "review_closure", "plh_luo")
    driver.do(ref, "archive_file", "plm_guo")
    assert engine.loan(ref).status == "closed"
