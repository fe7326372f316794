"""Closure (结清), collateral after registration (押品重估, 解押) and recoveries during workout (资产保全)."""
from datetime import date
from types import SimpleNamespace

import pytest

from engine.access import PolicyDenied
from engine.errors import NotAllowed
from engine.store.models import AuditEvent, Collateral

CLOSURE = {"closure_summary": "Repaid on time; the borrower grew its sales.",
           "closure_lessons": "Quarterly inspections caught the inventory build-up early.",
           "relationship_rating": "good"}


def disbursed(driver, **collateral) -> str:
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref, register_collateral=collateral)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    return ref


def inspected(driver, ref: str) -> None:
    """The first inspection done: the post-loan file now waits for the next one, or for the repayment."""
    driver.clock.advance(days=15, minutes=1)
    driver.engine.tick()
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo")


def position(ref: str, **changes) -> dict:
    return {"loan": ref, "contract_number": "HT-2026-001", "maturity_date": "2027-11-20",
            "outstanding_principal": "1500000.00", "overdue_principal": "0", "overdue_interest": "0",
            "days_past_due": 0, **changes}


def events(engine, action: str, ref: str) -> list:
    with engine.db.reading() as session:
        rows = session.query(AuditEvent).filter_by(action=action, loan_ref=ref).order_by(AuditEvent.id).all()
        return [SimpleNamespace(actor=e.actor, rule=e.rule, detail=dict(e.detail or {})) for e in rows]


def repaid_and_reviewed(engine, driver, ref):
    inspected(driver, ref)
    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2027-06-30"}, actor="acct_ma") == 1
    driver.do(ref, "review_closure", "plh_luo", **CLOSURE)


def test_a_repaid_loan_is_reviewed_by_the_head_then_archived(engine, driver, engine_mode):
    ref = disbursed(driver)
    inspected(driver, ref)
    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2027-06-30"}, actor="acct_ma") == 1
    loan = engine.loan(ref)
    assert (loan.status, loan.stage) == ("closed", "closed")
    assert driver.open_steps(ref) == ["review_closure"]
    review = driver.item(ref, "review_closure")
    assert (review.role, review.duty) == ("post_loan_head", "review_closure")

    engine.grant_role("plm_guo", "post_loan_head", "BJ01")  # the loan's own post-loan manager never reviews it
    with pytest.raises(PolicyDenied) as refusal:
        engine.complete("plm_guo", review.id, CLOSURE)
    assert refusal.value.rule == "SOD-16"

    driver.do(ref, "review_closure", "plh_luo", **CLOSURE)
    assert driver.open_steps(ref) == ["archive_file"]
    driver.do(ref, "archive_file", "plm_guo")
    loan = engine.loan(ref)
    assert (loan.status, loan.stage) == ("closed", "archived")
    (entry,) = [e for e in engine.file_record(ref) if e.step == "review_closure"]
    assert entry.actor == "plh_luo" and entry.values["relationship_rating"] == "good"
    assert entry.values["closure_summary"].startswith("Repaid on time")


def test_collateral_is_recorded_and_revalued_on_a_schedule_that_does_not_drift(engine, driver, clock):
    ref = disbursed(driver, collateral_type="equipment", appraised_on="2026-11-02")
    (item,) = engine.collateral(ref)
    assert (item.collateral_type, item.appraised_value, item.status) == ("equipment", 3_000_000, "registered")
    assert item.next_revaluation_on == date(2027, 5, 2)  # equipment: every 6 months (policy)

    clock.set(clock.now().replace(year=2027, month=5, day=1))
    engine.tick()
    assert driver.items(ref, "revalue_collateral") == []
    clock.advance(days=1, minutes=1)
    engine.tick()
    engine.tick()
    (task,) = driver.items(ref, "revalue_collateral")  # never two open at once
    assert task.role == "collateral_custodian"

    clock.advance(days=20)  # done late: the next one is still six months after the last one fell due
    driver.do(ref, "revalue_collateral", "coll_hu", revalued_value=2_800_000, revalued_on="2027-05-22",
              revaluation_notes="Market price of comparable machines.")
    (item,) = engine.collateral(ref)
    assert (item.appraised_value, item.appraised_on, item.next_revaluation_on) == (
        2_800_000, date(2027, 5, 22), date(2027, 11, 2))
    assert events(engine, "collateral_revalued", ref)[0].detail["before"]["appraised_value"] == "3000000.00"
    clock.set(clock.now().replace(month=11, day=1))
    engine.tick()
    assert driver.items(ref, "revalue_collateral") == []
    clock.advance(days=1, minutes=1)
    engine.tick()
    assert len(driver.items(ref, "revalue_collateral")) == 1


def test_a_revaluation_below_cover_raises_one_rule_warning(engine, driver, clock, feed):
    ref = disbursed(driver, collateral_type="receivables", appraised_on="2026-11-02")
    engine.import_positions("2026-12-01", [position(ref)], actor=feed, source="api")
    def revalue(month: int, value: int) -> list:
        clock.set(clock.now().replace(year=2027, month=month, day=3))  # receivables: every 3 months
        engine.tick()
        driver.do(ref, "revalue_collateral", "coll_hu", revalued_value=value,
                  revalued_on=clock.now().date().isoformat(), revaluation_notes="Debtors paying late.")
        return [i for i in engine.loan(ref).instances if i.process_id == "risk_warning"]

    assert revalue(2, 2_200_000) == []  # 70% of it still covers the 1,500,000 outstanding
    assert len(revalue(5, 1_000_000)) == 1
    warnings = revalue(8, 900_000)  # still below cover: the warning raised is still open, no second one
    assert len(warnings) == 1 and warnings[0].status == "running"
    (raised,) = events(engine, "warning_raised", ref)
    assert raised.actor == "system:servicing" and raised.detail["rule"] == "WARN-COVER"
    assert driver.items(ref, "register_warning")


def test_collateral_is_released_only_after_closure_by_two_people(engine, driver):
    ref = disbursed(driver)
    (item,) = engine.collateral(ref)
    with pytest.raises(NotAllowed) as early:
        engine.propose_release("coll_hu", ref, item.id, "Loan repaid.")
    assert "repaid and its closure reviewed" in str(early.value)

    repaid_and_reviewed(engine, driver, ref)
    engine.propose_release("coll_hu", ref, item.id, "Loan repaid; mortgage to be cancelled.")
    assert engine.collateral(ref)[0].status == "release_proposed"
    engine.grant_role("coll_hu", "post_loan_head", "BJ01")
    with pytest.raises(PolicyDenied) as same:
        engine.approve_release("coll_hu", ref, item.id)
    assert same.value.rule == "SOD-17"
    with pytest.raises(NotAllowed):
        engine.approve_release("plm_guo", ref, item.id)  # not a post-loan head or branch head
    engine.approve_release("plh_luo", ref, item.id)
    (released,) = engine.collateral(ref)
    assert (released.status, released.release_proposed_by, released.released_by) == ("released", "coll_hu", "plh_luo")
    assert [e.actor for e in events(engine, "collateral_released", ref)] == ["plh_luo"]
    assert events(engine, "refused", ref)
    driver.clock.advance(days=400)
    engine.tick()
    assert driver.items(ref, "revalue_collateral") == []  # a repaid loan's collateral is not revalued


def test_a_feed_repayment_during_workout_records_a_recovery(engine, driver, clock, feed):
    ref = disbursed(driver)
    engine.import_positions("2026-12-01", [position(ref, overdue_principal="200000.00",
                                                    overdue_interest="9000.00", days_past_due=95)],
                            actor=feed, source="api")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="The floor.")
    assert engine.loan(ref).stage == "workout"
    assert events(engine, "recovery_recorded", ref) == []
    driver.do(ref, "propose_workout", "apo_deng", workout_strategy="collection", strategy_reasons="Collect.",
              expected_recovery=900_000)

    engine.import_positions("2026-12-10", [position(ref, outstanding_principal="1400000.00",
                                                    overdue_principal="100000.00", overdue_interest="0",
                                                    days_past_due=104)], actor=feed, source="api")
    (recovery,) = events(engine, "recovery_recorded", ref)
    assert recovery.actor == "system:servicing"
    assert recovery.detail["principal_recovered"] == "100000.00"
    assert recovery.detail["overdue_recovered"] == "109000.00"
    assert any(e.action == "recovery_recorded" for e in engine.file_record(ref))

    driver.do(ref, "approve_workout", "cro_gao", workout_decision="approve", workout_decision_reason="Go.")
    task = engine.task("apo_deng", driver.item(ref, "record_recovery").id)
    assert task.data["feed_recoveries"][0]["principal_recovered"] == "100000.00"
    clock.advance(days=15, minutes=1)
    engine.tick()
    assert driver.items(ref, "lead_inspection")  # post-loan inspections go on, the loan stays in workout
    assert engine.loan(ref).stage == "workout"
    driver.do(ref, "record_recovery", "apo_deng", workout_outcome="partially_recovered", recovered_amount=100_000,
              recovered_on="2026-12-10", recovery_notes="Collected through the feed.")
    assert engine.loan(ref).stage == "post_loan"


def test_release_from_the_command_line(engine, driver, database_url):
    from click.testing import CliRunner

    from engine.cli import main

    def cli(*args):
        return CliRunner().invoke(main, ["--database", database_url, *args], catch_exceptions=False)

    ref = disbursed(driver)
    (item,) = engine.collateral(ref)
    listed = cli("collateral", "list", ref)
    assert listed.exit_code == 0 and f"{item.id}\tother\tDJ-88\t3000000.00" in listed.output
    early = cli("collateral", "propose-release", ref, str(item.id), "--by", "coll_hu", "--reason", "Repaid.")
    assert early.exit_code == 1 and "closure reviewed" in early.output
    repaid_and_reviewed(engine, driver, ref)
    proposed = cli("collateral", "propose-release", ref, str(item.id), "--by", "coll_hu", "--reason", "Repaid.")
    assert proposed.exit_code == 0
    approved = cli("collateral", "approve-release", ref, str(item.id), "--by", "head_qian")
    assert approved.exit_code == 0 and "released" in approved.output
    assert engine.collateral(ref)[0].released_by == "head_qian"


def test_loans_registered_before_get_their_collateral_items_from_the_audit_trail(engine, driver):
    import importlib.util

    from engine.store.schema import MIGRATIONS

    ref = disbursed(driver)
    with engine.db.transaction() as session:
        session.query(Collateral).delete()
    spec = importlib.util.spec_from_file_location("migration_0016", MIGRATIONS / "versions" / "0016_collateral.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with engine.db.engine.begin() as connection:
        assert migration.backfill(connection) == 1
        assert migration.backfill(connection) == 0  # once
    (item,) = engine.collateral(ref)
    assert (item.collateral_type, item.registration_number, item.appraised_value) == ("other", "DJ-88", 3_000_000)
    assert item.next_revaluation_on == date(2027, 11, 2)
