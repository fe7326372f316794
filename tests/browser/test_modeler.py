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

# A step put between the review and what follows it, in the reviewer's lane, named but with no duty yet.
ADD_TASK_WITHOUT_DUTY = """() => {
  const modeler = window.__modeler;
  const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
  const review = registry.get('review'), lane = registry.get('lane_credit_reviewer');
  const flow = review.outgoing[0], next = flow.target;
  const shape = modeling.createShape({type: 'bpmn:UserTask'},
    {x: review.x + review.width + 90, y: lane.y + lane.height / 2}, review.parent);
  modeling.updateLabel(shape, '补充核查');
  modeling.reconnectEnd(flow, shape, {x: shape.x, y: shape.y + shape.height / 2});
  modeling.connect(shape, next);
  return shape.id;
}"""


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"modeler-{name}.png"))


def semantic(xml: str) -> list[tuple]:
    """Every element with its attributes and text, in document order, whatever the formatting and prefixes."""
    root = etree.fromstring(xml.encode("utf-8"))
    return [(el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip()) for el in root.iter()
            if isinstance(el.tag, str)]


def open_modeler(page, process_id: str = "origination") -> None:
    page.goto(f"/studio/edit/{process_id}")
    page.wait_for_selector("[data-modeler][data-ready=yes]")


def test_a_designer_sees_the_duty_adds_a_step_and_check_marks_the_missing_duty(zh_page, live_app):
    page = zh_page
    problems = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.add_init_script("""window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.effectiveDirective + " " + e.sourceFile + ":" + e.lineNumber + ":" + e.columnNumber + " " + (e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : ''));
});""")
    sign_in(page, "designer_zheng")
    page.click("nav.mainnav >> text=流程设计")
    page.wait_for_selector("[data-modeler][data-ready=yes]")
    assert page.locator(".bjs-powered-by").first.is_visible()  # the bpmn.io licence needs the watermark shown
    for task in ("investigate", "review", "sign_business", "sign_risk"):
        assert page.locator(f'.djs-element[data-element-id="{task}"]').count() == 1
    assert "审查授信材料" in page.inner_text("#modeler-canvas")

    print("CSP-STEP", "    page.click('.djs-element[data-elemen", page.evaluate("window.__cspViolations"))
    page.click('.djs-element[data-element-id="review"]')
    group = page.locator('.bio-properties-panel-group:has(.bio-properties-panel-group-header-title:text("信贷流程"))')
    group.locator(".bio-properties-panel-group-header").click() if not group.locator(
        "select[name=cf-duty]").is_visible() else None
    duty = page.locator("select[name=cf-duty]")
    assert duty.input_value() == "review"
    assert "审查" in duty.locator("option:checked").inner_text()
    assert page.locator("select[name=cf-form]").input_value() == "forms/review.schema.json"
    assert "授信审查岗" in page.locator("input[name=cf-role]").input_value()
    shot(page, "properties")

    print("CSP-STEP", '    new_id = page.evaluate', page.evaluate("window.__cspViolations"))
    new_id = page.evaluate(ADD_TASK_WITHOUT_DUTY)
    page.click("[data-check]")
    page.wait_for_selector("[data-modeler][data-checked='1']")
    print(page.inner_text("[data-problems]"), page.inner_text("[data-status]"))
    listed = page.locator(f'.problem-error[data-element="{new_id}"]')
    assert listed.count() >= 1
    assert page.locator(f'.djs-element[data-element-id="{new_id}"].cf-problem-error').count() == 1
    assert page.locator(f'.cf-problem-badge[data-problem-element="{new_id}"]').count() == 1
    page.locator(f'.cf-problem-badge[data-problem-element="{new_id}"]').first.hover()
    shot(page, "problem-marked")
    listed.first.click()
    assert page.evaluate("() => window.__modeler.get('selection').get().map(e => e.id)") == [new_id]
    page.locator("select[name=cf-duty]").select_option("review")
    page.locator("select[name=cf-form]").select_option("forms/review.schema.json")
    page.click("[data-check]")
    page.wait_for_selector("[data-modeler][data-checked='2']")
    print(page.inner_text("[data-problems]"), page.inner_text("[data-status]"))
    assert page.locator(f'.problem-error[data-element="{new_id}"]').count() == 0
    assert page.locator(f'.djs-element[data-element-id="{new_id}"].cf-problem-error').count() == 0
    shot(page, "after-fix")

    print("CSP-STEP", '    page.click(\'[data-tab="approval_tier', page.evaluate("window.__cspViolations"))
    page.click('[data-tab="approval_tier.dmn"]')
    page.wait_for_selector('[data-pane="approval_tier.dmn"][data-ready=yes]')
    assert page.locator('[data-pane="approval_tier.dmn"] .tjs-table').count() == 1
    shot(page, "decision-table")
    print("CSP", page.evaluate("window.__cspViolations"))
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def test_opening_and_saving_with_no_change_loses_nothing(zh_page, live_app):
    page = zh_page
    sign_in(page, "designer_zheng")
    files = live_app.extensions["creditflow"].current_files()
    for process_id in ("origination", "post_loan", "risk_warning", "classification"):
        open_modeler(page, process_id)
        exported = page.evaluate("() => window.__modeler.saveXML({format: true}).then(r => r.xml)")
        assert semantic(exported) == semantic(files[f"{process_id}.bpmn"]), process_id
    page.click('[data-tab="approval_tier.dmn"]') if page.locator('[data-tab="approval_tier.dmn"]').count() else None
