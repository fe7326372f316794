"""A process designer compares two versions in a Chinese browser: the changes in words, and the changed elements
marked on both diagrams."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.bootstrap import BUNDLED_BPMN

from .test_content_security_policy import RECORD_VIOLATIONS
from .test_credit_flow import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")


def deploy_version_two(engine, folder: Path) -> None:
    """The risk signature renamed, the dual-investigation condition and the dual-signature limit changed, and the
    gateway after the chair's veto replaced by a new one."""
    shutil.copytree(BUNDLED_BPMN, folder)
    bpmn = folder / "origination.bpmn"
    bpmn.write_text(bpmn.read_text("utf-8").replace('name="审批签字(风险)"', 'name="风险审批签字"')
                    .replace("amount &gt; dual_investigation_threshold", "amount &gt;= dual_investigation_threshold")
                    .replace('"committee_approved"', '"committee_upheld"')  # one gateway out, another in
                    .replace(">committee_approved<", ">committee_upheld<"), "utf-8")
    catalog = folder / "origination.en.json"
    catalog.write_text(catalog.read_text("utf-8").replace('"committee_approved"', '"committee_upheld"'), "utf-8")
    dmn = folder / "approval_tier.dmn"
    dmn.write_text(dmn.read_text("utf-8").replace("&lt;= 3000000</text>", "&lt;= 2000000</text>", 1), "utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="risk_liu", source="cli")


def test_a_designer_sees_the_changes_in_words_and_on_both_diagrams(zh_page, live_app, tmp_path, shoot):
    deploy_version_two(live_app.extensions["creditflow"], tmp_path / "v2")
    page = zh_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "designer_zheng")
    page.click("nav.mainnav >> text=流程库")
    page.wait_for_url("**/processes/")
    origination = page.locator("#process-origination")
    assert origination.locator("tr[data-version='2']").inner_text().count("designer_zheng") == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "library-index.png"), full_page=True)

    origination.locator("text=与上一版比较").click()
    page.wait_for_url("**/processes/origination/diff?a=1&b=2")
    page.wait_for_selector("[data-diff-diagram][data-side=old][data-ready=yes]")
    page.wait_for_selector("[data-diff-diagram][data-side=new][data-ready=yes]")
    changes = page.inner_text(".diff-changes")
    assert "用户任务 审批签字(风险) 更名为 风险审批签字" in changes
    assert "决策表 approval_tier 第 1 行:输入 group_exposure 由 <= 3000000 改为 <= 2000000" in changes
    assert "`amount >= dual_investigation_threshold`" in changes
    for side in ("old", "new"):
        diagram = page.locator(f"[data-diff-diagram][data-side={side}]")
        for element in ("sign_risk", "flow_assist_yes", "decide_tier"):
            assert diagram.locator(f".djs-element.cf-diff-changed[data-element-id={element}]").count() == 1, \
                (side, element)
    old, new = page.locator("[data-diff-diagram][data-side=old]"), page.locator("[data-diff-diagram][data-side=new]")
    assert old.locator(".djs-element.cf-diff-removed[data-element-id=committee_approved]").count() == 1
    assert new.locator(".djs-element.cf-diff-added[data-element-id=committee_upheld]").count() == 1
    assert new.locator(".djs-element.cf-diff-changed[data-element-id=flow_veto_expired]").count() == 1
    assert "删除排他网关 审批结论维持" in changes and "新增排他网关 审批结论维持" in changes
    old.locator(".diagram-controls button").first.click()  # zoom in on one side: the other follows
    transforms = [page.locator(f"[data-diff-diagram][data-side={side}] .djs-container svg .viewport")
                  .first.get_attribute("transform") for side in ("old", "new")]
    numbers = [[float(n) for n in re.findall(r"-?[\d.]+(?:e-?\d+)?", t)] for t in transforms]
    assert numbers[0] == pytest.approx(numbers[1], abs=0.01)
    names = page.locator("[data-diff-diagram][data-side=new] .djs-element[data-element-id=sign_risk]").first.text_content()
    assert "风险审批签字" in names
    assert page.evaluate("window.__cspViolations") == []
    page.screenshot(path=str(SHOTS / "library-diff.png"), full_page=True)
    shoot(page, "40-zh-process-diff")

    page.goto("/processes/origination/2")
    page.wait_for_selector("[data-diagram][data-ready=yes]")
    assert "风险审批签字" in page.inner_text("table.steps")
    page.screenshot(path=str(SHOTS / "library-version.png"), full_page=True)
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
