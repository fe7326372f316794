"""Missed post-loan inspections count against whoever was responsible for them; enough of them block origination."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands.notifications import notify
from engine.commands.unit import Unit
from engine.errors import InvalidInput, NotAllowed
from engine.store.models import DutyRecord, Loan, ProcessInstance, User, WorkItem
from engine.store.people import get_user


def inspection_missed(unit: Unit, loan: Loan, instance: ProcessInstance, payload: dict) -> None:
    """The `inspection_missed` message: one more miss for whoever was responsible for the inspection (the
    post-loan manager who leads it, named in the message; else the originator); the policy says when that blocks."""
    lead = unit.session.scalar(select(WorkItem).where(WorkItem.instance_id == instance.id,
                                                      WorkItem.duty == "lead_inspection"))
    responsible = (lead.claimed_by or lead.candidate_user if lead else None) or payload.get("responsible") \
        or loan.originator
    manager = unit.session.scalar(select(User).where(User.username == responsible)) \
        or unit.session.scalar(select(User).where(User.username == loan.originator))
    manager.missed_inspections = (manager.missed_inspections or 0) + 1
    unit.session.add(DutyRecord(loan_id=loan.id, instance_id=instance.id, username=manager.username,
                                duty="missed_inspection", process_id=instance.process_version.process_id,
                                performed_at=unit.clock.now()))
    unit.audit.record("inspection_missed", loan_ref=loan.reference, instance_id=instance.id,
                      process_id=instance.process_version.process_id,
                      process_version=instance.process_version.version, actor=None,
                      detail={"responsible": manager.username, "missed": manager.missed_inspections})
    if unit.policy.blocks_origination(manager.missed_inspections) and not manager.origination_blocked:
        manager.origination_blocked = True
        unit.audit.record("origination_blocked", loan_ref=loan.reference, rule="BLOCK-01",
                          detail={"username": manager.username, "missed": manager.missed_inspections})
        notify(unit, manager.username, "origination_blocked", loan.reference, missed=manager.missed_inspections)


def lift_origination_block(unit: Unit, username: str, actor: str, reason: str) -> None:
    """Only the post-loan head lifts a block; the missed-inspection count starts again."""
    head = get_user(unit.session, actor)
    if not any(g.role == "post_loan_head" for g in head.grants):
        raise NotAllowed("Only the post-loan head may lift an origination block.")
    manager = get_user(unit.session, username)
    if not manager.origination_blocked:
        raise InvalidInput("%(username)s is not blocked.", username=username)
    manager.origination_blocked = False
    manager.missed_inspections = 0
    unit.audit.record("origination_unblocked", actor=actor, role="post_loan_head", reason=reason,
                      detail={"username": username})
    notify(unit, username, "origination_unblocked", by=actor)
