"""Leave, delegation to a stand-in, the origination block and post-loan staffing."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from policies import (
    N_, Actor, Decision, DutyAct, DutyConflict, Grant, LoanFacts, OnLeave, OriginationBlocked,
    PolicyRefusal, Request, choose_inspection_assistant, default_policy,
)

POLICY = default_policy()
NOW = datetime(2026, 7, 1, 2, 0, tzinfo=timezone.utc)
EARLIER = datetime(2026, 6, 10, 2, 0, tzinfo=timezone.utc)
LOAN = LoanFacts("L-5", Decimal("800000"), "SH01", "working_capital", "cm_orig")


def cm(name, **flags):
    return Actor(name, (Grant("customer_manager", "SH01"), Grant("post_loan_manager", "SH01")), **flags)


def rm(name, **flags):
    return Actor(name, (Grant("risk_manager", "SH01", Decimal("3000000")),), **flags)


def act(user, duty, on_behalf_of=None):
    return DutyAct(user, duty, LOAN.loan_id, EARLIER, "origination", on_behalf_of=on_behalf_of)


# ---------------------------------------------------------------- leave


def test_actor_on_leave_gets_no_work():
    decision = POLICY.check(Request(rm("rm1", on_leave=True), "approve", LOAN, (), NOW, role="risk_manager"))
    assert decision.kind == "OnLeave" and decision.rule == "LEAVE-01"
    with pytest.raises(OnLeave):
        raise decision.as_error()


def test_leave_is_checked_before_everything_else():
    history = (act("rm1", "investigate"),)
    decision = POLICY.check(Request(rm("rm1", on_leave=True), "approve", LOAN, history, NOW))
    assert decision.kind == "OnLeave"


# ---------------------------------------------------------------- delegation


def test_stand_in_may_act_for_a_principal_on_leave_and_it_is_recorded():
    decision = POLICY.check(Request(rm("standin"), "approve", LOAN, (), NOW, role="risk_manager",
                                    acting_for=rm("rm1", on_leave=True)))
    assert decision.allowed
    assert decision.on_behalf_of == "rm1" and decision.params["on_behalf_of"] == "rm1"


def test_stand_in_refused_by_a_pair_on_their_own_acts():
    history = (act("standin", "investigate"),)
    decision = POLICY.check(Request(rm("standin"), "approve", LOAN, history, NOW, role="risk_manager",
                                    acting_for=rm("rm1", on_leave=True)))
    assert decision.kind == "DutyConflict" and decision.rule == "SOD-01"
    assert decision.message.startswith("You investigated loan L-5 on 2026-06-10;")
    assert decision.on_behalf_of == "rm1"
    with pytest.raises(DutyConflict):
        raise decision.as_error()


def test_stand_in_refused_by_a_pair_on_the_principals_acts():
    history = (act("rm1", "investigate"),)
    decision = POLICY.check(Request(rm("standin"), "approve", LOAN, history, NOW, role="risk_manager",
                                    acting_for=rm("rm1", on_leave=True)))
    assert decision.kind == "DutyConflict"
    assert decision.message.startswith("rm1, for whom you are acting, investigated loan L-5 on 2026-06-10;")


def test_stand_in_on_leave_is_refused():
    decision = POLICY.check(Request(rm("standin", on_leave=True), "approve", LOAN, (), NOW,
                                    acting_for=rm("rm1", on_leave=True)))
    assert decision.kind == "OnLeave"


def test_stand_in_needs_their_own_grant():
    decision = POLICY.check(Request(cm("standin"), "approve", LOAN, (), NOW, role="risk_manager",
                                    acting_for=rm("rm1", on_leave=True)))
    assert decision.kind == "RoleMissing"


def test_stand_in_for_the_originator_cannot_become_post_loan_manager():
    decision = POLICY.check(Request(cm("standin"), "post_loan_manager", LOAN, (), NOW,
                                    acting_for=cm("cm_orig", on_leave=True)))
    assert decision.kind == "DutyConflict" and decision.rule == "SOD-06"
    assert "cm_orig, for whom you are acting, is the originator" in decision.message


# ---------------------------------------------------------------- origination block


def test_blocked_customer_manager_cannot_originate():
    decision = POLICY.check(Request(cm("cm1", origination_blocked=True), "originate", LOAN, (), NOW))
    assert decision.kind == "OriginationBlocked" and decision.rule == "BLOCK-01"
    assert "2 missed post-loan inspections" in decision.message
    with pytest.raises(OriginationBlocked):
        raise decision.as_error()


def test_blocked_customer_manager_may_still_do_other_work():
    assert POLICY.check(Request(cm("cm1", origination_blocked=True), "investigate", LOAN, (), NOW)).allowed


def test_block_cannot_be_circumvented_through_a_stand_in():
    decision = POLICY.check(Request(cm("standin"), "originate", LOAN, (), NOW,
                                    acting_for=cm("cm1", origination_blocked=True)))
    assert decision.kind == "OriginationBlocked"


def test_lifting_the_block_allows_origination():
    assert POLICY.check(Request(cm("cm1"), "originate", LOAN, (), NOW)).allowed


@pytest.mark.parametrize("missed, blocked", [(0, False), (1, False), (2, True), (5, True)])
def test_missed_inspections_that_block(missed, blocked):
    assert POLICY.blocks_origination(missed) is blocked


# ---------------------------------------------------------------- post-loan staffing


def test_post_loan_manager_is_never_the_originator_or_an_investigator():
    history = (act("cm_orig", "originate"), act("cm_orig", "investigate"), act("cm2", "assist_investigation"))
    verdicts = dict(POLICY.eligible("post_loan_manager", LOAN, [cm("cm_orig"), cm("cm2"), cm("plm1")], history, NOW))
    assert verdicts["cm_orig"].rule == "SOD-06"
    assert verdicts["cm2"].rule == "SOD-06"
    assert verdicts["plm1"].allowed


def test_inspection_assistant_is_the_originator_when_available():
    assert choose_inspection_assistant(cm("cm_orig"), [cm("cm2")]) == "cm_orig"
    assert choose_inspection_assistant(cm("cm_orig", on_leave=True), [cm("cm2", on_leave=True), cm("cm3")]) == "cm3"
    assert choose_inspection_assistant(cm("cm_orig", on_leave=True), []) is None


def test_inspection_assistant_respects_the_pairs():
    history = (act("cm_orig", "investigate"), act("plm1", "lead_inspection"))
    pick = POLICY.choose_inspection_assistant(cm("cm_orig"), [cm("plm1"), cm("cm3")], LOAN, history, NOW)
    assert pick == "cm_orig"
    pick = POLICY.choose_inspection_assistant(cm("cm_orig", on_leave=True), [cm("plm1"), cm("cm3")], LOAN, history, NOW)
    assert pick == "cm3"  # plm1 led an inspection of this loan (SOD-07)


# ---------------------------------------------------------------- values


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        DutyAct("u", "investigate", "L", datetime(2026, 1, 1), "origination")
    with pytest.raises(ValueError, match="timezone-aware"):
        Request(cm("u"), "investigate", LOAN, (), datetime(2026, 1, 1))


def test_money_is_decimal_never_float():
    with pytest.raises(TypeError):
        LoanFacts("L", 1000000.0, "SH01", "p", "o")
    assert LoanFacts("L", 1000000, "SH01", "p", "o").amount == Decimal("1000000")
    assert Grant("risk_manager", limit="3000000").limit == Decimal("3000000")


def test_allowed_decision_is_not_an_error():
    decision = POLICY.check(Request(cm("cm1"), "investigate", LOAN, (), NOW))
    assert decision.allowed and decision.policy_version == "2026.3"
    with pytest.raises(ValueError):
        decision.as_error()


def test_message_is_the_template_filled_with_params():
    decision = Decision(False, "X-1", N_("You %(what)s."), {"what": "did it"}, kind="Unknown")
    assert decision.message == "You did it." and str(decision) == "You did it."
    assert type(decision.as_error()) is PolicyRefusal


def test_unknown_duty_is_a_programming_error():
    with pytest.raises(ValueError, match="not defined in policy 2026.3"):
        POLICY.check(Request(cm("cm1"), "approve_everything", LOAN, (), NOW))


def test_explain_lists_every_rule():
    request = Request(cm("cm1"), "investigate", LOAN, (), NOW + timedelta(days=1))
    ids = [d.rule for d in POLICY.explain(request)]
    assert set(ids) == {r.id for r in POLICY.rules} - {"COM-04", "COM-05", "COM-06", "COM-07", "AUTH-03"}
