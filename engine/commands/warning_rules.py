"""Warnings raised by rule (规则预警): the feed and the classification raise a risk warning as `system:servicing`,
never a second open one for the same rule on the same loan; the credit risk department decides it as any other."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from engine.commands import floors
from engine.commands.flow import newest_starting_on, start_by_message
from engine.notices import N_
from engine.store.lookups import post_loan_manager_of
from engine.store.models import Loan, LoanAccount, ProcessInstance, ProcessVersion

WARNING_MESSAGE = "warning_raised"  # as a person raises it (commands/loans.raise_warning)
RULE_ACTOR = floors.RULE_ACTOR
OVERDUE, MATURITY, CLASSIFICATION = "WARN-OVERDUE", "WARN-MATURITY", "WARN-CLASS"


# What each rule's signal says (its English text is the warning's `signal`; readers see it in their language).
OVERDUE_SIGNAL = N_("Days past due %(days)s (core banking feed), beyond %(threshold)s")
MATURITY_SIGNAL = N_("Matures on %(maturity)s with nothing repaid since %(since)s")
MATURITY_SIGNAL_NEVER = N_("Matures on %(maturity)s with nothing repaid since drawdown")
CLASSIFICATION_SIGNAL = N_("Classified %(classification)s (was %(previous)s)")


def raise_by_rule(unit, loan: Loan, rule: str, signal: str, detail: dict | None = None,
                  wording: tuple[str, dict] | None = None) -> ProcessInstance | None:
    """Start the risk warning on `loan` as raised by `rule`; None when one of that rule is still open (or no
    warning process is deployed). `wording`: the signal as a catalog template and its parameters."""
    version = newest_starting_on(unit, WARNING_MESSAGE)
    if version is None or rule in open_rules(unit, loan):
        return None
    payload = {"signal": signal, "raised_by": RULE_ACTOR, "rule": rule, "rule_detail": dict(detail or {}),
               "loan_id": loan.reference, "loan_type": loan.loan_type,
               "current_classification": loan.classification,
               "post_loan_manager": post_loan_manager_of(unit.session, loan)}
    if wording is not None:
        payload["signal_wording"] = {"template": wording[0], "params": dict(wording[1])}
    days = unit.session.scalar(select(LoanAccount.days_past_due).where(LoanAccount.loan_id == loan.id))
    if days:
        payload["days_overdue"] = days
    unit.audit.record("warning_raised", actor=RULE_ACTOR, loan_ref=loan.reference, rule=rule,
                      detail={"signal": signal, "rule": rule, "rule_detail": dict(detail or {}),
                              **({"signal_wording": payload["signal_wording"]} if wording is not None else {})})
    return start_by_message(unit, loan, version, WARNING_MESSAGE, payload, RULE_ACTOR)


def open_rules(unit, loan: Loan) -> set[str]:
    """The rules whose warnings on `loan` are still running."""
    running = unit.session.scalars(select(ProcessInstance).join(ProcessVersion).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
        ProcessVersion.start_message == WARNING_MESSAGE)).all()
    rules = set()
    for instance in running:
        saved = unit.saved.get(instance.id)
        workflow = saved[1] if saved else unit.workflows.restore(instance)[0]
        rules.update((t.data.get("warning") or {}).get("rule") for t in workflow.get_tasks())
    return rules - {None}


def on_position(unit, loan: Loan, before: dict | None, account: LoanAccount) -> None:
    """The feed's rules, each on the position that first meets it (a later day still meeting it raises nothing)."""
    params = unit.policy.params
    threshold = int(params.get("warning_overdue_days", 30))
    days_before = int(before["days_past_due"]) if before else 0
    if days_before <= threshold < account.days_past_due:
        wording = (OVERDUE_SIGNAL, {"days": account.days_past_due, "threshold": threshold})
        raise_by_rule(unit, loan, OVERDUE, wording[0] % wording[1],
                      {"days_past_due": account.days_past_due, "threshold": threshold}, wording)
    if before is None or not no_repayment_source(params, _day(before["as_of"]), _day(before["maturity_date"]),
                                                 _day(before["last_repayment_date"]), before["outstanding_principal"]):
        _maturity(unit, loan, account)


def on_later_day(unit, loan: Loan, earlier: date, account: LoanAccount) -> None:
    """The same figures on a later day: only the approach of maturity can have changed."""
    if not no_repayment_source(unit.policy.params, earlier, maturity_of(loan, account), account.last_repayment_date,
                               account.outstanding_principal):
        _maturity(unit, loan, account)


def maturity_of(loan: Loan, account: LoanAccount) -> date | None:
    """The maturity the rule watches: an approved extension's (展期) when the feed still reports the old date."""
    dates = [d for d in (account.maturity_date, loan.maturity_date) if d is not None]
    return max(dates) if dates else None


def _maturity(unit, loan: Loan, account: LoanAccount) -> None:
    """WARN-MATURITY when the position now shows no repayment source near maturity."""
    maturity = maturity_of(loan, account)
    if no_repayment_source(unit.policy.params, account.as_of, maturity, account.last_repayment_date,
                           account.outstanding_principal):
        paid = account.last_repayment_date
        wording = (MATURITY_SIGNAL if paid else MATURITY_SIGNAL_NEVER,
                   {"maturity": maturity.isoformat(), "since": paid.isoformat() if paid else None})
        raise_by_rule(unit, loan, MATURITY, wording[0] % wording[1],
                      {"maturity_date": maturity.isoformat(),
                       "last_repayment_date": paid.isoformat() if paid else None,
                       "outstanding_principal": f"{account.outstanding_principal:.2f}"}, wording)


def no_repayment_source(params: dict, as_of: date | None, maturity: date | None, last_repayment: date | None,
                        outstanding) -> bool:
    """Maturity within `warning_maturity_days`, principal still outstanding, and nothing repaid within
    `warning_repayment_lookback_days`: the borrower shows no source to repay at maturity."""
    if as_of is None or maturity is None or not outstanding or float(outstanding) <= 0:
        return False
    if not as_of <= maturity <= as_of + timedelta(days=int(params.get("warning_maturity_days", 30))):
        return False
    lookback = as_of - timedelta(days=int(params.get("warning_repayment_lookback_days", 90)))
    return last_repayment is None or last_repayment < lookback


def on_classification(unit, loan: Loan, source_instance, payload: dict) -> None:
    """A class approved worse than normal, and worse than before, raises a warning (`classification_changed`)."""
    new, previous = payload.get("classification"), payload.get("previous_classification") or "normal"
    if new in floors.CLASSES and floors.worse(new, "normal") and floors.worse(new, previous):
        wording = (CLASSIFICATION_SIGNAL, {"classification": new, "previous": previous})
        raise_by_rule(unit, loan, CLASSIFICATION, wording[0] % wording[1],
                      {"classification": new, "previous_classification": previous,
                       "approved_by": payload.get("approved_by")}, wording)


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None
