"""Compliance reads the accountability register (连带问责) of a loan gone bad in a Chinese browser; the credit risk
department proposes a finding on it and the branch head decides it."""
from __future__ import annotations

import pytest

from .test_content_security_policy import RECORD_VIOLATIONS
from .test_credit_flow import sign_in

pytestmark = pytest.mark.browser


def test_the_register_reads_in_chinese_with_a_decided_finding(zh_page, loans, live_app, shoot):
    engine = live_app.extensions["creditflow"]
    ref = loans.substandard()
    finding = engine.propose_finding("cro_gao", ref, "审批依赖未经核实的现金流，未做实地走访。",
                                     [{"person": "risk_liu", "level": "major", "note": "未实地走访即签字。"},
                                      {"person": "disb_xu", "level": "minor", "note": "放款审核未核对用途。"}],
                                     "对 risk_liu 书面警告。", source="cli")
    engine.decide_finding("head_qian", finding, "accept", "档案中无实地走访记录。", source="cli")
    page = zh_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "auditor_xie")
    page.goto("/audit/register")
    assert "连带问责登记簿" in page.inner_text("h1")
    page.click(f"a:text('{ref}')")
    page.wait_for_url(f"**/audit/register/{ref}")
    signers = page.locator("#signers")
    for duty, user in (("review", "rev_chen"), ("approve", "risk_liu"), ("execute_payment", "acct_ma"),
                       ("approve_classification", "cro_gao")):
        assert signers.locator(f"tr[data-duty='{duty}'][data-user='{user}']").count() == 1
    assert "已同意" in page.inner_text("#findings") and "主要责任" in page.inner_text("#findings")
    shoot(page, "register-loan-zh")
    assert errors == [] and page.evaluate("window.__cspViolations || []") == []


def test_a_finding_is_proposed_and_decided_on_the_desk_in_chinese(chromium, live_server, loans, shoot):
    ref = loans.substandard()
    for user in ("cro_gao", "head_qian"):
        context = chromium.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, user)
        page.click("nav.mainnav >> text=连带问责")
        page.wait_for_url("**/accountability/")
        page.click(f"a:text('{ref}')")
        page.wait_for_url(f"**/accountability/{ref}")
        if user == "cro_gao":
            page.fill("textarea[name=finding]", "审批依赖未经核实的现金流。")
            page.select_option("select[name=level_risk_liu]", "major")
            page.fill("input[name=note_risk_liu]", "未实地走访即签字。")
            page.fill("textarea[name=sanction]", "书面警告。")
            shoot(page, "register-desk-propose-zh")
            page.click("#propose button[type=submit]")
            assert "由支行/部门负责人决定" in page.inner_text(".flash")
        else:
            page.check("input[name=decision][value=accept]")
            page.fill("textarea[name=reason]", "档案中无实地走访记录。")
            page.click("#findings form button[type=submit]")
            assert "已同意" in page.inner_text("#findings")
            shoot(page, "register-desk-decided-zh")
        context.close()
