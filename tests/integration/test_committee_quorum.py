"""A credit committee is convened with a quorum, a vote without quorum reconvenes (never rejects the loan), and a
member who declares a conflict of interest (回避) neither votes nor counts."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import InvalidInput, NotAllowed
from engine.store.models import AuditEvent

pytestmark = pytest.mark.usefixtures("engine_mode")

MEMBERS = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]


def at_committee(driver) -> str:
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    assert driver.open_steps(ref) == ["convene_committee"]
    return ref


def lost_quorum(driver) -> str:
    """Five convened, one declares a conflict of interest, four vote: no quorum."""
    ref = at_committee(driver)
    five = ["member1", "member2", "member3", "member4", "chair_huang"]
    convene(driver, ref, five)
    driver.do(ref, "committee_vote", "member1", decision="recuse", reason="My brother-in-law owns the borrower.")
    for member in five[1:]:
        driver.do(ref, "committee_vote", member)
    return ref


def convene(driver, ref, members):
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")


@pytest.mark.parametrize("members, words", [
    (["member1", "member2", "member3", "chair_huang"], "at least 5"),
    (["member1", "member2", "member3", "member4", "member5", "member6"], "chair"),
])
def test_a_committee_without_quorum_cannot_be_convened(engine, driver, members, words):
    ref = at_committee(driver)
    with pytest.raises(InvalidInput) as excinfo:
        convene(driver, ref, members)
    template, params = excinfo.value.field_templates["committee_members"]
    assert words in template % params
    assert driver.open_steps(ref) == ["convene_committee"]


def test_a_vote_that_loses_its_quorum_reconvenes_and_never_rejects(engine, driver):
    ref = lost_quorum(driver)
    assert driver.open_steps(ref) == ["convene_committee"]
    assert engine.loan(ref).status not in ("rejected", "closed")
    convene(driver, ref, ["member2", "member3", "member4", "member5", "member6", "chair_huang"])
    for member in ["member2", "member3", "member4", "member5", "member6", "chair_huang"]:
        driver.do(ref, "committee_vote", member)
    assert driver.open_steps(ref) == ["chair_veto"]


def test_a_recused_member_does_not_count_and_the_rest_decide(engine, driver):
    ref = at_committee(driver)
    convene(driver, ref, MEMBERS)
    driver.do(ref, "committee_vote", "member1", decision="recuse", reason="I advised the borrower last year.")
    driver.do(ref, "committee_vote", "member2", decision="reject", reason="Too concentrated.")
    for member in MEMBERS[2:]:
        driver.do(ref, "committee_vote", member)
    assert driver.open_steps(ref) == ["chair_veto"]  # 4 of the 5 votes counted approve: 2/3 passed
    task = engine.task("chair_huang", driver.item(ref, "chair_veto").id)
    result = task.data["committee_result"]
    assert (result["cast"], result["approvals"], result["present"]) == (5, 4, 5)
    assert any("member1" in note for note in result["rule_notes"])


def test_a_member_who_declared_a_conflict_cannot_vote_on_the_loan_again(engine, driver):
    ref = lost_quorum(driver)
    assert driver.open_steps(ref) == ["convene_committee"]  # no quorum: reconvene
    with pytest.raises(InvalidInput) as excinfo:
        convene(driver, ref, ["member1", "member2", "member3", "member5", "member6", "chair_huang"])
    template, params = excinfo.value.field_templates["committee_members"]
    assert "member1" in template % params


def test_the_chair_closes_the_meeting_with_those_present_when_votes_are_overdue(engine, driver, clock):
    ref = at_committee(driver)
    seven = ["member1", "member2", "member3", "member4", "member5", "member6", "chair_huang"]
    convene(driver, ref, seven)
    for member in ["member1", "member2", "member3", "member4", "chair_huang"]:
        driver.do(ref, "committee_vote", member)
    with pytest.raises(InvalidInput, match="still have until"):
        engine.close_meeting("chair_huang", ref, "Two members are abroad.", source="cli")
    late = driver.item(ref, "committee_vote", "member5")
    clock.set(late.due_at + timedelta(minutes=1))
    engine.tick()
    rows, _total = engine.inbox("chair_huang", "escalated")  # the missing votes are reported to the chair
    assert sorted(r.candidate_user for r in rows) == ["member5", "member6"]
    with pytest.raises(NotAllowed):
        engine.close_meeting("member1", ref, "I want to go home.", source="cli")
    assert engine.close_meeting("chair_huang", ref, "Two members are abroad.", source="cli") == ["member5", "member6"]
    assert driver.open_steps(ref) == ["chair_veto"]  # 5 of 7 present with the chair: quorum, and 5 of 5 approve
    result = engine.task("chair_huang", driver.item(ref, "chair_veto").id).data["committee_result"]
    assert (result["present"], result["cast"], result["approvals"]) == (5, 5, 5)
    with engine.db.reading() as session:
        [closed] = session.query(AuditEvent).filter_by(action="meeting_closed").all()
        assert closed.actor == "chair_huang" and closed.detail["absent"] == ["member5", "member6"]


def test_a_meeting_closed_without_quorum_reconvenes(engine, driver, clock):
    ref = at_committee(driver)
    convene(driver, ref, MEMBERS)  # six convened; four present is below the minimum of five
    for member in ["member1", "member2", "member3", "chair_huang"]:
        driver.do(ref, "committee_vote", member)
    clock.set(driver.item(ref, "committee_vote", "member4").due_at + timedelta(minutes=1))
    engine.close_meeting("chair_huang", ref, "Members did not come.", source="cli")
    assert driver.open_steps(ref) == ["convene_committee"]
    assert engine.loan(ref).status == "active"
