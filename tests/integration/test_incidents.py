"""A step that fails after a timer becomes an incident; the other loans due at the same moment still move on."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.store.models import AuditEvent
from engine.errors import InvalidInput, NotAllowed, ScriptFailed

# A redesign that passes validation and fails at run time: a check after the first inspection timer divides by zero.
POISON_STEP = """
    <bpmn:scriptTask id="check_exposure" name="Check exposure ratio" scriptFormat="python">
      <bpmn:incoming>flow_first_due</bpmn:incoming>
      <bpmn:outgoing>flow_checked</bpmn:outgoing>
      <bpmn:script>exposure_ratio = amount / 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_checked" sourceRef="check_exposure" targetRef="inspection_merge" />
"""


def poisoned_bundle(tmp_path):
    folder = tmp_path / "redesign"
    shutil.copytree(BUNDLED_BPMN, folder)
    path = folder / "post_loan.bpmn"
    xml = path.read_text(encoding="utf-8")
    xml = xml.replace('<bpmn:sequenceFlow id="flow_first_due" sourceRef="first_inspection_due" '
                      'targetRef="inspection_merge" />',
                      '<bpmn:sequenceFlow id="flow_first_due" sourceRef="first_inspection_due" '
                      'targetRef="check_exposure" />' + POISON_STEP)
    xml = xml.replace("<bpmn:incoming>flow_first_due</bpmn:incoming>", "<bpmn:incoming>flow_checked</bpmn:incoming>")
    xml = xml.replace("<bpmn:flowNodeRef>inspection_merge</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>inspection_merge</bpmn:flowNodeRef>"
                      "<bpmn:flowNodeRef>check_exposure</bpmn:flowNodeRef>")
    path.write_text(xml, encoding="utf-8")
    return folder


def disbursed(driver, ref):
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")


def post_loan_version(engine, ref):
    return [i.version for i in engine.loan(ref).instances if i.process_id == "post_loan"][0]


def test_a_failing_instance_becomes_an_incident_and_the_others_fire(engine, driver, clock, tmp_path, database_url):
    redesign = poisoned_bundle(tmp_path)
    assert engine.validate([redesign]) == []  # validation cannot see a division by zero
    engine.deploy([redesign], actor="designer_zheng", approved_by="designer_wu", source="cli")
    poisoned = driver.start()
    disbursed(driver, poisoned)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")  # the fix, as a newer version
    healthy = [driver.start() for _ in range(2)]
    for ref in healthy:
        disbursed(driver, ref)
    assert post_loan_version(engine, poisoned) == 2 and {post_loan_version(engine, r) for r in healthy} == {3}

    clock.advance(days=15, minutes=5)
    assert engine.tick() == 2  # the two healthy loans moved; the poisoned one did not stop them
    for ref in healthy:
        assert driver.open_steps(ref) == ["assist_inspection", "lead_inspection"]
    assert driver.open_steps(poisoned) == []

    [incident] = engine.incidents()
    assert (incident.loan_ref, incident.kind, incident.step, incident.attempts) == (poisoned, "timer",
                                                                                    "check_exposure", 1)
    assert "division by zero" in incident.error and incident.process_id == "post_loan"
    assert incident.next_attempt_at == clock.now() + timedelta(seconds=engine.settings.incident_backoff_seconds)

    # backoff: nothing is attempted before the next attempt is due, then it counts one more
    assert engine.tick() == 0 and engine.incident(incident.id).attempts == 1
    clock.advance(seconds=engine.settings.incident_backoff_seconds + 1)
    assert engine.tick() == 0 and engine.incident(incident.id).attempts == 2

    # a fresh engine (another worker process) sees the same incident and skips the instance while it waits
    other = build_engine(database_url, clock=clock)
    assert [i.id for i in other.incidents()] == [incident.id] and other.tick() == 0

    with pytest.raises(NotAllowed):
        other.retry_incident(incident.id, actor="cm_wang")
    resolved = other.retry_incident(incident.id, actor="designer_zheng", to_latest=True)
    assert resolved.status == "resolved" and resolved.resolved_by is None
    assert post_loan_version(other, poisoned) == 3
    assert driver.open_steps(poisoned) == ["assist_inspection", "lead_inspection"]
    assert other.incidents() == []
    with other.db.reading() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.loan_ref == poisoned)))
    other.db.dispose()
    assert {"incident_opened", "incident_failed_again", "incident_retried", "instance_migrated",
            "incident_resolved"} <= actions


def test_after_the_last_attempt_the_incident_waits_for_a_person(engine, driver, clock, tmp_path):
    engine.deploy([poisoned_bundle(tmp_path)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = driver.start()
    disbursed(driver, ref)
    clock.advance(days=15, minutes=5)
    for _attempt in range(engine.settings.incident_max_attempts):
        engine.tick()
        clock.advance(hours=12)
    [incident] = engine.incidents()
    assert incident.attempts == engine.settings.incident_max_attempts and incident.next_attempt_at is None
    clock.advance(days=30)
    engine.tick()
    assert engine.incident(incident.id).attempts == engine.settings.incident_max_attempts
    # a retry without the fix counts one more failure and stays open
    assert engine.retry_incident(incident.id, actor="designer_zheng").status == "open"
    with pytest.raises(InvalidInput):
        engine.retry_incident(incident.id, actor="designer_zheng", to_latest=True)  # no newer version to move to


def test_a_failed_completion_changes_nothing_and_is_counted(engine, driver, tmp_path):
    folder = tmp_path / "redesign"
    shutil.copytree(BUNDLED_BPMN, folder)
    path = folder / "origination.bpmn"
    xml = path.read_text(encoding="utf-8")
    condition = 'recommendation == "proceed"'
    assert xml.count(condition) == 1
    path.write_text(xml.replace(condition, condition + " and amount / 0 &gt; 0"), encoding="utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    ref = driver.start()
    before = (driver.open_steps(ref), engine.loan(ref).stage, engine.loan(ref).instances)
    with pytest.raises(ScriptFailed):
        driver.do(ref, "investigate", "cm_wang")
    assert (driver.open_steps(ref), engine.loan(ref).stage, engine.loan(ref).instances) == before
    [incident] = engine.incidents()
    assert incident.kind == "task" and incident.loan_ref == ref and "division by zero" in incident.error
    assert incident.next_attempt_at is None
    assert engine.tick() == 0  # a failed completion never blocks timers, and is not retried by the worker


def test_a_failed_completion_whose_task_went_through_meanwhile_records_no_incident(engine, driver):
    """Two people complete the same task; one attempt fails in a script and rolls back, the other takes the
    instance's lock and completes it. The failure, counted afterwards, finds the step done: no incident is left
    open for it. A failure on a task still open is counted."""
    from engine.commands.failures import count_failure
    from engine.store.models import Incident

    from engine.store.models import WorkItem

    ref = driver.start()
    investigate = driver.item(ref, "investigate")
    with engine.db.reading() as session:
        instance_id = session.scalar(select(WorkItem.instance_id).where(WorkItem.id == investigate.id))
    driver.do(ref, "investigate", "cm_wang")
    failed = ScriptFailed("name 'x' is not defined")
    assert count_failure(engine.kernel, instance_id, "task", failed, detail={"task": "investigate"}) is None
    assert count_failure(engine.kernel, instance_id, "task", failed, detail={"task": "review"}) is not None
    with engine.db.reading() as session:
        assert [i.detail["task"] for i in session.scalars(select(Incident).where(
            Incident.instance_id == instance_id, Incident.status == "open"))] == ["review"]
