"""A credit committee is convened with a quorum, a vote without quorum reconvenes (never rejects the loan), and a
member who declares a conflict of interest (回避) neither votes nor counts."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput

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
