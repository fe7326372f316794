"""The look-ahead trap: nobody is offered a task whose completion would make a task already theirs impossible,
and a supervisor can hand an open task to someone else (under the same pair rules, with a reason, audited)."""
from __future__ import annotations

from datetime import date

import pytest

from engine.access import PolicyDenied
from engine.errors import InvalidInput, NotAllowed
from engine.store.models import AuditEvent

from .conftest import FORMS

pytestmark = pytest.mark.usefixtures("engine_mode")


def large_loan(driver) -> str:
    ref = driver.start(amount=8_000_000)  # two-person investigation: cm_wang leads (assigned), someone assists
    assert driver.open_steps(ref) == ["assist_investigation", "investigate"]
    return ref


def test_the_originator_is_not_offered_the_assistance_on_his_own_investigation(engine, driver):
    ref = large_loan(driver)
    assist = driver.item(ref, "assist_investigation")
    available, _total = engine.inbox("cm_wang", "available")
    assert assist.id not in [i.id for i in available]
    assert assist.id in [i.id for i in engine.inbox("cm_li", "available")[0]]
    with pytest.raises(PolicyDenied) as refused:
        engine.claim("cm_wang", assist.id, source="cli")
    assert "调查借款人" in str(refused.value)  # the task as the BPMN names it
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "investigate", "cm_wang")  # the assigned task stays his to do
    assert driver.open_steps(ref) == ["review"]


def test_a_branch_head_reassigns_a_task_with_a_reason(engine, driver):
    ref = large_loan(driver)
    investigate = driver.item(ref, "investigate")
    with pytest.raises(NotAllowed):
        engine.reassign("cm_li", investigate.id, "cm_zhao", "I am not the head", source="cli")
    with pytest.raises(InvalidInput):
        engine.reassign("head_qian", investigate.id, "cm_zhao", "  ", source="cli")
    with pytest.raises(InvalidInput) as refused:  # the reviewer may not investigate (no grant)
        engine.reassign("head_qian", investigate.id, "rev_chen", "cm_wang is ill", source="cli")
    assert "to_user" in refused.value.field_templates
    engine.reassign("head_qian", investigate.id, "cm_zhao", "cm_wang is ill", source="cli")
    assert driver.item(ref, "investigate").candidate_user == "cm_zhao"
    driver.do(ref, "investigate", "cm_zhao")
    with engine.db.reading() as session:
        event = session.query(AuditEvent).filter_by(action="task_reassigned").one()
        assert (event.actor, event.reason, event.detail["after"]["assigned_to"]) == ("head_qian", "cm_wang is ill",
                                                                                       "cm_zhao")


def test_a_committee_vote_is_never_handed_to_someone_else(engine, driver):
    from tests.integration.test_committee_quorum import MEMBERS, at_committee, convene
    ref = at_committee(driver)
    convene(driver, ref, MEMBERS)
    vote = driver.item(ref, "committee_vote", "member1")
    with pytest.raises(NotAllowed):
        engine.reassign("head_qian", vote.id, "member6", "member1 is away", source="cli")


def test_completing_a_task_that_would_keep_you_from_your_own_assigned_task_is_refused(engine, driver):
    """plm_guo leads the inspection (assigned to him); also a customer manager, he may not first assist it (SOD-07):
    the completion is refused naming the inspection, and the loan is unchanged."""
    engine.grant_role("plm_guo", "customer_manager", "BJ01")
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    engine.record_leave("cm_wang", date(2026, 11, 16), date(2026, 11, 30))  # the assistance goes to every manager
    driver.clock.advance(days=16)
    engine.tick()
    lead, assist = driver.item(ref, "lead_inspection"), driver.item(ref, "assist_inspection")
    assert (lead.candidate_user, assist.candidate_user) == ("plm_guo", None)
    with pytest.raises(NotAllowed) as refusal:
        engine.complete("plm_guo", assist.id, FORMS["assist_inspection"])
    assert "keep you from" in str(refusal.value) and refusal.value.code == "would_block_own_task"
    assert {driver.item(ref, "lead_inspection").id, driver.item(ref, "assist_inspection").id} == {lead.id, assist.id}
