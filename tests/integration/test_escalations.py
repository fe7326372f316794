"""Every deadline escalates to the supervisor, and a task nobody may perform is an incident, never a silent stall."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import InvalidInput
from engine.store.models import AuditEvent, RoleGrant, User

pytestmark = pytest.mark.usefixtures("engine_mode")


def test_an_overdue_task_escalates_to_the_branch_head(engine, driver, clock):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    clock.set(item.due_at - timedelta(minutes=1))
    engine.tick()
    assert engine.inbox("head_qian", "escalated") == ([], 0)
    clock.set(item.due_at + timedelta(minutes=1))
    engine.tick()
    rows, total = engine.inbox("head_qian", "escalated")
    assert total == 1 and rows[0].id == item.id
    assert engine.inbox("cm_li", "escalated") == ([], 0)
    engine.tick()  # escalated once, not at every tick
    engine.reassign("head_qian", item.id, "cm_zhao", "cm_wang is on a training course", source="cli")
    moved = driver.item(ref, "investigate")
    assert moved.candidate_user == "cm_zhao" and moved.due_at > clock.now()  # a deadline of its own
    assert engine.inbox("head_qian", "escalated") == ([], 0)
    with engine.db.reading() as session:
        events = session.query(AuditEvent).filter_by(action="task_escalated").all()
        assert len(events) == 1 and events[0].detail["reason"] == "overdue"
        assert events[0].detail["to"] == ["branch_head"]


def test_a_task_nobody_may_perform_becomes_an_incident_until_someone_does_it(engine, driver, clock):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_li")
    sign_risk = driver.item(ref, "sign_risk")
    with engine.db.transaction() as session:  # every risk manager leaves the bank
        for user in session.query(User).join(RoleGrant).filter(RoleGrant.role == "risk_manager"):
            user.active = False
    clock.set(sign_risk.due_at + timedelta(minutes=1))
    engine.tick()
    [incident] = engine.incidents()
    assert (incident.kind, incident.step, incident.loan_ref) == ("unserved", "sign_risk", ref)
    assert "Nobody may perform" in incident.error
    with pytest.raises(InvalidInput):
        engine.retry_incident(incident.id, actor="admin")
    rows, _total = engine.inbox("head_qian", "escalated")
    assert [r.id for r in rows] == [sign_risk.id]
    with engine.db.transaction() as session:
        session.query(User).filter_by(username="risk_liu").one().active = True
    driver.do(ref, "sign_risk", "risk_liu")
    assert engine.incidents() == []
