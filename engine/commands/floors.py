"""Classification floors from the feed (五级分类下限): a loan falling further behind opens a classification review by
rule, and no approval may choose a class better than the floor its days past due set. The floor is what the deployed
classification_floor decision table (the newest classification version) says, so a redesigned table changes it."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from policies import N_

from engine.commands.flow import newest_starting_on, start_by_message
from engine.runtime.calendar import add_months
from engine.errors import InvalidInput
from engine.store.models import Loan, LoanAccount, ProcessInstance, ProcessVersion

CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")  # best to worst
FLOOR_OUTPUT = "classification_floor"  # the decision table's output the floor is read from
PROPOSED = "classification_proposed"
NONPERFORMING = ("substandard", "doubtful", "loss")
RULE_ACTOR = "system:servicing"


def classification_version(unit) -> ProcessVersion | None:
    """The newest deployed process a classification proposal starts."""
    return newest_starting_on(unit, PROPOSED)


def _floor_table(unit):
    version = classification_version(unit)
    if version is None:
        return None
    loaded = unit.workflows.loaded(version)
    for spec in (loaded.spec, *loaded.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            table = getattr(engine, "decision_table", None)
            if table is not None and any((o.name or o.label) == FLOOR_OUTPUT for o in table.outputs):
                return engine
    return None


def floor_for(unit, days_past_due: int, loan_type: str | None = "new") -> str:
    """The floor the deployed decision table gives these days past due (and loan type); normal without one."""
    engine = _floor_table(unit)
    if engine is None:
        return "normal"
    inputs = SimpleNamespace(data={"days_overdue": int(days_past_due or 0), "loan_type": loan_type or "new"},
                             workflow=SimpleNamespace(script_engine=unit.kernel.script_engine))
    floor = engine.result(inputs).get(FLOOR_OUTPUT)
    return floor if floor in CLASSES else "normal"


def worse(a: str, b: str) -> bool:
    return CLASSES.index(a) > CLASSES.index(b)


def on_position(unit, loan: Loan, days_before: int, days_after: int) -> None:
    """A position that crosses a floor upward opens a classification review carrying the real days past due."""
    floor = floor_for(unit, days_after, loan.loan_type)
    if not worse(floor, floor_for(unit, days_before, loan.loan_type)) \
            or not worse(floor, loan.classification or "normal"):
        return
    open_review(unit, loan, floor, f"Days past due {days_after} (core banking feed): floor {floor}", days_after)


def under_review(unit, loan: Loan) -> bool:
    """Whether a classification review is open on the loan (a rule never opens a second one)."""
    return unit.session.scalar(select(ProcessInstance.id).join(ProcessVersion).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
        ProcessVersion.start_message == PROPOSED).limit(1)) is not None


def open_review(unit, loan: Loan, proposed: str, reason: str, days: int, floor: str | None = None):
    """A classification review opened by rule (`system:servicing`); `floor` a class no approval may better, besides
    the decision table's. Returns the instance, or None when no classification process is deployed."""
    version = classification_version(unit)
    if version is None:
        return None
    payload = {"proposed_by": RULE_ACTOR, "proposed_classification": proposed, "loan_id": loan.reference,
               "reason": reason, "days_overdue": days, "loan_type": loan.loan_type,
               "current_classification": loan.classification}
    if floor is not None:
        payload["floor"] = floor
    return start_by_message(unit, loan, version, PROPOSED, payload, RULE_ACTOR)


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
    by_days = floor_for(unit, days, loan.loan_type)
    pulled = (task_data.get("proposal") or {}).get("floor") or "normal"  # a customer-level pull (reviews.py)
    pulled = pulled if pulled in CLASSES else "normal"
    table = task_data.get("classification_floor") if task_data.get("classification_floor") in CLASSES else "normal"
    floor = max((table, by_days, pulled), key=CLASSES.index)
    if chosen not in CLASSES:
        return
    restructured, until = replacement_floor(unit, loan)
    if worse(restructured, chosen) and not worse(floor, restructured):
        template = N_("Refinanced or restructured: until %(until)s the floor is %(floor)s; no better class may be "
                      "approved.")
        params = {"until": until.isoformat(), "floor": restructured}
        raise InvalidInput(template, field_templates={"classification": (template, params)}, **params)
    if not worse(floor, chosen):
        return
    if floor == pulled and worse(pulled, by_days):
        template = N_("This review's floor is %(floor)s (the borrower's other claims); no better class may be "
                      "approved.")
    else:
        template = N_("At %(days)s days past due the floor is %(floor)s; no better class may be approved.")
    raise InvalidInput(template, field_templates={"classification": (template, {"days": days, "floor": floor})},
                       days=days, floor=floor)
