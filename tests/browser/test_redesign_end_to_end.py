"""A risk manager changes origination end to end without a shell: adds a step in the modeler and fixes the missing
duty the check marks, raises the dual-signature limit in the decision table and fixes the policy conflict, saves and
submits; a second designer reads the diff and the replay, approves; new loans take the new path, a loan started
before stays on its version, and a loan moved to the new version goes on."""
from __future__ import annotations

from pathlib import Path

import pytest

from .test_credit_flow import sign_in
from .test_modeler import ADD_TASK_WITHOUT_DUTY

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")

DUAL_LIMIT_CELL = '[data-pane="approval_tier.dmn"] td[data-element-id="rule_new_dual_signature_in2"]'


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"redesign-{name}.png"), full_page=True)


def set_dual_limit(page, text: str, check: int) -> str:
    """Type a new limit into the decision table's cell, as a person would, then check."""
    cell = page.locator(DUAL_LIMIT_CELL)
    cell.scroll_into_view_if_needed()
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.locator('[data-pane="approval_tier.dmn"] th').first.click()  # leave the cell
    page.click("[data-check]")
    page.wait_for_selector(f"[data-modeler][data-checked='{check}']")
    return page.inner_text("[data-problems]")


def test_a_flow_is_changed_end_to_end_in_the_browser_with_four_eyes(zh_page, chromium, live_server, live_app, loans):
    engine = live_app.extensions["creditflow"]
    started_before = loans.start()  # stays on version 1
    to_move = loans.start()  # moved to the new version later

    page = zh_page
    sign_in(page, "designer_zheng")
    page.goto("/studio/edit/origination")
    page.wait_for_selector("[data-modeler][data-ready=yes]")
    new_id = page.evaluate(ADD_TASK_WITHOUT_DUTY)  # 补充核查 after the review, no duty yet
    page.click("[data-check]")
    page.wait_for_selector("[data-modeler][data-checked='1']")
    assert page.locator(f'.djs-element[data-element-id="{new_id}"].cf-problem-error').count() == 1
    assert "duty" in page.inner_text(f'.problem-error[data-element="{new_id}"]')
    shot(page, "1-missing-duty")
    page.locator(f'.problem-error[data-element="{new_id}"]').first.click()  # selects the step
    page.locator("select[name=cf-duty]").select_option("review")
    page.locator("select[name=cf-form]").select_option("forms/review.schema.json")

    page.click('[data-tab="approval_tier.dmn"]')
    page.wait_for_selector('[data-pane="approval_tier.dmn"][data-ready=yes]')
    listed = set_dual_limit(page, "<= 5000000", 2)
    assert "5,000,000" in listed and "3,000,000" in listed and "policies/default.yaml" in listed
    shot(page, "2-policy-conflict")
    listed = set_dual_limit(page, "<= 2000000", 3)
    assert "policies/default.yaml" not in listed and f'data-element="{new_id}"' not in page.inner_html(
        "[data-problems]")
    page.fill("[data-note]", "审查后增加补充核查;双签上限降至 200 万元")
    page.click("[data-save]")
    page.wait_for_selector("[data-status] a")
    [change] = engine.changes("designer_zheng")
    assert sorted(change.files) == ["approval_tier.dmn", "origination.bpmn"]
    page.click("[data-status] a")
    page.wait_for_url(f"**/studio/changes/{change.id}")
    page.click("button:has-text('提交审批')")
    page.wait_for_selector(".status-submitted")
    assert engine.change("designer_zheng", change.id).status == "submitted"

    reviewer = chromium.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900})
    second = reviewer.new_page()
    second.set_default_timeout(15_000)
    sign_in(second, "designer_wu")
    second.goto(f"/studio/changes/{change.id}")
    text = second.inner_text("main")
    assert "补充核查" in text  # the diff, in words
    assert second.locator(f'[data-diff-diagram][data-side="new"] .djs-element[data-element-id="{new_id}"]'
                          '.cf-diff-added').count() == 1  # and on the diagram
    assert "历史贷款" in text and "2" in second.inner_text("#replay")  # the replay over the two recorded loans
    shot(second, "3-review-diff-replay")
    second.fill("#reason", "同意:补充核查由审查岗完成。")
    second.click("button[value=approve]")
    second.wait_for_selector(".status-approved")
    versions = {p: v for p, v, _ in engine.deployed()}
    assert versions["origination"] == 2

    fresh = loans.start()
    for ref in (fresh, started_before):
        loans.do(ref, "investigate", "cm_wang")
        loans.do(ref, "review", "rev_chen")
    assert loans.item(fresh, new_id).name == "补充核查"  # new loans take the new path
    assert not [i for i in engine.loan_items(started_before) if i.bpmn_id == new_id]  # the old one keeps v1

    second.goto("/studio/migrate/origination")
    second.check(f'input[name=loan][value="{to_move}"]')
    second.fill("#reason", "按新流程办理")
    second.select_option("#version", "2")
    second.click("button:has-text('迁移所选贷款')")
    second.wait_for_selector(f".flash:has-text('{to_move}')")
    shot(second, "4-migrated")
    reviewer.close()
    assert next(i.version for i in engine.loan(to_move).instances if i.process_id == "origination") == 2
    loans.do(to_move, "investigate", "cm_wang")
    loans.do(to_move, "review", "rev_chen")
    assert loans.item(to_move, new_id).name == "补充核查"  # the moved loan goes on, on the new path
