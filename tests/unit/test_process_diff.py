"""The semantic diff a reviewer reads before approving a redesign: real edits of the bundled files, in words."""
from __future__ import annotations

import json
import re

import pytest

from engine.bootstrap import BUNDLED_BPMN
from engine.runtime.diff import diagram_marks, diff_bundles


def bundled() -> dict[str, str]:
    return {str(p.relative_to(BUNDLED_BPMN)): p.read_text("utf-8") for p in sorted(BUNDLED_BPMN.rglob("*"))
            if p.is_file()}


@pytest.fixture
def files():
    return bundled()


def edited(files, name, old, new, count=1):
    assert old in files[name], old
    return {**files, name: files[name].replace(old, new, count)}


def sentences(changes):
    return [c.text() for c in changes]


def test_identical_sets_have_no_change(files):
    assert diff_bundles(files, bundled()) == []


def test_a_renamed_task_is_one_change_on_that_task(files):
    new = edited(files, "origination.bpmn", 'name="审批签字(风险)"', 'name="风险审批签字"')
    [change] = diff_bundles(files, new)
    assert (change.kind, change.what, change.element, change.file, change.process) == (
        "changed", "task", "sign_risk", "origination.bpmn", "origination")
    assert change.text() == "User task 审批签字(风险) renamed to 风险审批签字"


def test_a_task_moved_to_another_lane(files):
    new = edited(files, "origination.bpmn", "<bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>\n", "")
    new = edited(new, "origination.bpmn", "<bpmn:flowNodeRef>review</bpmn:flowNodeRef>",
                 "<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>sign_risk</bpmn:flowNodeRef>")
    [change] = diff_bundles(files, new)
    assert (change.what, change.element) == ("lane", "sign_risk")
    assert change.text() == "User task Sign approval (risk) moved from lane Risk manager to Credit reviewer"
    assert change.params["old_lane_zh"] == "风险经理" and change.params["new_lane_zh"] == "授信审查岗"


def test_a_changed_duty(files):
    new = edited(files, "origination.bpmn", '<spiffworkflow:property name="duty" value="investigate" />',
                 '<spiffworkflow:property name="duty" value="review" />')
    [change] = diff_bundles(files, new)
    assert (change.what, change.element) == ("duty", "investigate")
    assert change.text() == "Duty of Investigate borrower changed from investigate to review"
    assert change.params["name_zh"] == "调查借款人"


def test_a_changed_condition(files):
    new = edited(files, "origination.bpmn", "amount &gt; dual_investigation_threshold",
                 "amount &gt;= dual_investigation_threshold")
    [change] = diff_bundles(files, new)
    assert (change.what, change.element) == ("condition", "flow_assist_yes")
    assert "from `amount > dual_investigation_threshold` to `amount >= dual_investigation_threshold`" in change.text()


def test_a_changed_timer(files):
    new = edited(files, "origination.bpmn", '"PT%dH" % chair_veto_hours', '"P3D"')
    [change] = diff_bundles(files, new)
    assert (change.what, change.element) == ("timer", "chair_veto_timeout")
    assert change.text() == 'Timer on Veto period expired changed from "PT%dH" % chair_veto_hours to "P3D"'


def test_a_changed_decision_cell(files):
    new = edited(files, "approval_tier.dmn", "&lt;= 3000000</text>", "&lt;= 5000000</text>")
    [change] = diff_bundles(files, new)
    assert (change.what, change.element, change.file) == ("decision rule", "rule_new_dual_signature",
                                                          "approval_tier.dmn")
    assert change.text() == ("Decision approval_tier row 1: input group_exposure changed from <= 3000000 "
                             "to <= 5000000")


def test_decision_rows_added_removed_and_reordered(files):
    dmn = files["approval_tier.dmn"]
    rows = re.findall(r"      <rule id=.*?</rule>\n", dmn, re.S)
    swapped = dmn.replace(rows[0] + rows[1], rows[1] + rows[0])
    assert sentences(diff_bundles(files, {**files, "approval_tier.dmn": swapped})) == [
        "Decision approval_tier: the order of its rows changed (hit policy FIRST)"]
    removed = diff_bundles(files, {**files, "approval_tier.dmn": dmn.replace(rows[3], "")})
    assert [(c.kind, c.element) for c in removed] == [("removed", "rule_one_up_branch")]
    assert "row 4 removed" in removed[0].text()


def test_form_fields_added_changed_and_required(files):
    schema = json.loads(files["forms/sign_risk.schema.json"])
    schema["properties"]["amount"] = {"type": "number", "title": "Amount", "x-title-zh": "金额"}
    schema["properties"]["reason"]["maxLength"] = 500
    schema["required"].append("amount")
    new = {**files, "forms/sign_risk.schema.json": json.dumps(schema, ensure_ascii=False, indent=2)}
    found = {(c.kind, c.element): c.text() for c in diff_bundles(files, new)}
    assert found == {
        ("added", "amount"): "Form Dual signature: risk: field Amount (amount) added",
        ("changed", "reason"): "Form Dual signature: risk: field Reason (reason) changed: maxLength",
    }


def test_a_task_added_and_one_removed(files):
    new = edited(files, "origination.bpmn", '<bpmn:userTask id="prepare_contract" name="拟定并签订合同">',
                 '<bpmn:userTask id="check_contract" name="合同复核"><bpmn:incoming>flow_x</bpmn:incoming>'
                 '</bpmn:userTask>\n    <bpmn:userTask id="prepare_contract" name="拟定并签订合同">')
    new = edited(new, "origination.bpmn", "<bpmn:flowNodeRef>prepare_contract</bpmn:flowNodeRef>",
                 "<bpmn:flowNodeRef>prepare_contract</bpmn:flowNodeRef><bpmn:flowNodeRef>check_contract"
                 "</bpmn:flowNodeRef>")
    block = re.search(r'    <bpmn:userTask id="register_collateral".*?</bpmn:userTask>\n', files["origination.bpmn"], re.S)
    new = edited(new, "origination.bpmn", block.group(0), "")
    found = {(c.kind, c.element): c.text() for c in diff_bundles(files, new)}
    assert found == {
        ("added", "check_contract"): "User task 合同复核 added in lane Customer manager",
        ("removed", "register_collateral"): "User task Register collateral removed from lane Collateral custodian",
    }
    marks = diagram_marks(diff_bundles(files, new))["origination.bpmn"]
    assert marks == {"old": {"register_collateral": "removed"}, "new": {"check_contract": "added"}}


def test_layout_only_is_one_note(files):
    moved = re.sub(r'(<bpmndi:BPMNShape id="[^"]*" bpmnElement="review"[^>]*>\s*<dc:Bounds [^>]*x=")(\d+)',
                   lambda m: m.group(1) + str(int(m.group(2)) + 40), files["origination.bpmn"], count=1)
    assert moved != files["origination.bpmn"]
    [change] = diff_bundles(files, {**files, "origination.bpmn": moved})
    assert (change.what, change.element) == ("layout", None)
    assert change.text() == "Diagram layout of origination.bpmn changed"
    assert diagram_marks([change]) == {}


def test_an_unreadable_file_is_said_to_have_changed(files):
    [change] = diff_bundles(files, {**files, "origination.bpmn": "<not xml"})
    assert (change.kind, change.what, change.file) == ("changed", "file", "origination.bpmn")


def test_sentences_in_chinese_use_the_diagram_names():
    from engine.i18n import translations

    files = bundled()
    new = edited(files, "origination.bpmn", '<spiffworkflow:property name="duty" value="investigate" />',
                 '<spiffworkflow:property name="duty" value="review" />')
    [change] = diff_bundles(files, new)
    assert change.text(translations("zh_CN").gettext) == "调查借款人的职责由 investigate 改为 review"


@pytest.mark.parametrize("name, text", [
    ("forms/review.schema.json", "[1, 2]"),
    ("forms/review.schema.json", '{"properties": []}'),
    ("origination.en.json", '{"elements": []}'),
    ("origination.bpmn", '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">'
                         '<userTask/><sequenceFlow/><lane/></process></definitions>'),
    ("approval_tier.dmn", '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"><decision id="d">'
                          '<decisionTable><rule><inputEntry/></rule></decisionTable></decision></definitions>'),
    ("origination.bpmn", '<!DOCTYPE x [<!ENTITY e "e">]><definitions>&e;</definitions>'),
])
def test_odd_files_give_sentences_never_a_traceback(files, name, text):
    changes = diff_bundles(files, {**files, name: text})
    assert changes and all(change.text() for change in changes)


@pytest.mark.parametrize("name, text", [("forms/review.schema.json", "[1, 2]"), ("origination.en.json", "{"),
                                        ("origination.bpmn", "<not xml")])
def test_a_comparison_of_odd_files_still_draws_what_it_can(files, name, text):
    from engine.queries.comparison import comparison

    found = comparison(files, {**files, name: text}, "en", ("origination.bpmn",))
    assert found.changes
    [pair] = [p for p in found.diagrams if p.file == "origination.bpmn"]
    assert pair.old_xml and (pair.new_xml is None) == (name == "origination.bpmn")


def test_tasks_using_a_changed_table_or_form_are_marked_on_the_diagram(files):
    from engine.queries.comparison import comparison

    new = edited(files, "approval_tier.dmn", "&lt;= 3000000</text>", "&lt;= 5000000</text>")
    schema = json.loads(files["forms/sign_risk.schema.json"])
    schema["properties"]["reason"]["maxLength"] = 500
    new["forms/sign_risk.schema.json"] = json.dumps(schema, ensure_ascii=False)
    pairs = {p.process_id: p for p in comparison(files, new, "zh_CN").diagrams}
    assert sorted(pairs) == ["extension", "origination"]  # the extension is approved with the same table and forms
    pair = pairs["origination"]
    assert pair.file == "origination.bpmn"
    assert pair.old_marks == pair.new_marks == {"decide_tier": "changed", "sign_risk": "changed"}
    assert pairs["extension"].new_marks == {"extension_decide_tier": "changed", "extension_sign_risk": "changed"}
    assert "审批签字(风险)" in pair.new_xml
    assert all("Sign approval (risk)" in p.new_xml for p in comparison(files, new, "en").diagrams)


def test_an_attribute_left_out_where_it_held_its_default_is_no_change():
    from engine.runtime.canonical import canonical_sha256

    text = (BUNDLED_BPMN / "origination.bpmn").read_text(encoding="utf-8")
    assert 'cancelActivity="true"' in text
    saved = text.replace(' cancelActivity="true"', "")  # as bpmn-js writes it back
    assert [c for c in diff_bundles({"origination.bpmn": text}, {"origination.bpmn": saved})] == []
    assert canonical_sha256({"origination.bpmn": text}) == canonical_sha256({"origination.bpmn": saved})
