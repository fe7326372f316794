"""Personal limits, grant scope and dates, and the approval tier the amount requires."""
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import yaml

from policies import (
    Actor, AuthorityExceeded, DEFAULT_POLICY, Grant, LoanFacts, Request, RoleMissing, default_policy,
    parse_policy,
)

POLICY = default_policy()
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)
RM_LIMIT = Decimal("3000000")


def loan(amount, tier="dual_signature", loan_type="new", branch="SH01", exposure=None):
    return LoanFacts("L-1", Decimal(amount), branch, "working_capital", "cm_orig", tier, loan_type, exposure)


def risk_manager(limit=RM_LIMIT, branch="SH01", valid_from=None, valid_to=None):
    return Actor("rm1", (Grant("risk_manager", branch, limit, valid_from, valid_to),))


def approve(actor, the_loan, role="risk_manager"):
    return POLICY.check(Request(actor, "approve", the_loan, (), NOW, role=role))


def test_within_limit_is_allowed():
    assert approve(risk_manager(), loan("2500000")).allowed


def test_exactly_at_limit_is_allowed():
    assert approve(risk_manager(), loan("3000000")).allowed


def test_above_limit_is_refused_naming_amount_and_limit():
    decision = approve(risk_manager(limit=Decimal("1000000")), loan("2500000"))
    assert decision.kind == "AuthorityExceeded" and decision.rule == "AUTH-01"
    assert "2,500,000.00" in decision.message and "1,000,000.00" in decision.message
    with pytest.raises(AuthorityExceeded):
        raise decision.as_error()


def test_risk_manager_grant_without_a_limit_cannot_co_sign():
    decision = approve(risk_manager(limit=None), loan("100000"))
    assert decision.kind == "AuthorityExceeded" and decision.rule == "AUTH-01"


def test_customer_manager_limit_checked_only_when_the_grant_has_one():
    cm = Actor("cm2", (Grant("customer_manager", "SH01"),))
    assert approve(cm, loan("2000000"), role="customer_manager").allowed
    small = Actor("cm3", (Grant("customer_manager", "SH01", Decimal("500000")),))
    assert approve(small, loan("2000000"), role="customer_manager").rule == "AUTH-02"


def test_group_exposure_counts_against_the_limit():
    decision = approve(risk_manager(), loan("1000000", exposure=Decimal("2900000")))
    assert decision.allowed
    decision = approve(risk_manager(), loan("1000000", exposure=Decimal("3100000")))
    assert decision.kind == "AuthorityExceeded"


def test_branch_mismatch_is_role_missing():
    decision = approve(risk_manager(branch="BJ02"), loan("1000000"))
    assert decision.kind == "RoleMissing" and decision.rule == "ROLE-01"
    assert "SH01" in decision.message
    with pytest.raises(RoleMissing):
        raise decision.as_error()


def test_bank_wide_grant_covers_every_branch():
    assert approve(risk_manager(branch=None), loan("1000000", branch="GZ09")).allowed


def test_expired_grant_is_refused():
    decision = approve(risk_manager(valid_to=date(2026, 5, 31)), loan("1000000"))
    assert decision.kind == "RoleMissing"
    assert "2026-05-31" in decision.message and "2026-06-01" in decision.message


def test_grant_not_yet_valid_is_refused():
    assert approve(risk_manager(valid_from=date(2026, 6, 2)), loan("1000000")).kind == "RoleMissing"


def test_grant_valid_on_its_last_day():
    assert approve(risk_manager(valid_to=date(2026, 6, 1)), loan("1000000")).allowed


def test_duty_in_the_wrong_lane_is_refused():
    decision = POLICY.check(Request(risk_manager(), "approve", loan("1000000"), (), NOW, role="credit_reviewer"))
    assert decision.kind == "RoleMissing" and "customer_manager, risk_manager" in decision.message


def test_fifty_million_on_the_dual_signature_path_is_refused_whatever_the_limit():
    rich = risk_manager(limit=Decimal("100000000"))
    decision = approve(rich, loan("50000000", tier="dual_signature"))
    assert decision.kind == "AuthorityExceeded" and decision.rule == "TIER-01"
    assert "50,000,000.00" in decision.message and "3,000,000.00" in decision.message
    assert decision.params["required_tier"] == "head_office_committee"


def test_approve_without_a_recorded_tier_is_taken_as_dual_signature():
    decision = approve(risk_manager(limit=Decimal("100000000")), loan("5000000", tier=None))
    assert decision.rule == "TIER-01"


def test_extension_goes_one_tier_up():
    decision = approve(risk_manager(), loan("2000000", loan_type="extension"))
    assert decision.rule == "TIER-01" and decision.params["required_tier"] == "branch_committee"


def test_committee_vote_on_too_low_a_tier_is_refused():
    member = Actor("m1", (Grant("committee_member", "SH01"),))
    decision = POLICY.check(Request(member, "vote", loan("40000000", tier="branch_committee"), (), NOW))
    assert decision.kind == "AuthorityExceeded" and decision.rule == "TIER-01"
    assert "30,000,000.00" in decision.message


def test_head_office_committee_needs_a_head_office_grant():
    ho_member = Actor("m1", (Grant("committee_member", "HO"),))
    branch_member = Actor("m2", (Grant("committee_member", "SH01"),))
    big = loan("40000000", tier="head_office_committee")
    assert POLICY.check(Request(ho_member, "vote", big, (), NOW)).allowed
    assert POLICY.check(Request(branch_member, "vote", big, (), NOW)).kind == "RoleMissing"


@pytest.mark.parametrize("amount, loan_type, tier", [
    ("3000000", "new", "dual_signature"),
    ("3000000.01", "new", "branch_committee"),
    ("30000000", "new", "branch_committee"),
    ("30000001", "new", "head_office_committee"),
    ("100", "refinancing", "branch_committee"),
    ("20000000", "restructuring", "head_office_committee"),
    ("90000000", "extension", "head_office_committee"),
])
def test_min_tier(amount, loan_type, tier):
    assert POLICY.min_tier(Decimal(amount), loan_type) == tier


def test_min_tier_rejects_unknown_loan_type():
    with pytest.raises(ValueError, match="unknown loan type"):
        POLICY.min_tier(Decimal(1), "renewel")


def test_ceilings_are_parameters_not_constants():
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    doc["parameters"]["tier_ceiling_dual_signature"] = 5000000
    doc["version"] = "test.1"
    custom = parse_policy(yaml.safe_dump(doc, allow_unicode=True), "custom.yaml")
    assert custom.min_tier(Decimal("4000000")) == "dual_signature"
    rm = risk_manager(limit=Decimal("5000000"))
    assert custom.check(Request(rm, "approve", loan("4000000"), (), NOW, role="risk_manager")).allowed
    assert approve(rm, loan("4000000")).rule == "TIER-01"


def test_dual_investigation_threshold():
    assert not POLICY.needs_dual_investigation(loan("5000000"))
    assert POLICY.needs_dual_investigation(loan("5000000.01"))
    assert POLICY.needs_dual_investigation(replace(loan("1"), group_exposure=Decimal("6000000")))


def test_first_inspection_days():
    assert POLICY.first_inspection_days("working_capital", small_enterprise=True) == 15
    assert POLICY.first_inspection_days("working_capital", small_enterprise=False) == 30
    assert POLICY.first_inspection_days("fixed_asset", small_enterprise=True) == 30


def test_head_office_chair_convenes_a_head_office_committee_for_a_branch_loan():
    chair = Actor("ho_chair", (Grant("committee_chair", "HO"),))
    big = loan("40000000", tier="head_office_committee")
    assert POLICY.check(Request(chair, "convene_committee", big, (), NOW, role="committee_chair")).allowed
    branch_chair = Actor("sh_chair", (Grant("committee_chair", "SH01"),))
    refused = POLICY.check(Request(branch_chair, "convene_committee", big, (), NOW, role="committee_chair"))
    assert refused.kind == "RoleMissing"
    small = loan("12000000", tier="branch_committee")
    assert POLICY.check(Request(branch_chair, "convene_committee", small, (), NOW, role="committee_chair")).allowed
