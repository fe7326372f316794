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
