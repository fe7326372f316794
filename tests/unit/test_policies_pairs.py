"""Every pair of the 不相容职务 table: refused for the same person, allowed for another."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from policies import (
    Actor, DutyAct, DutyConflict, Grant, LoanFacts, Request, default_policy,
)

POLICY = default_policy()
T_INVESTIGATED = datetime(2026, 11, 3, 1, 30, tzinfo=timezone.utc)  # 09:30 Beijing, 2026-11-03
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
LOAN = LoanFacts("L-2026-0042", Decimal("1000000"), "SH01", "working_capital", "cm_orig")


def anyone(username: str) -> Actor:
    """A user holding every role bank-wide, so only the pair rules can refuse."""
    limit = Decimal("1000000000")
    grants = tuple(Grant(role, None, limit if role == "risk_manager" else None) for role in POLICY.roles)
    return Actor(username, grants)


def act(username, duty, loan_id=LOAN.loan_id, when=T_INVESTIGATED, subject=None, on_behalf_of=None):
    return DutyAct(username, duty, loan_id, when, "origination", on_behalf_of=on_behalf_of, subject=subject)


def ask(username, duty, history, loan=LOAN, subject=None, acting_for=None):
    return POLICY.check(Request(anyone(username), duty, loan, tuple(history), NOW,
                                acting_for=acting_for, subject=subject))


# (rule id, earlier duty, later duty, subject, loan) - the later duty by the same person is refused
CASES = [
    ("SOD-01", "investigate", "approve", None, LOAN),
    ("SOD-01", "investigate", "review", None, LOAN),
    ("SOD-01", "assist_investigation", "vote", None, LOAN),
    ("SOD-01", "investigate", "chair_veto", None, LOAN),
    ("SOD-01", "approve", "investigate", None, LOAN),  # pairs hold in either order
    ("SOD-02", "investigate", "assist_investigation", None, LOAN),
    ("SOD-02", "assist_investigation", "investigate", None, LOAN),
    ("SOD-03", "investigate", "review_disbursement", None, LOAN),
    ("SOD-03", "approve", "review_disbursement", None, LOAN),
    ("SOD-03", "vote", "review_disbursement", None, LOAN),
    ("SOD-04", "investigate", "execute_payment", None, LOAN),
    ("SOD-05", "investigate", "lead_inspection", None, LOAN),
    ("SOD-05", "originate", "lead_inspection", None, LOAN),
    ("SOD-06", "investigate", "post_loan_manager", None, LOAN),
    ("SOD-06", "assist_investigation", "post_loan_manager", None, LOAN),
    ("SOD-07", "lead_inspection", "assist_inspection", None, LOAN),
    ("SOD-08", "assist_inspection", "review_inspection_report", None, LOAN),
    ("SOD-08", "lead_inspection", "decide_disposition", None, LOAN),
    ("SOD-09", "raise_warning", "decide_warning", "W-7", LOAN),
    ("SOD-10", "propose_classification", "approve_classification", "CP-3", LOAN),
    ("SOD-11", "investigate", "register_collateral", None, LOAN),
    ("SOD-12", "design_process", "approve_deployment", "origination@v4", None),
    ("SOD-12", "edit_policy", "approve_deployment", "policy@2026.4", None),
    ("SOD-13", "approve", "approve", None, LOAN),
    ("SOD-14", "propose_workout", "approve_workout", "WO-1", LOAN),
    ("SOD-15", "investigate", "approve_workout", None, LOAN),
    ("SOD-15", "vote", "propose_workout", None, LOAN),
    ("SOD-16", "post_loan_manager", "review_closure", None, LOAN),
    ("SOD-16", "archive_file", "review_closure", None, LOAN),
    ("SOD-17", "propose_collateral_release", "approve_collateral_release", None, LOAN),
    ("SOD-18", "propose_accountability", "decide_accountability", "AF-1", LOAN),
    ("SOD-19", "approve", "decide_accountability", None, LOAN),
    ("SOD-19", "investigate", "propose_accountability", None, LOAN),
]


def test_every_pair_rule_has_a_case():
    assert {c[0] for c in CASES} == {r.id for r in POLICY.pairs}


@pytest.mark.parametrize("rule_id, earlier, later, subject, loan", CASES)
def test_same_person_is_refused(rule_id, earlier, later, subject, loan):
    history = [act("u1", earlier, loan.loan_id if loan else None, subject=subject)]
    decision = ask("u1", later, history, loan=loan, subject=subject)
    assert not decision.allowed
    assert decision.kind == "DutyConflict"
    assert decision.rule == rule_id
    assert decision.conflicting == history[0]
    assert "2026-11-03" in decision.message
    assert POLICY.duty_specs[earlier].done in decision.message
    assert rule_id in decision.message
    with pytest.raises(DutyConflict) as err:
        raise decision.as_error()
    assert err.value.rule == rule_id


@pytest.mark.parametrize("rule_id, earlier, later, subject, loan", CASES)
def test_another_person_is_allowed(rule_id, earlier, later, subject, loan):
    history = [act("u1", earlier, loan.loan_id if loan else None, subject=subject)]
    decision = ask("u2", later, history, loan=loan, subject=subject)
    assert decision.allowed, decision.message
    assert decision.rule is None


def test_message_names_the_earlier_act_and_both_duties():
    decision = ask("cm1", "approve", [act("cm1", "investigate")])
    assert decision.message == (
        "You investigated loan L-2026-0042 on 2026-11-03; investigate and approve must be different "
        "people (SOD-01 investigation and approval separated)."
    )
    assert decision.params["date"] == "2026-11-03"
    assert decision.params["rule_name_zh"] == "审贷分离"


def test_message_date_is_the_beijing_business_date():
    late_evening_utc = datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc)  # 01:00 on 11-03 in Beijing
    decision = ask("cm1", "approve", [act("cm1", "investigate", when=late_evening_utc)])
    assert decision.params["date"] == "2026-11-03"


def test_pairs_hold_across_processes_of_the_same_loan():
    history = [DutyAct("cm1", "investigate", LOAN.loan_id, T_INVESTIGATED, "origination")]
    decision = POLICY.check(Request(anyone("cm1"), "lead_inspection", LOAN, tuple(history), NOW))
    assert decision.kind == "DutyConflict" and decision.rule == "SOD-05"


def test_acts_on_another_loan_do_not_conflict():
    assert ask("u1", "approve", [act("u1", "investigate", loan_id="L-OTHER")]).allowed


def test_the_originator_may_assist_inspections():
    history = [act("cm_orig", "originate"), act("cm_orig", "investigate")]
    assert ask("cm_orig", "assist_inspection", history).allowed


def test_the_originator_is_known_from_the_loan_even_without_a_recorded_act():
    decision = ask("cm_orig", "post_loan_manager", [])
    assert decision.kind == "DutyConflict" and decision.rule == "SOD-06"
    assert decision.message.startswith("You are the originator of loan L-2026-0042;")
    assert decision.conflicting is None


def test_earliest_conflicting_act_is_named():
    later = T_INVESTIGATED + timedelta(days=2)
    history = [act("u1", "assist_investigation", when=later), act("u1", "investigate")]
    decision = ask("u1", "approve", history)
    assert decision.conflicting.duty == "investigate"


def test_subject_scope_allows_deciding_another_warning():
    history = [act("u1", "raise_warning", subject="W-7")]
    assert ask("u1", "decide_warning", history, subject="W-8").allowed
    refused = ask("u1", "decide_warning", history, subject="W-7")
    assert refused.rule == "SOD-09"
    assert refused.message.startswith("You raised a warning on loan L-2026-0042 (W-7) on 2026-11-03;")


def test_subject_scope_falls_back_to_the_loan_when_no_subject_is_known():
    history = [act("u1", "raise_warning", subject=None)]
    assert ask("u1", "decide_warning", history, subject="W-8").rule == "SOD-09"


def test_four_eyes_on_deployment_without_a_loan():
    history = [act("des1", "design_process", loan_id=None, subject="origination@v4")]
    decision = ask("des1", "approve_deployment", history, loan=None, subject="origination@v4")
    assert decision.message.startswith("You designed origination@v4 on 2026-11-03;")
    assert ask("des1", "approve_deployment", history, loan=None, subject="origination@v5").allowed


def test_a_duty_checked_by_pairs_needs_a_loan_or_subject():
    with pytest.raises(ValueError, match="SOD-12"):
        ask("des1", "approve_deployment", [], loan=None, subject=None)


def test_acts_done_on_my_behalf_count_as_mine():
    history = [act("standin", "investigate", on_behalf_of="cm1")]
    decision = ask("cm1", "approve", history)
    assert decision.kind == "DutyConflict" and decision.rule == "SOD-01"
