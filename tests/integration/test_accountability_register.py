"""The accountability register (连带问责): a loan gone bad lists everyone who signed, reviewed, paid, inspected and
classified it, with their reasons; a finding on it is decided by someone other than who proposed it."""
import csv
import hashlib
import io
import json

import pytest

from engine.access import PolicyDenied
from engine.errors import InvalidInput, NotFound

FEED = "core_feed"
LATE = dict(overdue_principal="125000.00", overdue_interest="6250.00")


def position(ref: str, **changes) -> dict:
    return {"loan": ref, "contract_number": "HT-2026-001", "maturity_date": "2027-11-20",
            "schedule": "Monthly interest, principal at maturity", "outstanding_principal": "1500000.00",
            "overdue_principal": "0", "overdue_interest": "0", "days_past_due": 0,
            "last_repayment_date": "2026-11-30", "last_repayment_amount": "6250.00", **changes}


@pytest.fixture
def gone_bad(engine, driver):
    """Approved by dual signature, disbursed, inspected once, then substandard by the feed's days past due."""
    engine.add_user(FEED, None, "核心系统")
    engine.grant_role(FEED, "core_banking")
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang", findings="Cash flow covers debt service 1.8x.")
    driver.do(ref, "review", "rev_chen", opinion="Collateral covers the exposure twice.")
    driver.do(ref, "sign_business", "cm_wang", reason="A long-standing client.")
    driver.do(ref, "sign_risk", "risk_liu", reason="Within my limit.")
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    driver.clock.advance(days=15, minutes=1)
    assert engine.tick() == 1
    driver.do(ref, "lead_inspection", "plm_guo", inspection_findings="Orders down by a third.")
    driver.do(ref, "assist_inspection", "cm_wang", observations="Warehouse half empty.")
    driver.do(ref, "review_inspection_report", "plh_luo")
    engine.import_positions("2027-03-10", [position(ref, days_past_due=95, **LATE)], actor=FEED, source="api")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="substandard",
              approval_reason="95 days past due.")
    assert engine.loan(ref).classification == "substandard"
    return ref


def test_the_register_lists_everyone_who_answers_for_the_loan(engine, driver, gone_bad, engine_mode):
    healthy = driver.start(borrower="Healthy Co.")
    listed = {loan.reference: loan for loan in engine.register_loans()}
    assert gone_bad in listed and healthy not in listed
    summary = listed[gone_bad]
    assert summary.classification == "substandard" and summary.outstanding == 1_500_000
    assert not summary.written_off and summary.loss is None

    register = engine.loan_register(gone_bad)
    done = {(e.duty, e.username) for e in register.entries}
    assert done >= {("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"),
                    ("approve", "risk_liu"), ("review_disbursement", "disb_xu"), ("execute_payment", "acct_ma"),
                    ("lead_inspection", "plm_guo"), ("assist_inspection", "cm_wang"),
                    ("review_inspection_report", "plh_luo"), ("approve_classification", "cro_gao")}
    by_duty = {e.duty: e for e in register.entries}
    assert by_duty["review"].reasons["opinion"] == "Collateral covers the exposure twice."
    assert by_duty["review"].decision == {"decision": "pass"} and by_duty["review"].role == "credit_reviewer"
    assert by_duty["sign_business"].reasons["reason"] == "A long-standing client."
    assert by_duty["approve"].reasons["reason"] == "Within my limit." and by_duty["approve"].role == "risk_manager"
    assert by_duty["lead_inspection"].reasons["inspection_findings"] == "Orders down by a third."
    assert by_duty["assist_inspection"].reasons["observations"] == "Warehouse half empty."
    assert by_duty["approve_classification"].decision == {"approval": "approve", "classification": "substandard"}
    assert by_duty["approve_classification"].reasons == {"approval_reason": "95 days past due."}
    assert by_duty["execute_payment"].decision["payment_reference"] == "PAY-1"
    assert by_duty["investigate"].display_name == "王客户经理"
    with pytest.raises(NotFound):
        engine.loan_register(healthy)


def test_a_finding_proposed_by_one_person_is_decided_by_another(engine, gone_bad):
    responsibility = [{"person": "risk_liu", "level": "major", "note": "Signed without the site visit."},
                      {"person": "plm_guo", "level": "minor", "note": "Reported the fall late."}]
    with pytest.raises(PolicyDenied):  # the auditor reads the register; a finding is not theirs to propose
        engine.propose_finding("auditor_xie", gone_bad, "Weak approval.", responsibility, "Warning letter.")
    with pytest.raises(InvalidInput):
        engine.propose_finding("cro_gao", gone_bad, "Weak approval.", [{"person": "head_qian", "level": "major"}])
    engine.grant_role("rev_chen", "credit_risk_officer", "BJ01")
    with pytest.raises(PolicyDenied) as worker:  # the reviewer is on the register: not a judge of it
        engine.propose_finding("rev_chen", gone_bad, "Weak approval.", responsibility, "Warning letter.")
    assert worker.value.rule == "SOD-19"

    refused_before = engine.count_events("refused")
    finding = engine.propose_finding("cro_gao", gone_bad, "The approval relied on an untested cash flow.",
                                     responsibility, "Written warning for risk_liu.", source="cli")
    engine.grant_role("cro_gao", "branch_head", "BJ01")
    with pytest.raises(PolicyDenied) as same:
        engine.decide_finding("cro_gao", finding, "accept", "Agreed.")
    assert same.value.rule == "SOD-18"
    assert engine.count_events("refused") == refused_before + 1

    assert engine.decide_finding("head_qian", finding, "accept", "The file shows no site visit.") == "accepted"
    with pytest.raises(InvalidInput):
        engine.decide_finding("head_qian", finding, "reject", "Second thoughts.")
    (recorded,) = engine.loan_register(gone_bad).findings
    assert (recorded.status, recorded.proposed_by, recorded.decided_by) == ("accepted", "cro_gao", "head_qian")
    assert recorded.decision_reason == "The file shows no site visit."
    assert recorded.responsibility[0] == {"person": "risk_liu", "level": "major",
                                          "note": "Signed without the site visit."}
    assert engine.count_events("accountability_proposed") == 1 and engine.count_events("accountability_decided") == 1


def test_a_written_off_loan_shows_its_loss_and_the_exports_carry_the_rows(engine, driver, gone_bad):
    driver.do(gone_bad, "propose_workout", "apo_deng", workout_strategy="litigation",
              strategy_reasons="The borrower stopped operating.", expected_recovery=100_000)
    driver.do(gone_bad, "approve_workout", "cro_gao", workout_decision="approve",
              workout_decision_reason="Nothing left to pledge.")
    driver.do(gone_bad, "record_recovery", "apo_deng", workout_outcome="write_off_submitted", recovered_amount=0,
              recovered_on="2027-06-01", recovery_notes="The court found no assets.")
    engine.import_positions("2027-06-02", [position(gone_bad, outstanding_principal="1400000.00", days_past_due=180,
                                                    **LATE)], actor=FEED, source="api")
    (summary,) = [loan for loan in engine.register_loans() if loan.reference == gone_bad]
    assert summary.written_off and summary.loss == 1_400_000 and summary.recovered == 0
    finding = engine.propose_finding("cro_gao", gone_bad, "Weak approval.",
                                     [{"person": "risk_liu", "level": "major", "note": "No site visit."}], "Fine.")

    body, digest = engine.export_register("csv")
    assert digest == hashlib.sha256(body).hexdigest()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    mine = [r for r in rows if r["loan_ref"] == gone_bad]
    assert {(r["duty"], r["username"]) for r in mine} >= {("approve", "risk_liu"), ("execute_payment", "acct_ma"),
                                                          ("accountability", "risk_liu")}
    assert {r["loss"] for r in mine} == {"1400000.00"}
    (signed,) = [r for r in mine if r["duty"] == "approve"]
    assert "Within my limit." in signed["reasons"] and signed["role"] == "risk_manager"

    body, digest = engine.export_register("json", gone_bad)
    assert digest == hashlib.sha256(body).hexdigest()
    (loan,) = json.loads(body)
    assert loan["reference"] == gone_bad and loan["written_off"] is True
    assert loan["findings"][0]["id"] == finding and loan["findings"][0]["status"] == "proposed"
    assert any(e["duty"] == "lead_inspection" and e["username"] == "plm_guo" for e in loan["entries"])


def test_the_committee_voters_and_the_chair_are_listed_and_a_recused_member_is_not(engine, driver):
    from sqlalchemy import update

    from engine.store.models import Loan

    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    members = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")
    driver.do(ref, "committee_vote", "member1", decision="recuse", reason="I advised the borrower last year.")
    driver.do(ref, "committee_vote", "member2", decision="reject", reason="Too concentrated.")
    for member in members[2:]:
        driver.do(ref, "committee_vote", member)
    driver.do(ref, "chair_veto", "chair_huang")
    with engine.db.transaction() as session:  # classified substandard later, as the feed would make it
        session.execute(update(Loan).where(Loan.reference == ref).values(classification="substandard"))

    register = engine.loan_register(ref)
    votes = {e.username: e for e in register.entries if e.duty == "vote"}
    assert set(votes) == {"member2", "member3", "member4", "member5", "chair_huang"}
    assert votes["member2"].decision == {"decision": "reject"} and votes["member2"].reasons == {
        "reason": "Too concentrated."}
    assert ("chair_veto", "chair_huang") in {(e.duty, e.username) for e in register.entries}
    assert ("assist_investigation", "cm_li") in {(e.duty, e.username) for e in register.entries}
    assert "member1" not in register.people


def test_the_command_line_writes_the_register_and_prints_its_digest(engine, gone_bad, tmp_path):
    from click.testing import CliRunner

    from engine.cli import main

    target = tmp_path / "register.json"
    result = CliRunner().invoke(main, ["--database", engine.db.url, "accountability", "export", "--format", "json",
                                       "--output", str(target)])
    assert result.exit_code == 0, result.output
    body = target.read_bytes()
    assert f"SHA-256 {hashlib.sha256(body).hexdigest()}" in result.output
    assert [loan["reference"] for loan in json.loads(body)] == [gone_bad]
    missing = CliRunner().invoke(main, ["--database", engine.db.url, "accountability", "export", "--loan",
                                        "L-2099-000001"])
    assert missing.exit_code == 1 and "L-2099-000001" in missing.output


def test_a_loan_once_bad_stays_in_the_register_after_an_upgrade_and_a_mention_never_enters(engine, driver, gone_bad):
    from sqlalchemy import update

    from engine.store.models import Loan

    mentioned = driver.start(borrower="Watched Co.")
    with engine.db.transaction() as session:  # upgraded since (the trail keeps the substandard classification)
        session.execute(update(Loan).where(Loan.reference == gone_bad).values(classification="normal"))
        audit = engine.kernel.audit_log(session, "cli")  # a loan only ever special mention, as the trail says
        audit.record("loan_updated", loan_ref=mentioned, actor="cro_gao",
                     detail={"field": "classification", "before": "normal", "after": "special_mention"})
        audit.write()
    listed = [loan.reference for loan in engine.register_loans()]
    assert gone_bad in listed and mentioned not in listed


def test_the_register_reads_the_same_statements_for_one_loan_or_many(engine, driver, gone_bad, statements):
    from sqlalchemy import update

    from engine.store.models import Loan

    def counted(read):
        statements.clear()
        result = read()
        return len(statements), result

    one = counted(engine.register_loans)[0], counted(lambda: engine.register_digests(("csv", "json")))[0]
    others = [driver.start(borrower=f"Borrower {n} Co.") for n in range(3)]
    with engine.db.transaction() as session:
        session.execute(update(Loan).where(Loan.reference.in_(others)).values(classification="doubtful"))
    many, listed = counted(engine.register_loans)
    assert {gone_bad, *others} == {loan.reference for loan in listed}
    assert (many, counted(lambda: engine.register_digests(("csv", "json")))[0]) == one
