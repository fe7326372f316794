"""Collection (催收) from the feed: the first day past due opens it, a loan current again closes it as cured; a loan
never has two open collections."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from engine.commands import floors
from engine.commands.flow import deliver, newest_starting_on, start_by_message
from engine.store.lookups import post_loan_manager_of
from engine.store.models import Loan, LoanAccount, ProcessInstance, ProcessVersion

OVERDUE = "loan_overdue"  # starts the collection process
CURED = "loan_cured"  # the feed reports the loan current again: the collection ends


def on_position(unit, loan: Loan, day: date, days_before: int, account: LoanAccount) -> None:
    """Open a collection when days past due go from 0 to more; report the cure when they go back to 0."""
    if days_before == 0 and account.days_past_due > 0:
        _open(unit, loan, day, account)
    elif days_before > 0 and account.days_past_due == 0:
        payload = {"loan_id": loan.reference, "cured_on": day.isoformat(), "days_past_due_before": days_before}
        if deliver(unit, loan, CURED, payload):
            unit.audit.record("message_received", actor=floors.RULE_ACTOR, loan_ref=loan.reference, step=CURED,
                              detail={"message": CURED, "payload": payload})


def _open(unit, loan: Loan, day: date, account: LoanAccount) -> None:
    version = newest_starting_on(unit, OVERDUE)
    if version is None or open_collection(unit, loan) is not None:
        return
    payload = {"loan_id": loan.reference, "as_of": day.isoformat(), "days_past_due": account.days_past_due,
               "overdue_since": (day - timedelta(days=account.days_past_due - 1)).isoformat(),
               "overdue_principal": f"{account.overdue_principal:.2f}",
               "overdue_interest": f"{account.overdue_interest:.2f}",
               "post_loan_manager": post_loan_manager_of(unit.session, loan)}
    start_by_message(unit, loan, version, OVERDUE, payload, floors.RULE_ACTOR)


def open_collection(unit, loan: Loan) -> ProcessInstance | None:
    return unit.session.scalar(select(ProcessInstance).join(ProcessVersion).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
        ProcessVersion.start_message == OVERDUE).limit(1))
