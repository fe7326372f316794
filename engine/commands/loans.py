"""Loans: an application starts origination; a warning raised on a disbursed loan starts the warning process."""
from __future__ import annotations

from decimal import Decimal

from engine.commands import customers
from engine.commands.flow import newest_starting_on, start_by_message, start_instance
from engine.commands.unit import Unit
from engine.store.lookups import latest_version, loan_row, post_loan_manager_of
from engine.errors import InvalidInput, NotFound
from engine.application import validate_application
from engine.runtime import execution
from engine.store.models import DutyRecord, Loan
from engine.store.people import get_user

# The message that starts the risk-warning process when a person raises a warning.
WARNING_MESSAGE = "warning_raised"
# Restructured loans are at least special mention (五级分类, 2023).
RESTRUCTURED_FLOOR = "special_mention"
NONPERFORMING = ("substandard", "doubtful", "loss")


def start_loan(unit: Unit, actor: str, application: dict, replaces: Loan | None = None) -> str:
    """Record an application and start origination on it; returns the loan reference. `replaces` is the loan a
    refinancing or restructuring settles once this one is paid out."""
    user = get_user(unit.session, actor)
    values = validate_application(application)
    if replaces is not None:
        values.update(replaces_loan=replaces.reference, replaced_classification=replaces.classification)
    elif values["loan_type"] != "new":
        problem = ("A new application is a new loan; an extension, a refinancing or a restructuring is started from "
                   "the loan it changes.", {})
        raise InvalidInput("The application has errors; no loan was created.", field_templates={"loan_type": problem})
    branch = values.get("branch") or unit.gate.home_branch(user, "customer_manager")
    values["branch"] = branch or ""
    now = unit.clock.now()
    customer = customers.customer_for(unit, values, actor)
    declared = Decimal(str(values.get("declared_group_exposure") or 0))  # never lowers the computed figure
    values["group_exposure"] = max(customers.exposure(unit, values["amount"], customer,
                                                      replacing=replaces.id if replaces is not None else None), declared)
    loan = Loan(reference="pending", borrower=values["borrower"], product=values["product"],
                amount=values["amount"], branch=branch, originator=actor, loan_type=values["loan_type"],
                stage="investigation", application=execution.plain_data(values), created_at=now, updated_at=now,
                classification=initial_class(values), customer_id=customer.id if customer else None,
                replaces_loan_id=replaces.id if replaces is not None else None)
    unit.gate.check_origination(unit, user, loan)
    unit.session.add(loan)
    unit.session.flush()
    loan.reference = f"L-{unit.policy.local_date(now).year}-{loan.id:06d}"
    unit.audit.record("loan_created", actor=actor, role="customer_manager", loan_ref=loan.reference,
                      detail={"after": execution.plain_data(values)})
    unit.session.add(DutyRecord(loan_id=loan.id, username=actor, duty="originate", process_id="origination",
                                performed_at=now))
    data = {**values, "loan_id": loan.reference, "originator": actor}
    start_instance(unit, loan, latest_version(unit.session, "origination"), data, actor)
    return loan.reference


def initial_class(values: dict) -> str:
    """A restructured loan starts at least special mention; one replacing a non-performing loan at least
    substandard (五级分类, 2023)."""
    if values.get("replaced_classification") in NONPERFORMING:
        return "substandard"
    if values["loan_type"] == "restructuring" or values.get("replaces_loan"):
        return RESTRUCTURED_FLOOR
    return "normal"


def raise_warning(unit: Unit, actor: str, loan_ref: str, signal: str) -> int:
    """Anyone whose role may raise a warning signals a risk on a disbursed loan; returns the new instance id."""
    loan = loan_row(unit.session, loan_ref)
    user = get_user(unit.session, actor)
    unit.gate.check_duty(unit, user, "raise_warning", loan)
    version = newest_starting_on(unit, WARNING_MESSAGE)
    if version is None:
        raise NotFound("No deployed process starts on '%(message)s'.", message=WARNING_MESSAGE)
    payload = {"signal": signal.strip(), "raised_by": actor, "loan_id": loan.reference,
               "loan_type": loan.loan_type, "current_classification": loan.classification,
               "post_loan_manager": post_loan_manager_of(unit.session, loan)}
    unit.audit.record("warning_raised", actor=actor, loan_ref=loan.reference, detail={"signal": signal.strip()})
    return start_by_message(unit, loan, version, WARNING_MESSAGE, payload, actor).id
