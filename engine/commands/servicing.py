"""The core banking feed (核心系统): each loan's latest position, checked row by row, recorded once, and acted on.

Each row lands in its own transaction: a refused or failing row never holds back the others, a batch of thousands
never locks thousands of loans at once, and because a row already recorded changes nothing, a batch interrupted
half-way is simply sent again."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from engine.commands import collection, floors, onboarding, recoveries, warning_rules
from engine.commands.flow import deliver, keep_for_later
from engine.commands.unit import open_unit
from engine.errors import InvalidInput, NotAllowed, PositionRefused
from engine.kernel import Kernel
from engine.roles import FEED_ROLE
from engine.store.models import Loan, LoanAccount, User
from engine.views import ImportSummary, PositionError

REQUIRED = ("loan", "contract_number", "maturity_date", "outstanding_principal", "overdue_principal",
            "overdue_interest", "days_past_due")
OPTIONAL = ("schedule", "last_repayment_date", "last_repayment_amount")
FIELDS = REQUIRED + OPTIONAL
AMOUNTS = ("outstanding_principal", "overdue_principal", "overdue_interest", "last_repayment_amount")
DATES = ("maturity_date", "last_repayment_date")
MAX_AMOUNT = Decimal(10) ** 16  # Numeric(18, 2)
MAX_BATCH = 10_000  # rows in one API call; a bank's whole book goes in several
FEED_ACTOR = floors.RULE_ACTOR  # what the rules acting on the feed are recorded as


def import_positions(kernel: Kernel, as_of, rows, actor: str | None, source: str, on_row=None,
                     onboard: bool = False) -> ImportSummary:
    """Record a batch of positions as of one business date; returns what was accepted, unchanged and refused.
    `actor` None is the operator loading a file on the server; a named actor must be the core banking system.
    `onboard`: the rows also carry the credit file of loans disbursed before creditflow (onboarding.py), opened
    for those not on file yet. `on_row` is called after each row (a progress bar)."""
    day = business_date(as_of)
    if not isinstance(rows, list):
        raise InvalidInput("positions must be a list of rows.", field_templates={"positions": ("A list.", {})})
    if actor is not None:
        check_feed(kernel, actor, source)
    accepted, unchanged, refused, onboarded = [], [], [], []
    for number, row in enumerate(rows, 1):
        named = row.get("loan") if isinstance(row, dict) and isinstance(row.get("loan"), str) else None
        try:
            position, file = onboarding.read_row(row) if onboard else (read_row(row), None)
            with open_unit(kernel, source, "onboard_loan" if onboard else "record_position") as unit:
                opened = file is not None and onboarding.onboard(unit, day, position, file, actor)
                changed = record_position(unit, day, position, actor)
        except PositionRefused as err:
            template, params = err.field_templates[err.field]
            refused.append(PositionError(number, named, err.field, template, dict(params)))
        else:
            (accepted if changed else unchanged).append(position["loan"])
            if opened:
                onboarded.append(position["loan"])
        if on_row is not None:
            on_row()
    return ImportSummary(day, accepted, unchanged, refused, onboarded)


def business_date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput("as_of must be a date (YYYY-MM-DD), not '%(value)s'.", value=str(value)[:40],
                           field_templates={"as_of": ("A date (YYYY-MM-DD).", {})}) from None


def check_feed(kernel: Kernel, actor: str, source: str) -> None:
    """Only the core banking system's account reports positions; anyone else is refused, and the refusal recorded."""
    with kernel.db.reading() as session:
        user = session.scalar(select(User).where(User.username == actor))
        roles = {g.role for g in user.grants} if user is not None else set()
    if FEED_ROLE not in roles:
        error = NotAllowed("Only the core banking system (role core_banking) may report loan positions.")
        with open_unit(kernel, source, "refuse_positions") as unit:
            unit.audit.record("refused", outcome="denied", actor=actor, rule="FEED-ROLE", reason=str(error),
                              detail={"attempted": "import_positions"})
        raise error


def read_row(row) -> dict:
    """One row as typed values, or PositionRefused naming the first field at fault."""
    if not isinstance(row, dict):
        raise PositionRefused("A row must be an object with the position's fields.", on="row")
    for name in row:
        if name not in FIELDS:
            raise PositionRefused("Unknown field '%(field)s'.", on=str(name)[:64], field=str(name)[:64])
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise PositionRefused("%(field)s is missing.", on=name, field=name)
    position = {"loan": _text(row, "loan", 32), "contract_number": _text(row, "contract_number", 64),
                "schedule": _text(row, "schedule", 2000) if row.get("schedule") not in (None, "") else ""}
    for name in DATES:
        position[name] = _date(row, name)
    for name in AMOUNTS:
        position[name] = _amount(row, name)
    position["days_past_due"] = _days(row)
    if (position["last_repayment_date"] is None) != (position["last_repayment_amount"] is None):
        missing = "last_repayment_amount" if position["last_repayment_amount"] is None else "last_repayment_date"
        raise PositionRefused("A last repayment needs both its date and its amount.", on=missing)
    if position["overdue_principal"] > position["outstanding_principal"]:
        raise PositionRefused("Overdue principal cannot exceed the outstanding principal.", on="overdue_principal")
    if position["days_past_due"] == 0 and position["overdue_principal"] + position["overdue_interest"] > 0:
        raise PositionRefused("Something is overdue, so days past due cannot be 0.", on="days_past_due")
    return position


def _text(row: dict, name: str, longest: int) -> str:
    value = row[name]
    if not isinstance(value, str) or not value.strip():
        raise PositionRefused("%(field)s must be text.", on=name, field=name)
    if len(value.strip()) > longest:
        raise PositionRefused("%(field)s is longer than %(longest)s characters.", on=name, field=name,
                              longest=longest)
    return value.strip()


def _date(row: dict, name: str) -> date | None:
    value = row.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PositionRefused("%(field)s must be a date (YYYY-MM-DD), not '%(value)s'.", on=name, field=name,
                              value=str(value)[:40]) from None


def _amount(row: dict, name: str) -> Decimal | None:
    value = row.get(name)
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "")) if not isinstance(value, (bool, float)) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise PositionRefused("%(field)s must be an amount, not '%(value)s'.", on=name, field=name,
                              value=str(value)[:40])
    if amount < 0:
        raise PositionRefused("%(field)s cannot be negative.", on=name, field=name)
    if amount != amount.quantize(Decimal("0.01")) or amount >= MAX_AMOUNT:
        raise PositionRefused("%(field)s must have at most two decimal places (fen) and 16 digits.", on=name,
                              field=name)
    return amount.quantize(Decimal("0.01"))


def _days(row: dict) -> int:
    value = row["days_past_due"]
    try:
        days = int(str(value)) if not isinstance(value, (bool, float)) else None
    except ValueError:
        days = None
    if days is None or days < 0 or days > 100_000:
        raise PositionRefused("days_past_due must be a whole number of days, 0 or more.", on="days_past_due")
    return days


def fingerprint(position: dict) -> str:
    """The reported figures' SHA-256: a row that brings nothing new has the fingerprint already recorded."""
    plain = {k: (str(v) if v is not None else None) for k, v in sorted(position.items())}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


def record_position(unit, day: date, position: dict, actor: str | None) -> bool:
    """Record one loan's position; returns whether anything changed (then one `position_recorded` event)."""
    query = select(Loan).where(Loan.reference == position["loan"])
    if unit.kernel.db.is_postgres:
        query = query.with_for_update()
    loan = unit.session.scalar(query)
    if loan is None:
        raise PositionRefused("No loan %(loan)s.", on="loan", loan=position["loan"])
    if loan.disbursed_at is None:
        raise PositionRefused("Loan %(loan)s has not been disbursed; it has no account yet.", on="loan",
                              loan=loan.reference)
    account = unit.session.scalar(select(LoanAccount).where(LoanAccount.loan_id == loan.id))
    if account is not None and day < account.as_of:
        raise PositionRefused("This position is as of %(as_of)s, earlier than the one recorded (%(last)s).",
                              on="as_of", as_of=day.isoformat(), last=account.as_of.isoformat())
    if position["last_repayment_date"] is not None and position["last_repayment_date"] > day:
        raise PositionRefused("The last repayment (%(paid_on)s) cannot be later than the position (%(as_of)s).",
                              on="last_repayment_date", paid_on=position["last_repayment_date"].isoformat(),
                              as_of=day.isoformat())
    digest = fingerprint(position)
    if account is not None and account.row_hash == digest:
        earlier, account.as_of = account.as_of, day  # the same figures, a later day: nothing to audit ...
        warning_rules.on_later_day(unit, loan, earlier, account)  # ... but maturity may now be near
        return False
    before = described(account) if account is not None else None
    days_before = account.days_past_due if account is not None else 0
    if account is None:
        account = LoanAccount(loan_id=loan.id)
        unit.session.add(account)
    for name, value in position.items():
        if name != "loan":
            setattr(account, name, value)
    account.as_of, account.row_hash = day, digest
    account.recorded_at, account.recorded_by = unit.clock.now(), actor
    after = described(account)
    unit.audit.record("position_recorded", actor=actor, loan_ref=loan.reference,
                      detail={"as_of": day.isoformat(), "before": before, "after": after})
    floors.on_position(unit, loan, days_before, account.days_past_due)
    warning_rules.on_position(unit, loan, before, account)
    collection.on_position(unit, loan, day, days_before, account)
    recoveries.on_position(unit, loan, before, account)
    if settled(account) and not (before and before["outstanding_principal"] == "0.00") \
            and loan.status == "disbursed":
        _report_repaid(unit, loan, day, actor)
    return True


def described(account: LoanAccount) -> dict:
    """The position as plain text values (what the audit shows before and after)."""
    def text(value):
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        return value.isoformat() if isinstance(value, date) else value
    return {name: text(getattr(account, name)) for name in ("as_of", *FIELDS[1:])}


def settled(account: LoanAccount) -> bool:
    """Nothing outstanding and nothing overdue: the ledger says the loan is repaid (结清)."""
    return account.outstanding_principal == 0 and account.overdue_principal == 0 and account.overdue_interest == 0


def _report_repaid(unit, loan: Loan, day: date, actor: str | None) -> None:
    """A settled position is the repayment the post-loan file waits for (`loan_repaid`)."""
    payload = {"repaid_on": day.isoformat(), "reported_by": FEED_ROLE}
    unit.audit.record("message_received", actor=actor or FEED_ACTOR, loan_ref=loan.reference, step="loan_repaid",
                      detail={"message": "loan_repaid", "payload": payload})
    if not deliver(unit, loan, "loan_repaid", payload):
        keep_for_later(unit, loan, "loan_repaid", payload, actor or FEED_ACTOR)
