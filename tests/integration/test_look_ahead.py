"""The look-ahead trap: nobody is offered a task whose completion would make a task already theirs impossible,
and a supervisor can hand an open task to someone else (under the same pair rules, with a reason, audited)."""
from __future__ import annotations

import pytest

from engine.access import PolicyDenied
from engine.errors import InvalidInput, NotAllowed
from engine.store.models import AuditEvent

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
