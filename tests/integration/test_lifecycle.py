"""Both processes end to end through the engine API, on SQLite and PostgreSQL, restoring state at every step,
with one long-lived engine and with a fresh engine for every command."""
import pytest
from datetime import timedelta

from engine.audit.chain import verify_chain
from engine.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("engine_mode")


def test_small_loan_dual_signature_through_post_loan_to_archive(engine, driver, clock):
    ref = driver.start()
    assert driver.open_steps(ref) == ["investigate"]
    assert driver.item(ref, "investigate").candidate_user == "cm_wang"

    driver.through_approval_dual(ref)
    assert engine.loan_tier(ref) == "dual_signature"
    assert driver.open_steps(ref) == ["prepare_contract", "register_collateral"]
    driver.through_disbursement(ref)

    loan = engine.loan(ref)
    assert loan.status == "disbursed"
    assert [(i.process_id, i.status) for i in loan.instances] == [("origination", "completed"), ("post_loan", "running")]
    assert driver.open_steps(ref) == ["assign_post_loan_manager"]
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")

    # first inspection: 15 days after disbursement for a small enterprise's working-capital loan; the task
    # appears the policy's lead time before that
    due = [i.next_timer_due for i in engine.loan(ref).instances if i.next_timer_due][0]
    assert due == clock.now() + timedelta(days=15 - engine.policy.params["inspection_lead_days"])
    assert engine.tick() == 0 and driver.open_steps(ref) == []
    clock.advance(days=15, minutes=1)
    assert engine.tick() == 1
    assert driver.open_steps(ref) == ["assist_inspection", "lead_inspection"]
    assert driver.item(ref, "lead_inspection").candidate_user == "plm_guo"
    assert driver.item(ref, "assist_inspection").candidate_user == "cm_wang"
    for _round in range(2):
        driver.do(ref, "lead_inspection", "plm_guo")
        driver.do(ref, "assist_inspection", "cm_wang")
        driver.do(ref, "review_inspection_report", "plh_luo")
        assert driver.open_steps(ref) == []
        clock.advance(days=93)
        assert engine.tick() == 1
        driver.approve_reviews(ref)  # each quarter's classification review (classification_review_months)

    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="watch", classification="special_mention")
    assert engine.loan(ref).classification == "normal"  # a reviewer's class is a proposal, not a change

    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2027-06-30"}, actor="acct_ma") == 1
    assert engine.loan(ref).status == "closed"  # repaid (结清); the file is reviewed, then archived
    driver.do(ref, "review_closure", "plh_luo")
    driver.do(ref, "archive_file", "plm_guo")
    loan = engine.loan(ref)
    assert loan.status == "closed" and loan.stage == "archived"
    assert all(i.status == "completed" for i in loan.instances)
    with engine.db.reading() as session:
        checked, broken = verify_chain(session)
    assert broken is None and checked > 50


def test_large_loan_two_investigators_supplement_loop_committee_and_entrusted_payment(engine, driver, clock):
    ref = driver.start(amount=8_000_000, product="working_capital", new_relationship=True, rating="average")
    assert driver.open_steps(ref) == ["assist_investigation", "investigate"]
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen", decision="return_for_supplement", opinion="Add the guarantor's statements.")
    assert driver.open_steps(ref) == ["assist_investigation", "investigate"]
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    assert engine.loan_tier(ref) == "branch_committee"

    members = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")
    votes = driver.items(ref, "committee_vote")
    assert sorted(v.candidate_user for v in votes) == sorted(members)
    for i, member in enumerate(members):
        extra = {"decision": "approve_with_conditions", "conditions": "Quarterly statements"} if i == 0 else {}
        driver.do(ref, "committee_vote", member, **extra)
    assert driver.open_steps(ref) == ["chair_veto"]
    clock.advance(hours=25)  # the chair lets the veto window pass
    assert engine.tick() == 1
    assert driver.open_steps(ref) == ["prepare_contract", "register_collateral"]
    driver.through_disbursement(ref, payment="execute_entrusted_payment")
    assert engine.loan(ref).status == "disbursed"


def test_head_office_committee_for_fifty_million(engine, driver):
    ref = driver.start(amount=50_000_000, product="fixed_asset", project_investment=400_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    assert engine.loan_tier(ref) == "head_office_committee"
    assert driver.open_steps(ref) == ["convene_committee"]


def test_an_extension_is_not_a_new_application(engine, driver):
    """Extensions, refinancing and restructuring start from the loan they change (test_loan_changes.py), where
    they go one tier up."""
    for kind in ("extension", "refinancing", "restructuring"):
        with pytest.raises(InvalidInput) as refused:
            driver.start(amount=2_000_000, loan_type=kind)
        assert "loan_type" in refused.value.field_templates
    assert engine.open_loans() == []


def test_rejection_and_withdrawal_end_cleanly(engine, driver):
    rejected = driver.start()
    driver.do(rejected, "investigate", "cm_wang")
    driver.do(rejected, "review", "rev_chen", decision="reject", opinion="Repayment source unproven.")
    withdrawn = driver.start(borrower="Withdrawn Co.")
    driver.do(withdrawn, "investigate", "cm_wang", recommendation="withdraw")
    for ref, status in ((rejected, "rejected"), (withdrawn, "withdrawn")):
        loan = engine.loan(ref)
        assert (loan.status, loan.stage) == (status, "closed")
        assert [i.status for i in loan.instances] == ["completed"]
        assert driver.open_steps(ref) == []


def test_repayment_before_the_first_inspection_is_kept_until_the_process_waits_for_it(engine, driver, clock):
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2026-11-20"}, actor="acct_ma") == 0
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    clock.advance(days=16)
    engine.tick()
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo")
    assert driver.open_steps(ref) == ["review_closure"]  # the queued repayment arrived when the process could take it
    driver.do(ref, "review_closure", "plh_luo")
    driver.do(ref, "archive_file", "plm_guo")
    assert engine.loan(ref).status == "closed"
