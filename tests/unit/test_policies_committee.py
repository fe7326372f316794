"""Credit committee: eligibility, quorum, the 2/3 pass line, veto window, strictest conditions."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from policies import Actor, DutyAct, Grant, LoanFacts, NotEligibleVoter, default_policy

POLICY = default_policy()
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)
LOAN = LoanFacts("L-9", Decimal("12000000"), "SH01", "working_capital", "cm_orig", "branch_committee")


def member(name, branch="SH01", role="committee_member", on_leave=False):
    return Actor(name, (Grant(role, branch),), on_leave=on_leave)


def votes(*decisions):
    return [{"member": f"m{i}", "decision": d, "conditions": "", "reason": "r"} for i, d in enumerate(decisions)]


def members(n):
    return [f"m{i}" for i in range(n)]


# ---------------------------------------------------------------- eligibility


def verdicts(candidates, history=(), level="branch_committee", recused=()):
    return dict(POLICY.eligible_voters(LOAN, candidates, history, level, now=NOW, recused=recused))


def test_plain_members_are_eligible():
    result = verdicts([member("m1"), member("chair", role="committee_chair")])
    assert all(d.allowed for d in result.values())


def test_presenter_is_not_eligible():
    presenter = Actor("cm_orig", (Grant("committee_member", "SH01"), Grant("customer_manager", "SH01")))
    decision = verdicts([presenter])["cm_orig"]
    assert decision.kind == "NotEligibleVoter" and decision.rule == "COM-01"
    assert "present loan L-9" in decision.message
    with pytest.raises(NotEligibleVoter):
        raise decision.as_error()


def test_anyone_who_worked_on_the_file_is_not_eligible():
    history = [DutyAct("m1", "review", "L-9", datetime(2026, 5, 20, 2, tzinfo=timezone.utc), "origination")]
    decision = verdicts([member("m1"), member("m2")], history)
    assert decision["m1"].kind == "NotEligibleVoter" and decision["m1"].rule == "COM-02"
    assert "reviewed loan L-9 on 2026-05-20" in decision["m1"].message
    assert decision["m2"].allowed


def test_investigator_is_refused_by_the_pair_rule():
    history = [DutyAct("m1", "assist_investigation", "L-9", NOW - timedelta(days=9), "origination")]
    decision = verdicts([member("m1")], history)["m1"]
    assert decision.kind == "DutyConflict" and decision.rule == "SOD-01"


def test_recused_member_is_not_eligible():
    decision = verdicts([member("m1"), member("m2")], recused={"m2"})
    assert decision["m1"].allowed
    assert decision["m2"].kind == "NotEligibleVoter" and decision["m2"].rule == "COM-03"


def test_member_of_another_branch_or_on_leave_is_not_eligible():
    decision = verdicts([member("m1", branch="BJ02"), member("m2", on_leave=True)])
    assert decision["m1"].kind == "RoleMissing"
    assert decision["m2"].kind == "OnLeave"


def test_head_office_level_needs_head_office_members():
    decision = verdicts([member("m1", branch="HO"), member("m2")], level="head_office_committee")
    assert decision["m1"].allowed and decision["m2"].kind == "RoleMissing"


def test_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="not a committee level"):
        verdicts([member("m1")], level="dual_signature")


# ---------------------------------------------------------------- quorum


def test_exactly_at_quorum():
    out = POLICY.tally(votes(*["approve"] * 6), members(6), "m0", committee_size=9)
    assert out.quorum_met and out.outcome == "approved" and out.present == 6


def test_one_below_quorum():
    out = POLICY.tally(votes(*["approve"] * 5), members(5), "m0", committee_size=9)
    assert not out.quorum_met and out.outcome == "no_quorum"
    assert out.rule_notes[0].startswith("COM-04")


def test_two_thirds_present_but_fewer_than_five_members():
    out = POLICY.tally(votes("approve", "approve", "approve", "approve"), members(4), "m0", committee_size=6)
    assert not out.quorum_met


def test_chair_must_be_present():
    out = POLICY.tally(votes(*["approve"] * 6), members(6), "chair_absent", committee_size=6)
    assert out.outcome == "no_quorum"
    assert POLICY.tally(votes(*["approve"] * 6), members(6), None, committee_size=6).outcome == "no_quorum"


def test_recused_members_do_not_count_toward_quorum_or_votes():
    out = POLICY.tally(votes(*["approve"] * 6), members(6), "m0", committee_size=6, recused=["m5"])
    assert out.present == 5 and out.cast == 5 and out.quorum_met  # 5 of 6 >= 2/3 and >= 5
    out = POLICY.tally(votes(*["approve"] * 6), members(6), "m0", committee_size=9, recused=["m5"])
    assert not out.quorum_met  # 6 of 9 present would be 2/3, but only 5 count
    assert any(n.startswith("COM-03") for n in out.rule_notes)


# ---------------------------------------------------------------- pass line


def test_four_of_six_is_exactly_two_thirds_and_passes():
    out = POLICY.tally(votes("approve", "approve", "approve", "approve", "reject", "reject"), members(6), "m0", 6)
    assert (out.approvals, out.rejections, out.cast) == (4, 2, 6)
    assert out.outcome == "approved" and out.resolution == "approve"


def test_three_of_five_fails():
    out = POLICY.tally(votes("approve", "approve", "approve", "reject", "reject"), members(5), "m0", 5)
    assert out.outcome == "rejected" and out.resolution == "reject"


def test_pass_line_counts_votes_cast_not_members_present():
    out = POLICY.tally(votes("approve", "approve", "reject"), members(6), "m0", 6)  # three abstain
    assert out.cast == 3 and out.outcome == "approved"


def test_no_votes_cast_does_not_pass():
    assert POLICY.tally([], members(6), "m0", 6).outcome == "rejected"


def test_votes_from_absent_people_are_ignored():
    ballot = votes(*["approve"] * 5) + [{"member": "outsider", "decision": "reject", "conditions": "", "reason": ""}]
    out = POLICY.tally(ballot, members(5), "m0", 5)
    assert out.cast == 5 and any("outsider" in n for n in out.rule_notes)


def test_bad_ballots_are_errors():
    with pytest.raises(ValueError, match="voted twice"):
        POLICY.tally(votes("approve") * 2, members(5), "m0", 5)
    with pytest.raises(ValueError, match="decision must be one of"):
        POLICY.tally(votes("yes"), members(5), "m0", 5)
    with pytest.raises(ValueError, match="committee has only"):
        POLICY.tally([], members(6), "m0", 5)


def test_strictest_conditions_apply_and_are_combined():
    ballot = votes("approve", "approve_with_conditions", "approve_with_conditions", "approve", "approve")
    ballot[1]["conditions"] = "add guarantor"
    ballot[2]["conditions"] = "freeze undrawn line"
    out = POLICY.tally(ballot, members(5), "m0", 5)
    assert out.outcome == "approved" and out.resolution == "approve_with_conditions"
    assert out.conditions == "add guarantor; freeze undrawn line"
    assert any(n.startswith("COM-07") for n in out.rule_notes)


def test_conditions_are_dropped_when_rejected():
    ballot = votes("approve_with_conditions", "reject", "reject", "reject", "approve")
    ballot[0]["conditions"] = "x"
    out = POLICY.tally(ballot, members(5), "m0", 5)
    assert out.outcome == "rejected" and out.conditions == ""


# ---------------------------------------------------------------- chair veto


TALLY = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("after, allowed", [
    (timedelta(0), True),
    (timedelta(hours=23, minutes=59), True),
    (timedelta(hours=24), True),
    (timedelta(hours=24, seconds=1), False),
    (timedelta(days=3), False),
    (timedelta(minutes=-1), False),
])
def test_veto_window(after, allowed):
    assert POLICY.veto_allowed(TALLY, TALLY + after) is allowed


def test_veto_window_compares_instants_across_timezones():
    beijing = timezone(timedelta(hours=8))
    assert POLICY.veto_allowed(TALLY, (TALLY + timedelta(hours=23)).astimezone(beijing))


def test_veto_needs_aware_times():
    with pytest.raises(ValueError):
        POLICY.veto_allowed(TALLY.replace(tzinfo=None), TALLY)
