"""What-if replay: the recorded loans run again through a candidate version and policy, in memory; a designer sees
which loans would have gone differently and how, and nothing in the database changes."""
from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from policies.loader import DEFAULT_POLICY
from sqlalchemy import func, select

from engine.bootstrap import BUNDLED_BPMN
from engine.cli import main
from engine.replay.summary import NONE_DIFFER, SENTENCES
from engine.runtime.specs import collect_files
from engine.runtime.validation import DeploymentRejected
from engine.store.models import AuditEvent, Base

DUAL_CEILING = "<text>&lt;= 3000000</text>"  # new loans, and the loan types that go one tier up
NEW_STEP = """<bpmn:userTask id="compliance_check" name="合规复核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="duty" value="review" />
          <spiffworkflow:property name="form" value="forms/review.schema.json" />
          <spiffworkflow:property name="stage" value="review" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_reviewed</bpmn:incoming>
      <bpmn:outgoing>flow_compliance_checked</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_compliance_checked" sourceRef="compliance_check" targetRef="review_outcome" />
    """


def bundled() -> dict[str, str]:
    return {f.name: f.data.decode("utf-8") for f in collect_files([BUNDLED_BPMN])}


def lower_dual_signature(files: dict[str, str]) -> dict[str, str]:
    """The decision table sends loans above CNY 1m (instead of 3m) to the branch committee."""
    assert files["approval_tier.dmn"].count(DUAL_CEILING) == 2
    return {**files, "approval_tier.dmn": files["approval_tier.dmn"].replace(
        DUAL_CEILING, DUAL_CEILING.replace("3000000", "1000000"))}


def lower_policy_ceiling() -> str:
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    doc["parameters"]["tier_ceiling_dual_signature"] = 1_000_000
    doc["version"] = "candidate.dual-1m"
    return yaml.safe_dump(doc, allow_unicode=True)


def add_compliance_check(files: dict[str, str]) -> dict[str, str]:
    """A new step in review: after the credit review, a compliance check before the review's outcome."""
    text = files["origination.bpmn"]
    text = text.replace('<bpmn:sequenceFlow id="flow_reviewed" sourceRef="review" targetRef="review_outcome" />',
                        '<bpmn:sequenceFlow id="flow_reviewed" sourceRef="review" targetRef="compliance_check" />')
    gateway_in = '<bpmn:incoming>flow_reviewed</bpmn:incoming>\n      <bpmn:outgoing>flow_return</bpmn:outgoing>'
    text = text.replace(gateway_in, gateway_in.replace("flow_reviewed", "flow_compliance_checked"))
    text = text.replace('<bpmn:userTask id="review" ', NEW_STEP + '<bpmn:userTask id="review" ', 1)
    lane = '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>'
    text = text.replace(lane, lane + '<bpmn:flowNodeRef>compliance_check</bpmn:flowNodeRef>')
    return {**files, "origination.bpmn": text}


@pytest.fixture
def loans(engine, driver):
    """Four loans as recorded: paid out and in post-loan care, approved by dual signature, rejected in review,
    and one still being investigated."""
    small = driver.start(amount=500_000)
    driver.through_approval_dual(small)
    for step, user in (("prepare_contract", "cm_wang"), ("register_collateral", "coll_hu"),
                       ("review_disbursement", "disb_xu")):
        driver.do(small, step, user)
    driver.do(small, "execute_payment", "acct_ma", payment_amount=500_000)
    driver.do(small, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    middle = driver.start(amount=2_000_000)
    driver.through_approval_dual(middle)
    rejected = driver.start(amount=900_000)
    driver.do(rejected, "investigate", "cm_wang")
    driver.do(rejected, "review", "rev_chen", decision="reject", opinion="Cash flow does not cover the debt.")
    early = driver.start(amount=1_200_000)
    return {"small": small, "middle": middle, "rejected": rejected, "early": early}


def test_the_deployed_files_replay_every_loan_exactly_as_it_went(engine, loans):
    report = engine.replay(bundled())
    assert (report.total, report.same, report.differing, report.counts) == (4, 4, [], {})
    assert [(s.template, s.params) for s in report.summary] == [(NONE_DIFFER, {"total": 4})]
    assert set(report.processes) >= {"origination", "post_loan"}


def test_committees_loops_timers_warnings_and_messages_replay_exactly_as_they_went(engine, driver, clock):
    """The faithfulness that every other answer rests on, over the richest histories the processes make."""
    committee = driver.start(amount=8_000_000, new_relationship=True, rating="average")
    driver.do(committee, "investigate", "cm_wang")
    driver.do(committee, "assist_investigation", "cm_li")
    driver.do(committee, "review", "rev_chen", decision="return_for_supplement", opinion="Add statements.")
    driver.do(committee, "investigate", "cm_wang")
    driver.do(committee, "assist_investigation", "cm_li")
    driver.do(committee, "review", "rev_chen")
    members = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
    driver.do(committee, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")
    for member in members:
        driver.do(committee, "committee_vote", member)
    clock.advance(hours=25)  # the chair lets the veto window pass
    engine.tick()
    driver.through_disbursement(committee, payment="execute_entrusted_payment")
    warned, reclassified, repaid = (driver.start() for _ in range(3))
    for ref in (warned, reclassified, repaid):
        driver.through_approval_dual(ref)
        driver.through_disbursement(ref)
    engine.send_message(repaid, "loan_repaid", {"repaid_on": "2026-11-20"}, actor="acct_ma")  # kept until post-loan waits for it
    for ref in (warned, reclassified, repaid):
        driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    engine.grant_role("cro_gao", "risk_manager", "BJ01", limit=1_000_000)
    engine.raise_warning("cro_gao", warned, "Main customer of the borrower filed for bankruptcy.")
    driver.do(warned, "register_warning", "cro_gao", registered_level="level_1", notes="Registered.")
    engine.add_user("cro_fang", None, "方风险管理")
    engine.grant_role("cro_fang", "credit_risk_officer", "BJ01")
    driver.do(warned, "decide_warning", "cro_fang", warning_decision="dismiss", measures=[], decision_reason="None.")
    clock.advance(days=16)
    engine.tick()
    for ref in (reclassified, repaid):
        driver.do(ref, "lead_inspection", "plm_guo")
        driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(repaid, "review_inspection_report", "plh_luo")
    driver.do(repaid, "review_closure", "plh_luo")
    driver.do(repaid, "archive_file", "plm_guo")
    driver.do(reclassified, "review_inspection_report", "plh_luo", disposition="reclassify",
              classification="substandard", remarks="Repayments 100 days late.")
    approve = driver.item(reclassified, "approve_classification")
    engine.complete("cro_gao", approve.id, {"approval": "approve", "classification": "substandard",
                                            "approval_reason": "Agreed."})
    assert engine.loan(repaid).status == "closed" and engine.loan(reclassified).classification == "substandard"
    report = engine.replay(bundled())
    assert (report.total, report.same, report.differing) == (4, 4, [])


def test_a_new_pair_rule_shows_who_would_have_been_refused(engine, loans):
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    doc["incompatible"].append({"id": "SOD-99", "name": {"zh": "调查与业务签字分离", "en": "investigation and business "
                                "signature separated"}, "source": "REG", "a": ["investigate"], "b": ["sign_business"],
                                "scope": "loan"})
    doc["version"] = "candidate.sod-99"
    report = engine.replay(bundled(), yaml.safe_dump(doc, allow_unicode=True))
    assert {loan.loan_ref for loan in report.differing} == {loans["small"], loans["middle"]}
    assert report.counts == {"refused": 2}
    [sentence] = report.summary
    assert sentence.template % sentence.params == "2 of 4 loans would have met a refusal under SOD-99."
    [refused] = report.differing[0].differences
    assert refused.params["actor"] == "cm_wang" and refused.step == "sign_business"


def row_counts(engine) -> dict[str, int]:
    with engine.db.reading() as session:
        counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
        counts["audit head"] = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return counts


def test_a_lower_dual_signature_ceiling_sends_the_2m_loan_to_the_committee_and_changes_nothing(engine, loans):
    before = row_counts(engine)
    report = engine.replay(lower_dual_signature(bundled()), lower_policy_ceiling())
    assert row_counts(engine) == before  # not one row written, not one audit event
    assert (report.total, report.same) == (4, 3)
    [loan] = report.differing
    assert loan.loan_ref == loans["middle"] and loan.process_id == "origination" and loan.version == 1
    kinds = {d.kind: d for d in loan.differences}
    assert kinds["tier"].params == {"old": "dual_signature", "new": "branch_committee"}
    assert kinds["path"].params["recorded"] == "审批签字(业务)" and kinds["path"].params["offered"] == "召集贷审会"
    assert kinds["path"].step == "sign_business"
    assert report.counts == {"tier": 1, "path": 1}
    tier = next(s for s in report.summary if s.kind == "tier")
    assert tier.template % tier.params == "1 of 4 loans would have gone to branch_committee instead of dual_signature."
    assert tier.template == SENTENCES["tier"][0]
    assert loan.recorded_steps == ("investigate", "review", "sign_business", "sign_risk")
    assert loan.replayed_steps == ("investigate", "review")


def test_a_new_step_in_review_shows_on_every_loan_that_passed_review(engine, loans):
    report = engine.replay(add_compliance_check(bundled()))
    differing = {loan.loan_ref: loan for loan in report.differing}
    assert set(differing) == {loans["small"], loans["middle"], loans["rejected"]}  # the early one is not there yet
    for ref in (loans["small"], loans["middle"]):
        [path] = [d for d in differing[ref].differences if d.kind == "path"]
        assert path.params["offered"] == "合规复核" and path.params["recorded"] == "审批签字(业务)"
    [waiting] = differing[loans["rejected"]].differences
    assert waiting.kind == "path" and waiting.params["offered"] == "合规复核"
    assert report.counts == {"path": 3}


def test_a_script_that_would_fail_is_reported_where_it_fails(engine, loans):
    files = bundled()
    script = 'review_result = {"reviewer": completed_by, "decision": decision, "opinion": opinion}'
    assert script in files["origination.bpmn"]
    report = engine.replay({**files, "origination.bpmn": files["origination.bpmn"].replace(
        script, "review_result = len(opinion) / (len(opinion) - len(opinion))")})
    assert report.counts == {"error": 3}  # every loan that completed review; the early one never got there
    [sentence] = report.summary
    assert sentence.params == {"step": "审查授信材料", "count": 3, "total": 4}
    [failed] = report.differing[0].differences
    assert "division by zero" in failed.params["error"] and failed.step == "review"


def test_a_step_drawn_as_a_manual_task_never_passes_silently(engine, loans):
    """Refused before anything runs, or else a stall: nobody is ever offered a manual task."""
    files = bundled()
    text = files["origination.bpmn"]
    start = text.index('<bpmn:userTask id="register_collateral"')
    end = text.index("</bpmn:userTask>", start)
    text = text[:start] + text[start:end].replace("bpmn:userTask", "bpmn:manualTask") + "</bpmn:manualTask>" \
        + text[end + len("</bpmn:userTask>"):]
    try:
        report = engine.replay({**files, "origination.bpmn": text})
    except DeploymentRejected as refused:
        assert "register_collateral" in str(refused)
        return
    assert {loan.loan_ref for loan in report.differing} == {loans["small"], loans["middle"]}
    assert report.counts == {"stall": 1, "unserved": 2}  # the middle loan waits there now; the small one went past
    small = next(loan for loan in report.differing if loan.loan_ref == loans["small"])
    assert [d.kind for d in small.differences] == ["stall", "unserved"]
    assert small.differences[0].params["recorded"] == "押品登记"


def test_an_assignee_naming_someone_else_is_a_refusal_of_who_did_it(engine, loans):
    files = bundled()
    text = files["origination.bpmn"]
    start = text.index('<bpmn:userTask id="prepare_contract"')
    end = text.index("</bpmn:userTask>", start)
    text = text[:start] + text[start:end].replace('name="assignee" value="originator"',
                                                  'name="assignee" value="&#34;cm_li&#34;"') + text[end:]
    report = engine.replay({**files, "origination.bpmn": text})
    assert [loan.loan_ref for loan in report.differing] == [loans["small"]]  # the only one that got there
    [refused] = report.differing[0].differences
    assert refused.kind == "refused" and refused.params["actor"] == "cm_wang"
    assert refused.params["reason"] == "This task is assigned to cm_li."


def test_a_process_the_candidate_would_not_start_is_a_different_outcome(engine, loans):
    files = bundled()
    report = engine.replay({**files, "post_loan.bpmn": files["post_loan.bpmn"].replace(
        'name="loan_disbursed"', 'name="loan_paid_out"')})
    [loan] = report.differing
    assert loan.loan_ref == loans["small"] and report.counts == {"outcome": 1}
    [outcome] = loan.differences
    assert outcome.params["message"] == "loan_disbursed" and outcome.process_id == "post_loan"


def test_a_candidate_that_would_not_deploy_is_not_replayed(engine, loans):
    files = bundled()
    broken = {**files, "origination.bpmn": files["origination.bpmn"].replace(
        'forms/review.schema.json', 'forms/missing.schema.json', 1)}
    with pytest.raises(DeploymentRejected):
        engine.replay(broken)


def test_a_step_moved_to_a_lane_nobody_holds_is_one_nobody_could_do(engine, loans):
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    doc["roles"]["compliance_officer"] = {"en": "compliance officer", "zh": "合规岗"}
    doc["duties"]["review"]["roles"] = ["credit_reviewer", "compliance_officer"]
    doc["version"] = "candidate.compliance"
    files = bundled()
    candidate = {**files, "origination.bpmn": files["origination.bpmn"].replace(
        '<bpmn:lane id="lane_credit_reviewer" name="授信审查岗">',
        '<bpmn:lane id="lane_credit_reviewer" name="compliance_officer">')}
    report = engine.replay(candidate, yaml.safe_dump(doc, allow_unicode=True))
    assert report.counts == {"unserved": 3, "refused": 3}  # every loan that reached review
    [unserved] = [s for s in report.summary if s.kind == "unserved"]
    assert unserved.params == {"step": "审查授信材料", "count": 3, "total": 4}
    loan = next(d for d in report.differing if d.loan_ref == loans["middle"])
    kinds = {d.kind: d for d in loan.differences}
    assert kinds["unserved"].params["reason"] == "no active user holds the role compliance_officer"
    assert kinds["refused"].params["actor"] == "rev_chen" and kinds["refused"].params["rule"] == "ROLE-01"


def test_the_command_line_prints_the_summary_and_each_differing_loan(engine, loans, database_url, tmp_path):
    folder = tmp_path / "candidate"
    (folder / "forms").mkdir(parents=True)
    for name, text in lower_dual_signature(bundled()).items():
        (folder / name).write_text(text, "utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text(lower_policy_ceiling(), "utf-8")
    result = CliRunner().invoke(main, ["--database", database_url, "replay", "--candidate", str(folder),
                                       "--policy", str(policy)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Replayed 4 loans" in result.output
    assert "1 of 4 loans would have gone to" in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith(loans["middle"])]
    assert "origination" in line
    limited = CliRunner().invoke(main, ["--database", database_url, "replay", "--candidate", str(folder),
                                        "--limit", "2"], catch_exceptions=False)
    assert "Replayed 2 loans" in limited.output


def test_a_replay_with_a_time_budget_stops_after_the_newest_loans_it_had_time_for(engine, loans):
    report = engine.replay(bundled(), budget=0)
    assert report.total == 1 and report.same == 1  # the newest loan, then the budget was spent
    assert engine.replay(bundled(), budget=60).total == 4
