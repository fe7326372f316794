"""Every duty pair of DOMAIN.md, tried through the engine: the forbidden combination is refused, the allowed one accepted.

The people in the forbidden combination are given the second role too, so what refuses them is the pair rule
itself, not a missing grant.
"""
import shutil
from datetime import date, datetime, timezone

import pytest

from engine.access import PolicyDenied
from engine.bootstrap import BUNDLED_BPMN
from engine.runtime.validation import DeploymentRejected
from engine.errors import InvalidInput, NotAllowed

from .conftest import FORMS


def refused_rule(engine, user, item, data=None, action="complete"):
    with pytest.raises(PolicyDenied) as refusal:
        if action == "claim":
            engine.claim(user, item.id)
        else:
            engine.complete(user, item.id, data or FORMS[item.bpmn_id])
    return refusal.value.rule, str(refusal.value)


def to_post_loan(driver, ref):
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    driver.clock.advance(days=16)
    driver.engine.tick()


def test_sod01_investigator_may_not_review_or_approve(engine, driver):
    engine.grant_role("cm_wang", "credit_reviewer", "BJ01")
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    rule, message = refused_rule(engine, "cm_wang", driver.item(ref, "review"))
    assert rule == "SOD-01" and f"You investigated loan {ref} on 2026-11-02" in message
    assert "investigate and review must be different people" in message
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_wang")  # the business signature is the originator's attestation
    engine.grant_role("cm_wang", "risk_manager", "BJ01", limit=5_000_000)
    assert refused_rule(engine, "cm_wang", driver.item(ref, "sign_risk"), action="claim")[0] == "SOD-01"


def test_sod02_lead_and_assistant_investigator_differ(engine, driver):
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    rule, message = refused_rule(engine, "cm_wang", driver.item(ref, "assist_investigation"))
    assert rule == "SOD-02" and "investigate and assist investigation must be different people" in message
    driver.do(ref, "assist_investigation", "cm_li")


def test_sod03_investigator_and_approver_may_not_review_disbursement(engine, driver):
    engine.grant_role("risk_liu", "disbursement_reviewer", "BJ01")
    engine.grant_role("cm_wang", "disbursement_reviewer", "BJ01")
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.do(ref, "prepare_contract", "cm_wang")
    driver.do(ref, "register_collateral", "coll_hu")
    item = driver.item(ref, "review_disbursement")
    assert refused_rule(engine, "risk_liu", item)[0] == "SOD-03"   # signed the approval
    assert refused_rule(engine, "cm_wang", item)[0] == "SOD-03"  # investigated
    driver.do(ref, "review_disbursement", "disb_xu")


def test_sod04_investigator_may_not_execute_payment(engine, driver):
    engine.grant_role("cm_wang", "accounting_operator", "BJ01")
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.do(ref, "prepare_contract", "cm_wang")
    driver.do(ref, "register_collateral", "coll_hu")
    driver.do(ref, "review_disbursement", "disb_xu")
    assert refused_rule(engine, "cm_wang", driver.item(ref, "execute_payment"))[0] == "SOD-04"
    driver.do(ref, "execute_payment", "acct_ma")


def test_sod11_investigator_may_not_register_collateral(engine, driver):
    engine.grant_role("cm_wang", "collateral_custodian", "BJ01")
    ref = driver.start()
    driver.through_approval_dual(ref)
    assert refused_rule(engine, "cm_wang", driver.item(ref, "register_collateral"))[0] == "SOD-11"
    driver.do(ref, "register_collateral", "coll_hu")


def test_sod06_originator_is_never_the_post_loan_manager(engine, driver):
    engine.grant_role("cm_wang", "post_loan_manager", "BJ01")
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    item = driver.item(ref, "assign_post_loan_manager")
    with pytest.raises(InvalidInput) as refused:
        engine.complete("plh_luo", item.id, {"post_loan_manager": "cm_wang"})
    assert "SOD-06" in refused.value.fields["post_loan_manager"]
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")


def test_sod05_originator_may_not_lead_inspection_even_as_a_stand_in(engine, driver):
    """cm_wang stands in for the post-loan manager while he is on leave: the pair still holds for the stand-in."""
    engine.grant_role("cm_wang", "post_loan_manager", "BJ01")
    ref = driver.start()
    to_post_loan(driver, ref)
    engine.delegate("plm_guo", "cm_wang", date(2026, 11, 1), date(2027, 12, 31))
    rule, _message = refused_rule(engine, "cm_wang", driver.item(ref, "lead_inspection"))
    assert rule == "SOD-05"
    engine.delegate("plm_guo", "plm_lin", date(2026, 11, 1), date(2027, 12, 31))
    driver.do(ref, "lead_inspection", "plm_lin")
    acts = [a for a in engine.loan(ref).acts if a.duty == "lead_inspection"]
    assert [(a.username, a.on_behalf_of) for a in acts] == [("plm_lin", "plm_guo")]


def test_sod07_sod08_inspectors_differ_and_do_not_review_their_report(engine, driver):
    engine.grant_role("plm_guo", "customer_manager", "BJ01")
    engine.grant_role("plm_guo", "post_loan_head", "BJ01")
    ref = driver.start()
    to_post_loan(driver, ref)
    engine.delegate("cm_wang", "plm_guo", date(2026, 11, 1), date(2027, 12, 31))
    driver.do(ref, "lead_inspection", "plm_guo")
    assert refused_rule(engine, "plm_guo", driver.item(ref, "assist_inspection"))[0] == "SOD-07"
    driver.do(ref, "assist_inspection", "cm_wang")
    assert refused_rule(engine, "plm_guo", driver.item(ref, "review_inspection_report"))[0] == "SOD-08"
    driver.do(ref, "review_inspection_report", "plh_luo")


def test_sod12_designer_may_not_approve_their_own_deployment(engine, driver, tmp_path):
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace('name="调查借款人"', 'name="Investigate applicant"'))
    with pytest.raises(PolicyDenied) as refused:
        engine.deploy([redesign], actor="designer_zheng", approved_by="designer_zheng")
    assert refused.value.rule == "SOD-12"
    assert {v for _p, v, _at in engine.deployed()} == {1}
    assert any(r.created for r in engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli"))


def test_authority_limit_of_the_risk_signer(engine, driver):
    ref = driver.start(amount=1_500_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_wang")
    item = driver.item(ref, "sign_risk")
    rule, message = refused_rule(engine, "risk_yang", item)  # limit CNY 1,000,000
    assert rule == "AUTH-01" and "1,000,000" in message
    assert "risk_yang" not in engine.candidates(item.id)
    driver.do(ref, "sign_risk", "risk_liu")  # limit CNY 3,000,000


def test_a_redesign_routing_fifty_million_to_dual_signature_is_refused_at_deployment(engine, tmp_path):
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    dmn = redesign / "approval_tier.dmn"
    dmn.write_text(dmn.read_text().replace("3000000", "300000000"))
    with pytest.raises(DeploymentRejected) as excinfo:
        engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert ("approval_tier.dmn row 1 sends loans up to 300,000,000 to dual_signature, but policy 2026.3 "
            "(policies/default.yaml) caps dual_signature at 3,000,000") in str(excinfo.value)
    assert {v for _p, v, _at in engine.deployed()} == {1}


def test_presenter_and_file_workers_may_not_sit_on_the_committee(engine, driver):
    engine.grant_role("cm_wang", "committee_member", "BJ01")
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    item = driver.item(ref, "convene_committee")
    members = ["member1", "member2", "member3", "member4", "member5", "cm_wang"]
    with pytest.raises(InvalidInput) as refused:
        engine.complete("chair_huang", item.id, {"committee_members": members, "meeting_date": "2026-11-10"})
    assert "investigate and vote must be different people (SOD-01" in refused.value.fields["committee_members"]
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members[:5] + ["chair_huang"],
              meeting_date="2026-11-10")


def test_committee_outcome_is_computed_by_the_policy(engine, driver):
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    members = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")
    for i, member in enumerate(members):  # 3 approve, 3 reject: below 2/3 of votes cast
        driver.do(ref, "committee_vote", member, decision="approve" if i % 2 else "reject", reason="by name")
    loan = engine.loan(ref)
    assert loan.status == "rejected"


def test_a_user_on_leave_gets_no_work_and_cannot_claim(engine, driver):
    engine.record_leave("rev_chen", date(2026, 11, 1), date(2026, 11, 9))
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    item = driver.item(ref, "review")
    assert engine.inbox("rev_chen", "available")[0] == []
    assert [i.id for i in engine.inbox("rev_zhou", "available")[0]] == [item.id]
    assert refused_rule(engine, "rev_chen", item, action="claim")[0] == "LEAVE-01"
    assert refused_rule(engine, "rev_chen", item, action="complete")[0] == "LEAVE-01"  # read with the locked task
    assert driver.item(ref, "review").id == item.id  # nothing moved
    driver.clock.advance(days=9)  # back from leave: the same completion goes through
    engine.complete("rev_chen", item.id, FORMS["review"])
    assert "sign_business" in driver.open_steps(ref)


def test_the_originator_assists_inspections_unless_away_without_a_stand_in(engine, driver):
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    engine.record_leave("cm_wang", date(2026, 11, 16), date(2026, 11, 30))
    driver.clock.advance(days=16)
    engine.tick()
    assist = driver.item(ref, "assist_inspection")
    assert assist.candidate_user is None  # offered to every customer manager the policy allows
    assert "cm_wang" not in engine.candidates(assist.id)
    assert refused_rule(engine, "plm_guo", driver.item(ref, "assist_inspection"), action="claim")[0] in ("ROLE-01",)
    driver.do(ref, "assist_inspection", "cm_zhao")


def disbursed_loan(driver):
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def test_sod09_whoever_raises_a_warning_never_decides_it(engine, driver):
    ref = disbursed_loan(driver)
    engine.grant_role("cro_gao", "risk_manager", "BJ01", limit=1_000_000)
    engine.raise_warning("cro_gao", ref, "Main customer of the borrower filed for bankruptcy.")
    driver.do(ref, "register_warning", "cro_gao", registered_level="level_1", notes="Registered.")
    decide = driver.item(ref, "decide_warning")
    assert refused_rule(engine, "cro_gao", decide, {"warning_decision": "dismiss", "measures": [],
                                                     "decision_reason": "Mine."})[0] == "SOD-09"
    engine.add_user("cro_fang", None, "方风险管理")
    engine.grant_role("cro_fang", "credit_risk_officer", "BJ01")
    driver.do(ref, "decide_warning", "cro_fang", warning_decision="dismiss", measures=[],
              decision_reason="Customer diversified; no impact.")
    warning = [i for i in engine.loan(ref).instances if i.process_id == "risk_warning"][0]
    assert warning.status == "completed"


def test_sod10_a_classification_is_proposed_and_approved_by_different_people(engine, driver, clock):
    ref = disbursed_loan(driver)
    engine.grant_role("plh_luo", "credit_risk_officer", "BJ01")
    clock.advance(days=16)
    engine.tick()
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="reclassify", classification="substandard",
              remarks="Repayments 100 days late.")
    approve = driver.item(ref, "approve_classification")
    data = {"approval": "approve", "classification": "substandard", "approval_reason": "Agreed."}
    assert refused_rule(engine, "plh_luo", approve, data)[0] == "SOD-10"
    assert engine.loan(ref).classification == "normal"
    engine.complete("cro_gao", approve.id, data)
    assert engine.loan(ref).classification == "substandard"


def test_two_missed_inspections_block_the_manager_who_led_them_until_the_post_loan_head_lifts_it(engine, driver,
                                                                                              clock):
    engine.grant_role("plm_guo", "customer_manager", "BJ01")  # a post-loan manager who also originates loans
    ref = disbursed_loan(driver)
    for _round in range(2):
        clock.advance(days=93 if _round else 16)
        engine.tick()  # the inspection falls due
        assert "lead_inspection" in driver.open_steps(ref)
        clock.advance(days=11)  # and stays undone past the grace period
        engine.tick()
        driver.do(ref, "lead_inspection", "plm_guo")
        driver.do(ref, "assist_inspection", "cm_wang")
        driver.do(ref, "review_inspection_report", "plh_luo")
    with pytest.raises(PolicyDenied) as refused:
        driver.start(originator="plm_guo", borrower="Blocked Co.")
    assert refused.value.rule == "BLOCK-01"
    assert driver.start(borrower="Originator Not Charged Co.")  # cm_wang assisted; the lead missed it
    with pytest.raises(NotAllowed):
        engine.lift_origination_block("plm_guo", "cm_wang", "not my call")
    engine.lift_origination_block("plm_guo", "plh_luo", "Both inspections done late; manager retrained.")
    assert driver.start(originator="plm_guo", borrower="Unblocked Co.")


def test_warning_deadlines_count_business_days(engine, driver, clock):
    ref = disbursed_loan(driver)
    clock.set(datetime(2026, 11, 6, 2, 0, tzinfo=timezone.utc))  # Friday 10:00 in Beijing
    engine.grant_role("cro_gao", "risk_manager", "BJ01", limit=1_000_000)
    engine.raise_warning("cro_gao", ref, "Utility bills unpaid for two months.")
    register = driver.item(ref, "register_warning")
    assert register.due_at == datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)  # Tuesday: 2 working days
