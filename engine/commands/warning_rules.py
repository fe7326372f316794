"""Warnings raised by rule (规则预警): a rule that sees a risk in the data opens the risk-warning process as the
servicing system, once: while a warning it raised on a loan is still open, the same rule raises no other there."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands.floors import RULE_ACTOR
from engine.commands.flow import start_instance
from engine.commands.notifications import WARNING_MESSAGE
from engine.store.models import AuditEvent, Loan, ProcessInstance, ProcessVersion


def raise_by_rule(unit, loan: Loan, rule: str, signal: str, detail: dict) -> int | None:
    """Open a risk warning on the loan for `rule`; returns the new instance id, or None when one is still open
    (or no risk-warning process is deployed)."""
    if open_warning(unit, loan, rule) is not None:
        return None
    versions = unit.session.scalars(select(ProcessVersion).where(ProcessVersion.start_message == WARNING_MESSAGE)
                                    .order_by(ProcessVersion.version)).all()
    if not versions:
        return None
    payload = {"signal": signal, "raised_by": RULE_ACTOR, "rule": rule, "loan_id": loan.reference,
               "loan_type": loan.loan_type, "current_classification": loan.classification}
    data = {**(loan.application or {}), "loan_id": loan.reference, "originator": loan.originator, **payload}
    instance = start_instance(unit, loan, versions[-1], data, RULE_ACTOR, message=WARNING_MESSAGE, payload=payload)
    unit.audit.record("warning_raised", actor=RULE_ACTOR, loan_ref=loan.reference, instance_id=instance.id,
                      process_id=versions[-1].process_id, process_version=versions[-1].version, rule=rule,
                      detail={"signal": signal, "rule": rule, **detail})
    return instance.id


def open_warning(unit, loan: Loan, rule: str) -> int | None:
    """The running warning instance this rule raised on the loan, if any."""
    raised = unit.session.scalars(select(AuditEvent.instance_id).where(
        AuditEvent.loan_ref == loan.reference, AuditEvent.action == "warning_raised",
        AuditEvent.rule == rule, AuditEvent.instance_id.is_not(None))).all()
    if not raised:
        return None
    return unit.session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.id.in_(raised), ProcessInstance.status == "running").limit(1))
