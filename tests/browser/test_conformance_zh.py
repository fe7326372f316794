"""An auditor in a Chinese browser reads the conformance page: counts per process version, each loan's deviations."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.bootstrap import BUNDLED_BPMN

from .test_content_security_policy import RECORD_VIOLATIONS
from .test_credit_flow import sign_in

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")


def test_the_auditor_reads_the_deviations_in_chinese(zh_page, live_app, loans, tmp_path):
    engine = live_app.extensions["creditflow"]
    clock = engine.clock
    late = loans.start("cm_wang")
    clock.advance(days=10)
    loans.do(late, "investigate", "cm_wang")  # a week past its due date
    moved = loans.start("cm_wang")
    loans.do(moved, "investigate", "cm_wang")
    folder = tmp_path / "v2"
    shutil.copytree(BUNDLED_BPMN, folder)
    bpmn = folder / "origination.bpmn"
    bpmn.write_text(bpmn.read_text("utf-8").replace('name="拟定并签订合同"', 'name="拟定、审核并签订合同"'), "utf-8")
    engine.deploy([folder], actor="designer_zheng", approved_by="designer_wu", source="cli")
    engine.migrate_loans("designer_zheng", "origination", 2, [moved], "合同审核措辞调整")
    page = zh_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "auditor_xie")
    page.goto("/audit/")
    page.click("nav.tabs >> text=合规性比对")
    page.wait_for_url("**/audit/conformance")
    assert "暂无可检查的贷款" in page.inner_text("#versions")  # nothing has finished yet
    page.click("text=包含办理中的贷款")
    page.wait_for_url("**/audit/conformance?running=1")
    versions = page.locator("#versions")
    assert versions.locator("tr[data-process=origination][data-version='1']").count() == 1
    assert versions.locator("tr[data-process=origination][data-version='2']").count() == 1
    late_card = page.locator(f"section[id='{late}']")
    assert "逾期完成" in late_card.inner_text() and "调查借款人 应于" in late_card.inner_text()
    moved_card = page.locator(f"section[id='{moved}']")
    assert "人工干预" in moved_card.inner_text() and "designer_zheng" in moved_card.inner_text()
    assert "合同审核措辞调整" in moved_card.inner_text() and "从第 1 版迁移到第 2 版" in moved_card.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "conformance-zh.png"), full_page=True)
    versions.locator(f"a[href='#{late}']").first.click()
    assert page.evaluate("window.__cspViolations || []") == [] and errors == []
