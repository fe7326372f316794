"""Classification floors from the feed (五级分类下限): a loan falling further behind opens a classification review by
rule, and no approval may choose a class better than the floor its days past due set."""
from __future__ import annotations

from sqlalchemy import select

from engine.commands.flow import start_instance
from engine.runtime.calendar import add_months
from engine.errors import InvalidInput
from engine.store.models import Loan, LoanAccount, ProcessVersion

CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")  # best to worst
# Days past due beyond which each class is the floor [REG 2023], as the classification_floor decision table says.
FLOOR_DAYS = ((360, "loss"), (270, "doubtful"), (90, "substandard"), (0, "special_mention"))
PROPOSED = "classification_proposed"
NONPERFORMING = ("substandard", "doubtful", "loss")
RULE_ACTOR = "system:servicing"


def floor_for(days_past_due: int) -> str:
    return next((cls for days, cls in FLOOR_DAYS if days_past_due > days), "normal")


def worse(a: str, b: str) -> bool:
    return CLASSES.index(a) > CLASSES.index(b)


def on_position(unit, loan: Loan, days_before: int, days_after: int) -> None:
    """A position that crosses a floor upward opens a classification review carrying the real days past due."""
    floor = floor_for(days_after)
    if not worse(floor, floor_for(days_before)) or not worse(floor, loan.classification or "normal"):
        return
    versions = unit.session.scalars(select(ProcessVersion).where(ProcessVersion.start_message == PROPOSED)
                                    .order_by(ProcessVersion.version)).all()
    if not versions:
        return
    payload = {"proposed_by": RULE_ACTOR, "proposed_classification": floor, "loan_id": loan.reference,
               "reason": f"Days past due {days_after} (core banking feed): floor {floor}",
               "days_overdue": days_after, "loan_type": loan.loan_type,
               "current_classification": loan.classification}
    data = {**(loan.application or {}), "loan_id": loan.reference, "originator": loan.originator, **payload}
    start_instance(unit, loan, versions[-1], data, RULE_ACTOR, message=PROPOSED, payload=payload)


def replacement_floor(unit, loan: Loan):
    """A refinanced or restructured loan (借新还旧, 重组) is at least special mention, and at least substandard when
    the loan it replaced was non-performing, through the observation period from its first drawdown (or its
    application, before one); returns the floor and the period's end (None for any other loan)."""
    application = loan.application or {}
    if loan.replaces_loan_id is None and not application.get("replaces_loan"):
        return "normal", None
    started = unit.policy.local_date(loan.disbursed_at or loan.created_at)
    until = add_months(started, int(unit.policy.params.get("restructuring_observation_months", 12)))
    if unit.policy.local_date(unit.clock.now()) >= until:
        return "normal", until
    return ("substandard" if application.get("replaced_classification") in NONPERFORMING
            else "special_mention"), until


def check_approval(unit, loan: Loan, duty: str, task_data: dict, values: dict) -> None:
    """An approved class better than the floor (the review's, the feed's today, or the observation period's after a
    restructuring, whichever is worst) is refused."""
    if duty != "approve_classification" or values.get("approval") != "approve":
        return
    chosen = values.get("classification")
    account = unit.session.scalar(select(LoanAccount).where(LoanAccount.loan_id == loan.id))
    days = max(int(task_data.get("days_overdue") or 0), account.days_past_due if account else 0)
    floor = max((task_data.get("classification_floor") or "normal", floor_for(days)), key=CLASSES.index)
    restructured, until = replacement_floor(unit, loan)
    if chosen in CLASSES and worse(restructured, chosen) and not worse(floor, restructured):
        problem = ("Refinanced or restructured: until %(until)s the floor is %(floor)s; no better class may be "
                   "approved.", {"until": until.isoformat(), "floor": restructured})
        raise InvalidInput("Refinanced or restructured: until %(until)s the floor is %(floor)s; no better class may "
                           "be approved.", field_templates={"classification": problem}, until=until.isoformat(),
                           floor=restructured)
    if chosen in CLASSES and floor in CLASSES and worse(floor, chosen):
        problem = ("At %(days)s days past due the floor is %(floor)s; no better class may be approved.",
                   {"days": days, "floor": floor})
        raise InvalidInput("At %(days)s days past due the floor is %(floor)s; no better class may be approved.",
                           field_templates={"classification": problem}, days=days, floor=floor)
