"""A rejected command changes nothing; versions pin running instances; a concurrent change is reported, not lost."""
import shutil
import threading

import pytest
from sqlalchemy import func, select, text

from engine.bootstrap import BUNDLED_BPMN
from engine.errors import InvalidInput, NotAllowed, NotFound, ScriptFailed
from engine.simulation.documents import attach_required
from engine.store.models import AuditEvent, DutyRecord, Loan, Payment, ProcessInstance, WorkItem


def snapshot(engine, ref):
    """Everything a completion could touch, except the audit trail (refusals are recorded there on purpose)."""
    with engine.db.reading() as s:
        loan = s.scalar(select(Loan).where(Loan.reference == ref))
        return {
            "loan": {c.name: getattr(loan, c.key) for c in Loan.__table__.columns},
            "instances": [(i.id, i.version, i.status, i.state, i.next_timer_due)
                          for i in s.scalars(select(ProcessInstance).where(ProcessInstance.loan_id == loan.id))],
            "items": [(w.id, w.task_id, w.claimed_by) for w in s.scalars(select(WorkItem).where(WorkItem.loan_id == loan.id))],
            "duties": s.scalar(select(func.count()).select_from(DutyRecord).where(DutyRecord.loan_id == loan.id)),
            "payments": s.scalar(select(func.count()).select_from(Payment).where(Payment.loan_id == loan.id)),
        }


def audit_actions(engine):
    with engine.db.reading() as s:
        return [a for a in s.scalars(select(AuditEvent.action).order_by(AuditEvent.id))]


@pytest.mark.parametrize("data, field, message", [
    ({"findings": "ok", "repayment_source": "cash"}, "recommendation", "This field is required."),
    ({"findings": 42, "repayment_source": "cash", "recommendation": "proceed"}, "findings", "Must be text."),
    ({"findings": "ok", "repayment_source": "cash", "recommendation": "maybe"}, "recommendation", "Must be one of"),
    ({"findings": "ok", "repayment_source": "cash", "recommendation": "proceed", "bonus": 1}, "bonus", "Unknown field."),
])
def test_bad_form_data_is_refused_field_by_field_and_changes_nothing(engine, driver, data, field, message):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    before, events = snapshot(engine, ref), len(audit_actions(engine))
    with pytest.raises(InvalidInput) as refused:
        engine.complete("cm_wang", item.id, data)
    assert message in refused.value.fields[field]
    assert snapshot(engine, ref) == before
    assert len(audit_actions(engine)) == events


def test_a_raising_script_rolls_the_whole_step_back(engine, driver, tmp_path):
    """A redesigned BPMN whose gateway condition divides by zero: the completion fails, the loan is untouched."""
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace('recommendation == "withdraw"', 'recommendation == "withdraw" or 1 / 0 > 0'))
    deployed = {r.process_id: (r.version, r.created) for r in engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")}
    assert deployed["origination"] == (2, True) and deployed["post_loan"] == (1, False)
    ref = driver.start()
    item = driver.item(ref, "investigate")
    attach_required(engine, "cm_wang", item.id)
    before, events = snapshot(engine, ref), audit_actions(engine)
    with pytest.raises(ScriptFailed, match="division by zero"):
        engine.complete("cm_wang", item.id, dict(findings="ok", repayment_source="cash", recommendation="proceed"))
    assert snapshot(engine, ref) == before
    assert audit_actions(engine) == events + ["incident_opened"]  # counted for the designers, nothing else
    # nothing half-done survives in memory either: a completion that avoids the fault goes through cleanly
    engine.complete("cm_wang", item.id, dict(findings="ok", repayment_source="cash", recommendation="withdraw"))
    assert engine.loan(ref).status == "withdrawn"


def test_policy_refusal_changes_nothing_but_is_recorded(engine, driver):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_wang")
    engine.grant_role("cm_wang", "risk_manager", "BJ01", limit=5_000_000)
    item = driver.item(ref, "sign_risk")
    before = snapshot(engine, ref)
    with pytest.raises(NotAllowed) as refused:
        engine.complete("cm_wang", item.id, {"decision": "approve", "conditions": "", "reason": "mine"})
    assert "investigate and approve must be different people" in str(refused.value)
    assert snapshot(engine, ref) == before
    with engine.db.reading() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.outcome, event.actor, event.loan_ref) == ("refused", "denied", "cm_wang", ref)
        assert event.rule == "SOD-01" and event.policy_version == engine.policy.version


def test_running_instances_stay_on_their_version_and_redeploying_unchanged_files_is_a_no_op(engine, driver, tmp_path):
    old = driver.start()
    assert {(r.version, r.created) for r in engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")} == {(1, False)}
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace('name="调查借款人"', 'name="调查借款人 (v2)"'))
    engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
    new = driver.start(borrower="New Version Co.")
    assert [i.version for i in engine.loan(old).instances] == [1]
    assert [i.version for i in engine.loan(new).instances] == [2]
    assert driver.item(old, "investigate").name == "调查借款人"
    assert driver.item(new, "investigate").name == "调查借款人 (v2)"
    driver.do(old, "investigate", "cm_wang")
    assert driver.open_steps(old) == ["review"]


def test_a_rejected_deployment_deploys_nothing(engine, tmp_path):
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    (redesign / "post_loan.bpmn").write_text((redesign / "post_loan.bpmn").read_text().replace(
        'name="贷后管理部门负责人"', 'name="branch_president"'))
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace('name="调查借款人"', 'name="Investigate again"'))
    from engine.runtime.validation import DeploymentRejected
    with pytest.raises(DeploymentRejected, match="lane 'branch_president', which is not a known role"):
        engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert {v for _p, v, _at in engine.deployed()} == {1}


@pytest.mark.postgres
def test_a_completion_waits_for_the_writer_holding_the_instance_and_sees_its_result(engine, driver, database_url):
    """Another process holds the instance (it is completing the same task): this completion waits for it, then
    finds the task gone and changes nothing, instead of completing it a second time."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers before they read; the race needs PostgreSQL")
    ref = driver.start()
    item = driver.item(ref, "investigate")
    instance_id = engine.loan(ref).instances[0].id
    outcome = {}

    def complete():
        try:
            engine.complete("cm_wang", item.id, dict(findings="ok", repayment_source="cash", recommendation="proceed"))
            outcome["result"] = "completed"
        except NotFound as err:
            outcome["result"] = str(err)

    with engine.db.engine.connect() as other:
        other.execute(text("SELECT id FROM process_instance WHERE id = :i FOR UPDATE"), {"i": instance_id})
        racer = threading.Thread(target=complete)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # it waits for the lock instead of reading a copy that is about to change
        other.execute(text("DELETE FROM work_item WHERE id = :i"), {"i": item.id})
        other.execute(text("UPDATE process_instance SET version = version + 1 WHERE id = :i"), {"i": instance_id})
        other.commit()
    racer.join(timeout=30)
    assert "already completed" in outcome["result"]
    assert not any(a.duty == "investigate" for a in engine.loan(ref).acts)


@pytest.mark.parametrize("due, refused_at_deployment", [
    ("P99999999Y", True), ('"P%dY" % 99999999', False), ("business_days(10 ** 7)", False)])
def test_an_absurd_due_time_is_refused_or_fails_the_one_completion_clearly(engine, driver, tmp_path, due,
                                                                         refused_at_deployment):
    redesign = tmp_path / "bpmn"
    shutil.copytree(BUNDLED_BPMN, redesign)
    path = redesign / "origination.bpmn"
    path.write_text(path.read_text().replace(
        '<spiffworkflow:property name="duty" value="review" />',
        '<spiffworkflow:property name="duty" value="review" />\n'
        f'          <spiffworkflow:property name="due" value="{due.replace(chr(34), "&quot;")}" />'))
    from engine.runtime.validation import DeploymentRejected
    if refused_at_deployment:
        with pytest.raises(DeploymentRejected, match="more than 3660 days"):
            engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
        return
    engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = driver.start()
    before = snapshot(engine, ref)
    with pytest.raises(ScriptFailed, match="more than"):
        driver.do(ref, "investigate", "cm_wang")
    assert snapshot(engine, ref) == before
