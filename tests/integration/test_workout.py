"""NPL workout (资产保全): a loan newly classified non-performing moves to the asset preservation officer."""
import pytest

from engine.access import PolicyDenied

FORMS = {
    "propose_workout": {"workout_strategy": "litigation", "strategy_reasons": "The borrower stopped operating.",
                        "expected_recovery": 900_000},
    "approve_workout": {"workout_decision": "approve", "workout_decision_reason": "Collateral covers the claim."},
    "record_recovery": {"workout_outcome": "partially_recovered", "recovered_amount": 850_000,
                        "recovered_on": "2027-03-01", "recovery_notes": "Court auction of the factory building."},
}


def classified(driver, ref, classification):
    """A disbursed loan whose inspection proposes a class and the credit risk officer approves it."""
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    driver.clock.advance(days=15, minutes=1)
    assert driver.engine.tick() == 1
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="reclassify", classification=classification,
              remarks="The borrower stopped paying its suppliers.")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification=classification,
              approval_reason="Agreed.")


def workouts(engine, ref):
    return [i for i in engine.loan(ref).instances if i.process_id == "workout"]


def refused(engine, user, item, data):
    with pytest.raises(PolicyDenied) as refusal:
        engine.complete(user, item.id, data)
    return refusal.value.rule, str(refusal.value)


def test_a_substandard_loan_is_worked_out_under_the_pair_rules(engine, driver):
    ref = driver.start()
    classified(driver, ref, "substandard")
    assert engine.loan(ref).classification == "substandard"
    assert [w.status for w in workouts(engine, ref)] == ["running"]

    driver.do(ref, "propose_workout", "apo_deng", **FORMS["propose_workout"])
    approval = driver.item(ref, "approve_workout")
    assert (approval.role, approval.stage) == ("credit_risk_officer", "workout")
    engine.grant_role("apo_deng", "credit_risk_officer", "BJ01")
    assert refused(engine, "apo_deng", approval, FORMS["approve_workout"])[0] == "SOD-14"
    engine.grant_role("cm_wang", "credit_risk_officer", "BJ01")
    rule, message = refused(engine, "cm_wang", approval, FORMS["approve_workout"])
    assert rule == "SOD-15" and f"You originated loan {ref}" in message and "approve workout" in message

    driver.do(ref, "approve_workout", "cro_gao", workout_decision="return",
              workout_decision_reason="Price the collateral first.")
    driver.do(ref, "propose_workout", "apo_deng", **FORMS["propose_workout"])
    driver.do(ref, "approve_workout", "cro_gao", **FORMS["approve_workout"])
    recovery = driver.item(ref, "record_recovery")
    assert recovery.candidate_user == "apo_deng"
    driver.do(ref, "record_recovery", "apo_deng", **FORMS["record_recovery"])

    (workout,) = [i for i in engine.loan(ref, with_paths=True).instances if i.process_id == "workout"]
    assert workout.status == "completed" and "workout_closed" in workout.completed_steps
    assert driver.items(ref, "record_recovery") == []


def test_the_loans_investigator_never_proposes_its_workout(engine, driver):
    engine.grant_role("cm_wang", "asset_preservation_officer", "BJ01")
    ref = driver.start()
    classified(driver, ref, "doubtful")
    assert refused(engine, "cm_wang", driver.item(ref, "propose_workout"), FORMS["propose_workout"])[0] == "SOD-15"


def test_a_special_mention_loan_does_not_enter_workout(engine, driver):
    ref = driver.start()
    classified(driver, ref, "special_mention")
    assert engine.loan(ref).classification == "special_mention"
    assert workouts(engine, ref) == []
    assert driver.items(ref, "propose_workout") == []
