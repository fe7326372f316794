"""Every deadline escalates to the supervisor, and a task nobody may perform is an incident, never a silent stall."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.access import PolicyDenied
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
    driver.do(ref, "sign_business", "cm_wang")
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


def _at_risk_signature(driver, amount):
    ref = driver.start(amount=amount)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_wang")
    return ref


def _lower_local_limits(engine, limit):
    with engine.db.transaction() as session:  # the branch's risk managers now sign up to `limit`
        for grant in session.query(RoleGrant).filter(RoleGrant.role == "risk_manager", RoleGrant.branch == "BJ01"):
            grant.limit = limit


def test_beyond_every_local_limit_the_signature_goes_up_to_head_office(engine, driver):
    _lower_local_limits(engine, 2_000_000)
    engine.add_user("risk_ho", None, "总行风险经理")
    engine.grant_role("risk_ho", "risk_manager", "HO", limit=10_000_000)
    ref = _at_risk_signature(driver, 2_500_000)
    item = driver.item(ref, "sign_risk")
    assert item.escalation == "authority"
    assert [i.id for i in engine.inbox("risk_ho", "available")[0]] == [item.id]
    assert item.id not in [i.id for i in engine.inbox("risk_liu", "available")[0]]
    with pytest.raises(PolicyDenied) as refused:
        driver.do(ref, "sign_risk", "risk_liu")  # a branch grant does not reach head office work
    assert refused.value.rule == "ROLE-01"
    with engine.db.reading() as session:
        [event] = session.query(AuditEvent).filter_by(action="task_escalated").all()
        assert event.detail["reason"] == "authority" and event.detail["rule"] == "AUTH-03"
        assert event.detail["from"] == {"role": "risk_manager", "branch": "BJ01"}
        assert event.detail["to"] == {"role": "risk_manager", "branch": "HO"}
    driver.do(ref, "sign_risk", "risk_ho")
    assert engine.loan(ref).approval.signers == (("cm_wang", "sign_business"), ("risk_ho", "approve"))
    assert engine.incidents() == []


def test_when_no_limit_covers_even_up_the_chain_the_administrator_sees_an_incident(engine, driver):
    _lower_local_limits(engine, 2_000_000)
    ref = _at_risk_signature(driver, 2_500_000)
    item = driver.item(ref, "sign_risk")
    assert item.escalation == "unserved"
    [incident] = engine.incidents()  # at once, not when the task falls due
    assert (incident.kind, incident.step, incident.loan_ref) == ("unserved", "sign_risk", ref)
    assert "2,500,000.00" in incident.error and "authority chain" in incident.error
    engine.add_user("risk_ho", None, "总行风险经理")
    engine.grant_role("risk_ho", "risk_manager", "HO", limit=10_000_000)
    driver.do(ref, "sign_risk", "risk_ho")
    assert engine.incidents() == []


def test_a_loan_a_local_limit_covers_stays_in_the_branch(engine, driver):
    ref = _at_risk_signature(driver, 2_500_000)  # risk_liu signs up to 3,000,000
    item = driver.item(ref, "sign_risk")
    assert item.escalation is None and item.id in [i.id for i in engine.inbox("risk_liu", "available")[0]]
