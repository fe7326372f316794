"""Onboarding (存量贷款纳入贷后管理): the core banking feed brings a loan disbursed before creditflow under post-loan care.

An onboarding row is a position (see servicing.py) plus what the credit file needs: the borrower and its unified
identifier, product, amount, branch, the disbursement date, the originating customer manager and the loan type. The
loan gets its file (disbursed, in post-loan care), its account position, and a post-loan instance started as a
disbursement starts one, dated from the real disbursement: the first inspection and the quarterly schedule count from
that day, and only the inspections still ahead of the import are asked for. A row for a loan already on file opens
nothing new."""
from __future__ import annotations

import re
from datetime import date, datetime, time

from sqlalchemy import select

from engine.application import LOAN_TYPES, PRODUCTS
from engine.commands import customers, servicing
from engine.commands.flow import newest_starting_on, start_instance
from engine.errors import PositionRefused
from engine.identifiers import customer_kind
from engine.runtime import execution
from engine.store.models import DutyRecord, Loan, User

FIELDS = ("borrower", "borrower_id", "product", "amount", "branch", "disbursed_on", "originator", "loan_type",
          "small_enterprise")
REQUIRED = ("borrower", "borrower_id", "product", "amount", "branch", "disbursed_on", "originator")
DISBURSED = "loan_disbursed"  # the message a first drawdown throws, which starts post-loan care
OWN_REFERENCE = re.compile(r"^L-\d{4}-\d{6}$")  # the references creditflow gives the loans it originates
TRUE, FALSE = ("true", "1", "yes", "y"), ("false", "0", "no", "n", "")


def read_row(row) -> tuple[dict, dict]:
    """The position and the credit file's fields of one onboarding row, or PositionRefused naming the first fault."""
    if not isinstance(row, dict):
        raise PositionRefused("A row must be an object with the position's fields.", on="row")
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise PositionRefused("%(field)s is missing.", on=name, field=name)
    position = servicing.read_row({k: v for k, v in row.items() if k not in FIELDS})
    if OWN_REFERENCE.match(position["loan"]):
        raise PositionRefused("%(loan)s has the form of a reference creditflow gives; onboard a loan under its core "
                              "banking number.", on="loan", loan=position["loan"])
    values = {"borrower": servicing._text(row, "borrower", 200), "branch": servicing._text(row, "branch", 32),
              "originator": servicing._text(row, "originator", 64)}
    code = servicing._text(row, "borrower_id", 18).upper()
    if customer_kind(code) is None:
        raise PositionRefused("Not a valid identifier: check the 18 characters and the check character.",
                              on="borrower_id")
    values["borrower_id"] = code
    values["product"] = _choice(row, "product", PRODUCTS, None)
    values["loan_type"] = _choice(row, "loan_type", LOAN_TYPES, "new")
    amount = servicing._amount(row, "amount")
    if not amount:
        raise PositionRefused("%(field)s must be more than 0.", on="amount", field="amount")
    values["amount"] = amount
    values["disbursed_on"] = servicing._date(row, "disbursed_on")
    if values["disbursed_on"] >= position["maturity_date"]:
        raise PositionRefused("The loan must be disbursed before it matures (%(maturity)s).", on="disbursed_on",
                              maturity=position["maturity_date"].isoformat())
    flag = str(row.get("small_enterprise", "")).strip().lower()
    if flag not in TRUE + FALSE:
        raise PositionRefused("%(field)s must be true or false.", on="small_enterprise", field="small_enterprise")
    values["small_enterprise"] = flag in TRUE
    values["term_months"] = term_months(values["disbursed_on"], position["maturity_date"])
    return position, values


def _choice(row: dict, name: str, allowed: list, default: str | None) -> str:
    value = row.get(name) if row.get(name) not in (None, "") else default
    if value not in allowed:
        raise PositionRefused("%(field)s must be one of %(allowed)s.", on=name, field=name,
                              allowed=", ".join(allowed))
    return value


def term_months(disbursed_on: date, maturity: date) -> int:
    """Whole months from disbursement to maturity, a part month counted (what the inspection frequency reads)."""
    months = (maturity.year - disbursed_on.year) * 12 + maturity.month - disbursed_on.month
    return max(1, min(360, months + (1 if maturity.day > disbursed_on.day else 0)))


def onboard(unit, day: date, position: dict, values: dict, actor: str | None) -> bool:
    """Open the credit file of one loan the row names, unless it is on file; returns whether it was opened."""
    if unit.session.scalar(select(Loan.id).where(Loan.reference == position["loan"])) is not None:
        return False
    if values["disbursed_on"] > day:
        raise PositionRefused("The disbursement (%(disbursed_on)s) cannot be later than the position (%(as_of)s).",
                              on="disbursed_on", disbursed_on=values["disbursed_on"].isoformat(),
                              as_of=day.isoformat())
    manager = unit.session.scalar(select(User).where(User.username == values["originator"]))
    if manager is None or "customer_manager" not in {g.role for g in manager.grants}:
        raise PositionRefused("%(user)s is not a customer manager.", on="originator", user=values["originator"])
    version = newest_starting_on(unit, DISBURSED)
    if version is None:
        raise PositionRefused("No deployed process starts on '%(message)s'.", on="loan", message=DISBURSED)
    disbursed_at = datetime.combine(values["disbursed_on"], time(9), tzinfo=unit.policy.bank_timezone())
    application = execution.plain_data({**values, "disbursed_on": values["disbursed_on"].isoformat(),
                                        "contract_number": position["contract_number"], "onboarded": True})
    customer = customers.customer_for(unit, values, actor or servicing.FEED_ACTOR)
    now = unit.clock.now()
    classification = "special_mention" if values["loan_type"] == "restructuring" else "normal"
    loan = Loan(reference=position["loan"], borrower=values["borrower"], product=values["product"],
                amount=values["amount"], branch=values["branch"], originator=values["originator"],
                loan_type=values["loan_type"], stage="post_loan", classification=classification, status="disbursed",
                application=application, created_at=now, updated_at=now, approved_amount=values["amount"],
                approved_term_months=values["term_months"], approved_at=disbursed_at, disbursed_at=disbursed_at,
                customer_id=customer.id)
    unit.session.add(loan)
    unit.session.flush()
    unit.audit.record("loan_onboarded", actor=actor, loan_ref=loan.reference,
                      detail={"as_of": day.isoformat(), "after": application})
    unit.session.add(DutyRecord(loan_id=loan.id, username=loan.originator, duty="originate",
                                process_id="origination", performed_at=disbursed_at))
    payload = {"loan_id": loan.reference, "borrower": loan.borrower, "branch": loan.branch,
               "product": loan.product, "loan_type": loan.loan_type, "amount": application["amount"],
               "term_months": loan.approved_term_months, "originator": loan.originator, "approval_tier": None,
               "approval_conditions": "", "contract_number": position["contract_number"],
               "entrusted_payment": False, "payment_reference": "", "payment_amount": application["amount"],
               "classification": classification, "disbursed_on": values["disbursed_on"].isoformat(),
               "onboarded_on": day.isoformat()}
    data = {**application, "loan_id": loan.reference}
    start_instance(unit, loan, version, data, actor, message=DISBURSED, payload=payload, recorded=True)
    return True
