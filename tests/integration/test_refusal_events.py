"""Every refused write is an audit event: a task claimed by someone else, a conflicted nomination."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput, NotAllowed
from engine.store.models import AuditEvent


def last_refusal(engine):
    with engine.db.reading() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "refused")
                                .order_by(AuditEvent.id.desc())).first()
        return event and (event.actor, event.loan_ref, event.step, event.rule, event.detail.get("attempted"))


def test_completing_or_claiming_a_task_claimed_by_someone_else_is_recorded(engine, driver):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    review = driver.item(ref, "review")
    engine.claim("rev_chen", review.id)
    with pytest.raises(NotAllowed, match="claimed by rev_chen"):
        engine.complete("rev_zhou", review.id, {"opinion": "mine", "decision": "pass"})
    assert last_refusal(engine) == ("rev_zhou", ref, "review", "CLAIMED", "complete")
    with pytest.raises(NotAllowed, match="claimed by rev_chen"):
        engine.claim("rev_zhou", review.id)
    assert last_refusal(engine) == ("rev_zhou", ref, "review", "CLAIMED", "claim")


def test_a_conflicted_committee_nomination_is_recorded(engine, driver):
    engine.grant_role("cm_wang", "committee_member", "BJ01")
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    item = driver.item(ref, "convene_committee")
    members = ["member1", "member2", "member3", "member4", "member5", "cm_wang"]
    with pytest.raises(InvalidInput):
        engine.complete("chair_huang", item.id, {"committee_members": members, "meeting_date": "2026-11-10"})
    assert last_refusal(engine) == ("chair_huang", ref, "convene_committee", "SOD-01", "nominate")
