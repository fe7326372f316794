"""A risk manager edits origination in the browser modeler: the properties panel shows what the engine reads, a step
without a duty is marked on the diagram after Check, a decision table opens, and a save with no change loses
nothing (extension properties, diagram, documentation, Chinese names)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from .test_content_security_policy import RECORD_VIOLATIONS
from .test_credit_flow import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")

# A step put between the review and what follows it, in the reviewer's lane, named but with no duty yet; room made
# for it as the space tool makes it.
ADD_TASK_WITHOUT_DUTY = """() => {
  const modeler = window.__modeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
  const review = registry.get('review'), lane = registry.get('lane_credit_reviewer');
  const start = review.x + review.width + 20, root = modeler.get('canvas').getRootElement();
  const room = modeler.get('spaceTool').calculateAdjustments(
    registry.filter(e => e !== root), 'x', 150, start);
  modeling.createSpace(room.movingShapes, room.resizingShapes, {x: 150, y: 0}, 'e', start);
  const flow = review.outgoing[0], next = flow.target;
  const shape = modeling.createShape({type: 'bpmn:UserTask'},
    {x: start + 65, y: review.y + review.height / 2}, review.parent);
  modeling.updateLabel(shape, '补充核查');
  modeling.reconnectEnd(flow, shape, {x: shape.x, y: shape.y + shape.height / 2});
  modeling.connect(shape, next);
  return shape.id;
}"""


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"modeler-{name}.png"))


# Attributes bpmn-js leaves out when they hold the BPMN default, which means the same.
DEFAULTS = {("cancelActivity", "true"), ("isInterrupting", "true"), ("parallelMultiple", "false"),
            ("isForCompensation", "false"), ("isImmediate", "true")}
# Who wrote the file: bpmn-js signs its export.
TOOL = {"exporter", "exporterVersion"}


def semantic(xml: str) -> list[tuple]:
    """Every element with its attributes, its text and where it sits (the ids above it), whatever the formatting,
    the prefixes and the order of siblings (bpmn-js writes the diagram's shapes in its own order)."""
    root = etree.fromstring(xml.encode("utf-8"))

    def place(el) -> tuple:
        return tuple(a.get("id") or etree.QName(a).localname for a in el.iterancestors())

    return sorted((place(el), el.tag, tuple(sorted((k, v) for k, v in el.attrib.items()
                                                   if (k, v) not in DEFAULTS and k not in TOOL)),
                   (el.text or "").strip()) for el in root.iter() if isinstance(el.tag, str))


def select(page, element_id: str) -> None:
    """Select an element as a click would (the diagram is larger than the canvas)."""
    page.evaluate("""id => { const m = window.__modeler, e = m.get('elementRegistry').get(id);
                              m.get('canvas').scrollToElement(e); m.get('selection').select(e); }""", element_id)


def open_modeler(page, process_id: str = "origination") -> None:
    page.goto(f"/studio/edit/{process_id}")
    page.wait_for_selector("[data-modeler][data-ready=yes]")


def test_a_designer_sees_the_duty_adds_a_step_and_check_marks_the_missing_duty(zh_page, live_app):
    page = zh_page
    problems = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "designer_zheng")
    page.click("nav.mainnav >> text=流程设计")
    page.wait_for_selector("[data-modeler][data-ready=yes]")
    assert page.locator(".bjs-powered-by").first.is_visible()  # the bpmn.io licence needs the watermark shown
    for task in ("investigate", "review", "sign_business", "sign_risk"):
        assert page.locator(f'.djs-element[data-element-id="{task}"]').count() == 1
    assert "审查授信材料" in page.inner_text("#modeler-canvas")

    page.evaluate("() => window.__modeler.get('canvas').scrollToElement('review')")  # as a person would scroll
    page.click('.djs-element[data-element-id="review"]')
    assert page.locator(".bio-properties-panel-group-header-title", has_text="信贷流程属性").is_visible()
    duty = page.locator("select[name=cf-duty]")
    assert duty.input_value() == "review"
    assert "审查" in duty.locator("option:checked").inner_text()
    assert page.locator("select[name=cf-form]").input_value() == "forms/review.schema.json"
    assert "授信审查岗" in page.locator("input[name=cf-role]").input_value()
    shot(page, "properties")

    # Conditions and timers: the condition in our group, the timer in the standard one.
    select(page, "flow_assist_yes")
    assert page.locator("textarea[name=cf-condition]").input_value() == "amount > dual_investigation_threshold"
    select(page, "chair_veto_timeout")
    page.locator(".bio-properties-panel-group-header", has_text="定时器").click()
    values = page.eval_on_selector_all(".bio-properties-panel input, .bio-properties-panel textarea",
                                       "inputs => inputs.map(i => i.value)")
    assert '"PT%dH" % chair_veto_hours' in values
    shot(page, "timer")

    new_id = page.evaluate(ADD_TASK_WITHOUT_DUTY)
    page.click("[data-check]")
    page.wait_for_selector("[data-modeler][data-checked='1']")
    listed = page.locator(f'.problem-error[data-element="{new_id}"]')
    assert "补充核查" in listed.first.inner_text() and "duty" in page.inner_text("[data-problems]")
    assert page.locator(f'.djs-element[data-element-id="{new_id}"].cf-problem-error').count() == 1
    assert page.locator(f'.cf-problem-badge[data-problem-element="{new_id}"]').count() == 1
    listed.first.click()
    assert page.evaluate("() => window.__modeler.get('selection').get().map(e => e.id)") == [new_id]
    page.locator(f'.cf-problem-badge[data-problem-element="{new_id}"]').first.hover()
    assert page.locator(".cf-problem-text", has_text="补充核查").first.is_visible()
    shot(page, "problem-marked")
    assert page.locator("select[name=cf-duty]").input_value() == ""
    page.locator("select[name=cf-duty]").select_option("review")
    page.locator("select[name=cf-form]").select_option("forms/review.schema.json")
    page.click("[data-check]")
    page.wait_for_selector("[data-modeler][data-checked='2']")
    assert page.locator(f'.problem-error[data-element="{new_id}"]').count() == 0
    assert page.locator(f'.djs-element[data-element-id="{new_id}"].cf-problem-error').count() == 0
    shot(page, "after-fix")
    xml = page.evaluate("() => window.__modeler.saveXML().then(r => r.xml)")
    task = etree.fromstring(xml.encode()).find(f".//{{*}}userTask[@id='{new_id}']")
    assert {p.get("name"): p.get("value") for p in task.iter("{*}property")} == {
        "duty": "review", "form": "forms/review.schema.json"}

    page.fill("[data-note]", "审查后增加补充核查")
    page.click("[data-save]")
    page.wait_for_selector("[data-status] a")
    change = live_app.extensions["creditflow"].changes("designer_zheng")[0]
    assert change.status == "draft" and sorted(change.files) == ["origination.bpmn"]
    assert change.note == "审查后增加补充核查" and "补充核查" in change.files["origination.bpmn"]
    assert f"草稿 {change.id} 已保存" in page.inner_text("[data-status]")

    page.click('[data-tab="approval_tier.dmn"]')
    page.wait_for_selector('[data-pane="approval_tier.dmn"][data-ready=yes]')
    assert page.locator('[data-pane="approval_tier.dmn"] .tjs-table').count() == 1
    shot(page, "decision-table")
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def test_opening_and_saving_with_no_change_loses_nothing(zh_page, live_app):
    page = zh_page
    sign_in(page, "designer_zheng")
    files = live_app.extensions["creditflow"].current_files()
    seen = set()
    for process_id in ("origination", "post_loan", "risk_warning", "classification", "workout", "collection",
                       "collateral_revaluation", "extension"):
        open_modeler(page, process_id)
        tabs = page.eval_on_selector_all("[data-tab]", "tabs => tabs.map(t => t.dataset.tab)")
        for table in tabs[1:]:
            page.click(f'[data-tab="{table}"]')
            page.wait_for_selector(f'[data-pane="{table}"][data-ready=yes]')
        exported = page.evaluate("() => window.__studio.exportFiles(false)")
        assert sorted(exported) == sorted(tabs)
        for name, xml in exported.items():
            assert semantic(xml) == semantic(files[name]), name
        seen.update(exported)
    assert seen == {name for name in files if name.endswith((".bpmn", ".dmn"))}
    page.click("[data-save]")
    page.wait_for_selector("[data-status]:has-text('尚未做任何修改')")
    assert live_app.extensions["creditflow"].changes("designer_zheng") == []


def test_files_made_in_another_modeler_are_uploaded_into_the_editor_and_saved(zh_page, live_app):
    page = zh_page
    engine = live_app.extensions["creditflow"]
    files = engine.current_files()
    sign_in(page, "designer_zheng")
    open_modeler(page)
    renamed = files["origination.bpmn"].replace('name="审查授信材料"', 'name="审查授信材料及担保"')
    page.set_input_files("[data-upload]", files=[{"name": "授信发起.bpmn", "mimeType": "application/xml",
                                                  "buffer": renamed.encode()}])
    page.wait_for_function("() => document.querySelector('#modeler-canvas').textContent.includes('审查授信材料及担保')")
    assert "已载入编辑器" in page.inner_text("[data-status]")
    raised = files["approval_tier.dmn"].replace("<text>&lt;= 3000000</text>", "<text>&lt;= 5000000</text>", 1)
    assert raised != files["approval_tier.dmn"]
    page.set_input_files("[data-upload]", files=[{"name": "approval_tier.dmn", "mimeType": "application/xml",
                                                  "buffer": raised.encode()}])
    page.wait_for_selector('[data-tab="approval_tier.dmn"].active')
    page.wait_for_selector('[data-pane="approval_tier.dmn"][data-ready=yes]')
    assert "5000000" in page.inner_text('[data-pane="approval_tier.dmn"]')
    page.click("[data-check]")
    page.wait_for_selector("[data-modeler][data-checked='1']")
    listed = page.inner_text("[data-problems]")  # the policy conflict, on the table's row
    assert "rule_new_dual_signature" in listed and "5,000,000" in listed and "policies/default.yaml" in listed
    assert page.inner_text('[data-tab="approval_tier.dmn"] .tab-problems') == "1"
    marked = page.eval_on_selector('[data-pane="approval_tier.dmn"] td[data-row-id="rule_new_dual_signature"]',
                                   "cell => getComputedStyle(cell).backgroundColor")
    assert marked == "rgb(253, 236, 234)"
    shot(page, "uploaded-dmn")

    page.click("[data-save]")
    page.wait_for_selector("[data-status] a")
    change = engine.changes("designer_zheng")[0]
    assert sorted(change.files) == ["approval_tier.dmn", "origination.bpmn"]
    assert "审查授信材料及担保" in change.files["origination.bpmn"]
    assert "5000000" in change.files["approval_tier.dmn"]


CAMUNDA_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://bpmn.io/schema/bpmn"
  exporter="Camunda Modeler" exporterVersion="5.30.0">
  <bpmn:collaboration id="collab"><bpmn:participant id="pool" processRef="origination" /></bpmn:collaboration>
  <bpmn:process id="origination" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_reviewer" name="授信审查岗">
      <bpmn:flowNodeRef>check_file</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:userTask id="check_file" name="核对材料">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="duty" value="review" />
        <camunda:property name="form" value="forms/review.schema.json" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:userTask>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="collab">
    <bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true"><dc:Bounds x="100" y="80" width="600" height="200" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="lane_di" bpmnElement="lane_reviewer" isHorizontal="true"><dc:Bounds x="130" y="80" width="570" height="200" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="check_file_di" bpmnElement="check_file"><dc:Bounds x="300" y="140" width="100" height="80" /></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_properties_written_in_camunda_modeler_show_in_the_panel_and_survive_a_save(zh_page):
    page = zh_page
    sign_in(page, "designer_zheng")
    open_modeler(page)
    page.set_input_files("[data-upload]", files=[{"name": "camunda.bpmn", "mimeType": "application/xml",
                                                  "buffer": CAMUNDA_BPMN.encode()}])
    page.wait_for_selector('.djs-element[data-element-id="check_file"]')
    page.click('.djs-element[data-element-id="check_file"]')
    assert page.locator("select[name=cf-duty]").input_value() == "review"
    assert page.locator("select[name=cf-form]").input_value() == "forms/review.schema.json"
    assert "授信审查岗" in page.locator("input[name=cf-role]").input_value()
    exported = page.evaluate("() => window.__modeler.saveXML().then(r => r.xml)")
    assert semantic(exported) == semantic(CAMUNDA_BPMN)
