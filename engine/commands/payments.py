"""Money follows the approval: approved terms are fixed once, each drawdown is released by a review, and no payment
exceeds what the approval leaves, goes elsewhere than the approval says, or precedes the collateral."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from engine.commands import maturity, notifications
from engine.commands.unit import Unit
from engine.errors import InvalidInput, NotAllowed
from engine.runtime import execution
from engine.store.models import Loan, Payment

# Task data the approval fixes: no later task may submit a new value for them.
APPROVED_TERMS = ("amount", "currency", "term_months", "approval_conditions")
# A plausible bank account: digits only once spaces and hyphens are removed (PRC accounts are 12 to 21 digits).
ACCOUNT_NUMBER = re.compile(r"\d{10,30}")


def apply_loan_event(unit: Unit, loan: Loan, event: str, data: dict, actor: str | None = None,
                     instance=None) -> None:
    """What a BPMN element declares with `loan_event` becomes a fact on the loan the payment checks rely on."""
    now = unit.clock.now()
    version = getattr(instance, "process_version", None)
    where = dict(loan_ref=loan.reference, actor=actor, instance_id=getattr(instance, "id", None),
                 process_id=getattr(version, "process_id", None), process_version=getattr(version, "version", None))
    if event == "approved" and loan.approved_at is None:
        loan.approved_amount = loan.amount  # what the tier, the limits and the signers were checked against
        loan.approved_term_months = int(data["term_months"]) if data.get("term_months") is not None else None
        loan.approved_conditions = str(data.get("approval_conditions") or "") or None
        loan.approved_at = now
        unit.audit.record("loan_approved", **where, detail={
            "amount": loan.approved_amount, "currency": loan.currency, "term_months": loan.approved_term_months,
            "conditions": loan.approved_conditions, "tier": loan.approval_tier})
        notifications.loan_decided(unit, loan, "loan_approved")
    elif event == "released":
        loan.released_at = now
        unit.audit.record("payment_released", **where, detail={"undrawn": undrawn(unit, loan)})
    elif event == "extended":
        maturity.extend(unit, loan, data, where)
    elif event == "collateral_registered":
        loan.collateral_registered_at = now
        unit.audit.record("collateral_registered", **where, detail={})
    elif event == "repaid" and loan.status == "disbursed":
        loan.status, loan.stage = "closed", "closed"  # repaid (结清): nothing more is paid; the file awaits archiving
        unit.audit.record("loan_closed", **where, detail={"before": {"status": "disbursed"},
                                                          "after": {"status": "closed"}})


def undrawn(unit: Unit, loan: Loan) -> Decimal | None:
    if loan.approved_amount is None:
        return None
    paid = unit.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.loan_id == loan.id))
    return loan.approved_amount - Decimal(str(paid))


def fixed_terms(loan: Loan, values: dict, payment_task: bool) -> None:
    """After the approval, a task that submits a new amount, currency, term or conditions is refused."""
    if loan.approved_at is None:
        return
    fixed = [k for k in values if k in APPROVED_TERMS and not (payment_task and k == "currency")]
    if fixed:
        raise InvalidInput("The approval fixed these terms; no later task can change them.",
                           field_templates={k: ("Fixed by the approval.", {}) for k in fixed})


def take_payment(unit: Unit, loan: Loan, instance, item, mode: str, values: dict, actor: str) -> dict:
    """Check one drawdown against the approval and record it; returns what the process reads next. Every refusal
    is recorded as a refusal event; the loan row is locked so that one release pays once."""
    if unit.kernel.db.is_postgres:
        unit.session.execute(select(Loan.id).where(Loan.id == loan.id).with_for_update())
        unit.session.refresh(loan)
    refusal = _refusal_fields(loan, item, actor)
    if loan.status not in ("active", "disbursed"):
        raise _refused(NotAllowed("Loan %(loan)s is %(status)s; nothing more may be paid.", loan=loan.reference,
                                  status=loan.status), refusal, "PAY-STATUS")
    if loan.approved_at is None:
        raise _refused(NotAllowed("Loan %(loan)s has no recorded approval; nothing may be paid.",
                                  loan=loan.reference), refusal, "PAY-APPROVAL")
    if loan.released_at is None:
        raise _refused(NotAllowed("No disbursement review has released this payment; each drawdown is reviewed "
                                  "first."), refusal, "PAY-RELEASE")
    if (loan.application or {}).get("guarantee_type", "secured") == "secured" and loan.collateral_registered_at is None:
        raise _refused(NotAllowed("The collateral of this secured loan is not registered yet; it cannot be paid."),
                       refusal, "PAY-COLLATERAL")
    left = undrawn(unit, loan)
    amount = values.get("payment_amount")
    amount = Decimal(str(amount)) if amount is not None else None
    currency = values.get("currency") or loan.currency
    errors = {}
    if amount is None or amount <= 0:
        errors["payment_amount"] = ("Must be more than 0.", {})
    elif amount != amount.quantize(Decimal("0.01")):
        errors["payment_amount"] = ("At most two decimal places (fen).", {})
    elif amount > left:
        errors["payment_amount"] = ("At most %(left)s %(currency)s of the approved %(approved)s is left to pay.",
                                    {"left": f"{left:,.2f}", "currency": loan.currency,
                                     "approved": f"{loan.approved_amount:,.2f}"})
    if currency != loan.currency:
        errors["currency"] = ("The approval is in %(currency)s; the payment must be too.", {"currency": loan.currency})
    if mode == "entrusted":
        if _same_party(values.get("counterparty_name"), loan.borrower):
            errors["counterparty_name"] = ("An entrusted payment goes to the borrower's counterparty, never to the "
                                           "borrower.", {})
        account = re.sub(r"[\s-]", "", str(values.get("counterparty_account") or ""))
        if not ACCOUNT_NUMBER.fullmatch(account):
            errors["counterparty_account"] = ("Not a bank account number: 10 to 30 digits.", {})
    further = bool(values.get("further_drawdown"))
    if further and amount is not None and "payment_amount" not in errors and left - amount <= 0:
        errors["further_drawdown"] = ("Nothing is left to draw after this payment.", {})
    if errors:
        raise _refused(InvalidInput("The payment was refused; nothing was paid.", field_templates=errors), refusal,
                       "PAY-AMOUNT", {"fields": sorted(errors)})
    now = unit.clock.now()
    count = unit.session.scalar(select(func.count()).select_from(Payment).where(Payment.loan_id == loan.id)) + 1
    unit.session.add(Payment(
        loan_id=loan.id, instance_id=instance.id, task_id=item.task_id, mode=mode, amount=amount, currency=currency,
        counterparty_name=values.get("counterparty_name"), counterparty_account=values.get("counterparty_account"),
        reference=str(values.get("payment_reference") or ""), paid_by=actor, paid_at=now))
    loan.released_at = None  # the next drawdown needs a review of its own
    if loan.disbursed_at is None:
        loan.disbursed_at, loan.status = now, "disbursed"
    after = {"drawdowns_paid": count, "paid_total": loan.approved_amount - left + amount,
             "undrawn": left - amount, "further_drawdown": further, "currency": currency}
    unit.audit.record("payment_made", actor=actor, loan_ref=loan.reference, instance_id=instance.id,
                      process_id=instance.process_version.process_id, process_version=instance.process_version.version,
                      detail=execution.plain_data({"mode": mode, "amount": amount, "reference": values.get(
                          "payment_reference"), "counterparty": values.get("counterparty_name"), **after}))
    return after


def _same_party(name, borrower: str) -> bool:
    def norm(text):
        return re.sub(r"\s+", " ", str(text or "")).strip().casefold()
    return bool(name) and norm(name) == norm(borrower)


def _refusal_fields(loan: Loan, item, actor: str) -> dict:
    return dict(actor=actor, role=item.role, loan_ref=loan.reference, process_id=item.process_id,
                instance_id=item.instance_id, step=item.bpmn_id, step_name=item.name)


def _refused(error, fields: dict, rule: str, detail: dict | None = None):
    """A payment refusal is an event too (recorded after the refused command rolled back)."""
    error.audit_fields = {**fields, "rule": rule, "reason": str(error),
                          "detail": {"attempted": "execute_payment", **(detail or {})}}
    return error
