"""An auditor in a Chinese browser verifies the trail: intact with a signed checkpoint, then broken after a row was
edited in the database, with the red banner on every audit page."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from engine.audit.signing import generate_key_pair
from engine.store.models import AuditEvent

from .test_content_security_policy import RECORD_VIOLATIONS
from .test_credit_flow import sign_in

pytestmark = pytest.mark.browser


def test_an_auditor_verifies_the_trail_intact_then_broken(zh_page, live_app, loans, tmp_path, shoot):
    engine = live_app.extensions["creditflow"]
    private_key, _public = generate_key_pair(tmp_path / "keys")
    engine.settings = engine.settings.merged(checkpoint_key=str(private_key))
    ref = loans.start("cm_wang")
    loans.do(ref, "investigate", "cm_wang")
    page = zh_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, "auditor_xie")

    page.goto("/audit/integrity")
    assert "从未校验" in page.inner_text("#result")
    page.click("button[value=incremental]")
    page.wait_for_url("**/audit/integrity")
    assert "审计轨迹完整" in page.inner_text("#result") and "已签名" in page.inner_text("#checkpoint")
    shoot(page, "audit-integrity-intact-zh")

    with engine.db.reading() as session:
        target = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "task_completed",
                                                            AuditEvent.loan_ref == ref))
    outside = create_engine(engine.db.url)
    with outside.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :id"), {"id": target})
    outside.dispose()
    page.click("button[value=full]")
    page.wait_for_url("**/audit/integrity")
    banner = page.inner_text(".chain-alarm")
    assert "审计轨迹已被破坏" in banner and f"事件 {target}" in banner and "任务完成" in banner
    shoot(page, "audit-integrity-broken-zh")
    page.goto("/audit/")
    assert f"事件 {target}" in page.inner_text(".chain-alarm")
    shoot(page, "audit-events-broken-banner-zh")
    assert errors == [] and page.evaluate("window.__cspViolations || []") == []
