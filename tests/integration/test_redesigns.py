"""Redesigns a risk manager makes in a modeler: what deploys must run a loan to its end, the rest is refused."""
from __future__ import annotations

import shutil

import pytest

from engine.bootstrap import BUNDLED_BPMN
from engine.runtime.validation import DeploymentRejected

BETWEEN_SIGNATURES = '<bpmn:sequenceFlow id="flow_business_approve" name="同意" sourceRef="business_outcome" ' \
                     'targetRef="sign_risk">'
SIGN_RISK_LANE = "<bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>"


def redesigned(tmp_path, edits: dict[str, list[tuple[str, str]]]):
    """The bundled files copied to a folder, with each file's (old, new) text replacements made."""
    folder = tmp_path / "redesign"
    shutil.copytree(BUNDLED_BPMN, folder)
    for name, replacements in edits.items():
        text = (folder / name).read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new, 1)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def step_between_signatures(tmp_path, kind: str):
    """A step of the given BPMN kind drawn between the business and the risk signature."""
    step = (f'<bpmn:{kind} id="record_business_signature" name="登记业务签字">'
            '<bpmn:incoming>flow_business_approve</bpmn:incoming><bpmn:outgoing>flow_recorded</bpmn:outgoing>'
            f'</bpmn:{kind}>'
            '<bpmn:sequenceFlow id="flow_recorded" sourceRef="record_business_signature" targetRef="sign_risk" />')
    return redesigned(tmp_path, {"origination.bpmn": [
        (SIGN_RISK_LANE, SIGN_RISK_LANE + "<bpmn:flowNodeRef>record_business_signature</bpmn:flowNodeRef>"),
        (BETWEEN_SIGNATURES, step + BETWEEN_SIGNATURES.replace('targetRef="sign_risk"',
                                                               'targetRef="record_business_signature"')),
    ]})


def test_a_plain_task_is_a_step_that_runs_through_on_its_own(engine, driver, tmp_path):
    results = engine.deploy([str(step_between_signatures(tmp_path, "task"))], source="cli")
    assert [(r.process_id, r.version) for r in results if r.created] == [("origination", 2)]
    ref = driver.start()
    driver.through_approval_dual(ref)
    assert engine.loan_tier(ref) == "dual_signature"
    assert driver.open_steps(ref) == ["prepare_contract", "register_collateral"]


def test_a_manual_task_is_refused_with_what_to_draw_instead(engine, tmp_path):
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy([str(step_between_signatures(tmp_path, "manualTask"))], source="cli")
    [problem] = refused.value.problems
    assert (problem.file, problem.element) == ("origination.bpmn", "record_business_signature") and problem.line
    assert "manualTask '登记业务签字' is not supported" in problem.message and "user task" in problem.message
    assert [v for _p, v, _at in engine.deployed()] == [1] * len(engine.deployed())


def test_a_duty_the_policy_does_not_define_never_deploys(engine, tmp_path):
    folder = redesigned(tmp_path, {"origination.bpmn": [
        ('<spiffworkflow:property name="duty" value="review" />',
         '<spiffworkflow:property name="duty" value="double_check" />')]})
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy([str(folder)], source="cli")
    assert any("duty 'double_check' is not defined in policy" in p.message for p in refused.value.problems)


def test_a_lane_the_policy_never_lets_do_the_duty_never_deploys(engine, tmp_path):
    folder = redesigned(tmp_path, {"origination.bpmn": [
        ('<spiffworkflow:property name="duty" value="approve" />',
         '<spiffworkflow:property name="duty" value="review" />')]})  # the risk signature as a review
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy([str(folder)], source="cli")
    assert [(p.element, p.message.split(",")[0]) for p in refused.value.problems] == [
        ("sign_risk", "user task '审批签字(风险)' is in lane 'risk_manager'")]
