"""Every refused write is an event, whichever door it came through: the web form as well as the API."""
from __future__ import annotations

from sqlalchemy import select

from engine.store.models import AuditEvent


def _refusals(engine, actor):
    with engine.db.reading() as session:
        return session.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.rule, AuditEvent.source)
                               .where(AuditEvent.actor == actor, AuditEvent.outcome == "denied")).all()


def test_a_policy_refusal_on_the_web_task_form_is_audited(client, auth, engine, loans):
    ref, person = loans.at_risk_signature()
    sign = loans.item(ref, "sign_risk")
    auth.login(person)
    before = _refusals(engine, person)
    response = auth.post(f"/tasks/{sign.id}/complete", {"decision": "approve", "conditions": "", "reason": "mine"},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 403 and "must be different people" in response.text
    assert _refusals(engine, person)[len(before):] == [("refused", "denied", "SOD-01", "web")]
    assert "sign_risk" in [i.bpmn_id for i in engine.loan_items(ref)]  # nothing changed
