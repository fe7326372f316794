"""Redesigns a risk manager makes in a modeler: what deploys must run a loan to its end, the rest is refused."""
from __future__ import annotations

import json
import re
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


@pytest.mark.usefixtures("engine_mode")  # also with a fresh engine per command: the spec read back from its row
def test_a_plain_task_is_a_step_that_runs_through_on_its_own(engine, driver, tmp_path):
    results = engine.deploy([str(step_between_signatures(tmp_path, "task"))], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert [(r.process_id, r.version) for r in results if r.created] == [("origination", 2)]
    ref = driver.start()
    driver.through_approval_dual(ref)
    assert engine.loan_tier(ref) == "dual_signature"
    assert driver.open_steps(ref) == ["prepare_contract", "register_collateral"]


def test_a_manual_task_is_refused_with_what_to_draw_instead(engine, tmp_path):
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy([str(step_between_signatures(tmp_path, "manualTask"))], actor="designer_zheng", approved_by="designer_wu", source="cli")
    [problem] = refused.value.problems
    assert (problem.file, problem.element) == ("origination.bpmn", "record_business_signature") and problem.line
    assert "manualTask '登记业务签字' is not supported" in problem.message and "user task" in problem.message
    assert [v for _p, v, _at in engine.deployed()] == [1] * len(engine.deployed())


def test_a_duty_the_policy_does_not_define_never_deploys(engine, tmp_path):
    folder = redesigned(tmp_path, {"origination.bpmn": [
        ('<spiffworkflow:property name="duty" value="review" />',
         '<spiffworkflow:property name="duty" value="double_check" />')]})
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy([str(folder)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert any("duty 'double_check' is not defined in policy" in p.message for p in refused.value.problems)


def test_a_lane_the_policy_never_lets_do_the_duty_never_deploys(engine, tmp_path):
    folder = redesigned(tmp_path, {"origination.bpmn": [
        ('<spiffworkflow:property name="duty" value="approve" />',
         '<spiffworkflow:property name="duty" value="review" />')]})  # the risk signature as a review
    with pytest.raises(DeploymentRejected) as refused:
        engine.deploy([str(folder)], actor="designer_zheng", approved_by="designer_wu", source="cli")
    assert [(p.element, p.message.split(",")[0]) for p in refused.value.problems] == [
        ("sign_risk", "user task '审批签字(风险)' is in lane 'risk_manager'")]


# -- what counts as a new version -------------------------------------------------------------------------------
def saved_again_by_another_modeler(text: str, name: str) -> str:
    """The same model as another tool writes it: other prefixes, attributes in another order, other indentation."""
    from lxml import etree

    if name.endswith(".bpmn"):  # bpmn: prefix -> default namespace
        text = re.sub(r"<(/?)bpmn:", r"<\1", text).replace("xmlns:bpmn=", "xmlns=")
        text = text.replace('xsi:type="bpmn:', 'xsi:type="')
    else:  # default namespace -> dmn: prefix
        text = re.sub(r"<(/?)([A-Za-z][\w.-]*)(?=[\s/>])", r"<\1dmn:\2", text).replace('xmlns="', 'xmlns:dmn="')
    root = etree.fromstring(text.encode("utf-8"))
    for node in root.iter():
        if isinstance(node.tag, str):
            items = list(node.attrib.items())
            node.attrib.clear()
            for key, value in reversed(items):
                node.set(key, value)
    etree.indent(root, space="\t")
    root.set("exporter", "Camunda Modeler")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def resaved(tmp_path):
    folder = tmp_path / "resaved"
    shutil.copytree(BUNDLED_BPMN, folder)
    for path in [*folder.glob("*.bpmn"), *folder.glob("*.dmn")]:
        path.write_text(saved_again_by_another_modeler(path.read_text(encoding="utf-8"), path.name), encoding="utf-8")
    for path in [*folder.glob("*.json"), *(folder / "forms").glob("*.json")]:
        path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=4, sort_keys=True),
                        encoding="utf-8")
    return folder


def test_opening_and_saving_with_no_change_deploys_nothing(engine, driver, tmp_path):
    folder = resaved(tmp_path)
    original = (BUNDLED_BPMN / "origination.bpmn").read_text(encoding="utf-8")
    assert (folder / "origination.bpmn").read_text(encoding="utf-8") != original
    assert "<userTask" in (folder / "origination.bpmn").read_text(encoding="utf-8")
    assert "<dmn:decision" in (folder / "approval_tier.dmn").read_text(encoding="utf-8")
    assert not [r for r in engine.deploy([str(folder)], actor="designer_zheng", approved_by="designer_wu", source="cli") if r.created]

    text = (folder / "origination.bpmn").read_text(encoding="utf-8")
    (folder / "origination.bpmn").write_text(text.replace('name="审查授信材料"', 'name="审查全部授信材料"'),
                                             encoding="utf-8")
    assert [(r.process_id, r.version) for r in engine.deploy([str(folder)], actor="designer_zheng", approved_by="designer_wu", source="cli") if r.created] == [
        ("origination", 2)]


def test_versions_deployed_with_every_decision_table_and_a_raw_hash_are_not_deployed_again(engine):
    from sqlalchemy import select

    from engine.store.models import ProcessVersion

    every_table = {p.name: p.read_text(encoding="utf-8") for p in BUNDLED_BPMN.glob("*.dmn")}
    every_table.update({f"{n[:-4]}.en.json": (BUNDLED_BPMN / f"{n[:-4]}.en.json").read_text(encoding="utf-8")
                        for n in list(every_table)})
    with engine.db.transaction() as session:  # as the versions deployed before this release were stored
        for version in session.scalars(select(ProcessVersion)):
            version.files = {**version.files, **every_table}
            version.sha256 = "0" * 64
    assert not [r for r in engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli") if r.created]


def test_a_changed_decision_table_is_a_new_version_only_of_the_processes_that_call_it(engine, driver, tmp_path):
    folder = redesigned(tmp_path, {"classification_floor.dmn": [  # loss from 300 days overdue instead of 360
        ("<text>&gt; 360</text>", "<text>&gt; 300</text>")]})
    assert [(r.process_id, r.version) for r in engine.deploy([str(folder)], actor="designer_zheng", approved_by="designer_wu", source="cli") if r.created] == [
        ("classification", 2)]
