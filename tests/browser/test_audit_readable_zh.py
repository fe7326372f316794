"""An auditor reads the trail in a Chinese browser: events as sentences, a refusal in the third person, the policy's
versions and their differences, and a person's grants, leave and delegations over time."""
from __future__ import annotations

from datetime import date

import pytest

from engine.access import PolicyDenied

from .test_content_security_policy import RECORD_VIOLATIONS, sign_in

pytestmark = pytest.mark.browser


def test_an_auditor_reads_events_policy_and_people_in_chinese(zh_page, live_app, loans, shoot):
    engine = live_app.extensions["creditflow"]
    ref, person = loans.at_risk_signature()
    with pytest.raises(PolicyDenied):
        loans.do(ref, "sign_risk", person)
    disbursed = loans.disbursed()
    text = engine.current_policy_text()
    changed = text.replace("task_due_days: 3 ", "task_due_days: 4 ").replace('version: "2026.3"', 'version: "2026.4"')
    draft = engine.save_change("designer_zheng", {}, note="Four days per task", policy_text=changed)
    engine.submit_change("designer_zheng", draft.id)
    engine.decide_change("designer_wu", draft.id, approve=True, reason="Agreed.")
    engine.record_leave("rev_chen", date(2027, 2, 1), date(2027, 2, 10), actor="admin")
    engine.delegate("rev_chen", "rev_zhou", date(2027, 2, 1), date(2027, 2, 10), actor="admin")

    page = zh_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "auditor_xie")

    page.goto(f"/audit/loans/{disbursed}")
    page.wait_for_selector("[data-audit-diagram]")
    sentences = page.locator(".timeline-table .audit-sentence").all_inner_texts()
    assert any("完成了任务“审核放款条件”" in s for s in sentences)
    page.locator(".timeline-table details.audit-raw").first.click()  # the raw JSON, one click away
    shoot(page, "audit-trace-sentences-zh")

    page.goto(f"/audit/?loan={ref}")
    refusal = page.locator("tr.row-denied .audit-sentence").first.inner_text()
    assert "被拒绝" in refusal and "您" not in refusal
    shoot(page, "audit-search-refusal-zh")

    page.goto("/audit/policy")
    assert page.locator("tr[data-version]").count() == 2
    shoot(page, "audit-policy-versions-zh")
    page.click("text=与上一版本的差异")
    page.wait_for_url("**/audit/policy/diff**")
    assert "task_due_days" in page.inner_text("#summary")
    shoot(page, "audit-policy-diff-zh")

    page.goto("/audit/people/rev_chen")
    kinds = page.locator("#timeline li[data-kind]").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds[-2:] == ["leave_recorded", "delegation_recorded"]
    shoot(page, "audit-person-timeline-zh")
    assert page.evaluate("window.__cspViolations") == [] and errors == []
