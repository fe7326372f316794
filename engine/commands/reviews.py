"""Classification reviews the rules open (五级分类), recorded as `system:servicing`:

- periodically, every `classification_review_months` (policy; quarterly by default) on a schedule counted from the
  disbursement, so a review decided late never moves the next one: on each scheduled day a disbursed loan with no
  review opened since the previous scheduled day gets one, proposing its current class or the feed's floor if worse;
- a company's other loans are pulled down (客户层面不良牵连) when more than `customer_pull_share` (policy; 1/10 by
  default) of its claims at the bank are non-performing: each loan better than substandard gets a review whose floor
  is substandard. A person's (retail) loans are classified one by one and never pulled.
A loan never gets a second open review from these rules."""
from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.commands import floors
from engine.commands.unit import open_unit
from engine.errors import ConcurrentChange, DatabaseUnavailable
from engine.kernel import Kernel
from engine.runtime.calendar import add_months
from engine.store.models import AuditEvent, Customer, Loan, LoanAccount, ProcessInstance, ProcessVersion

log = logging.getLogger("creditflow.reviews")
SCHEDULED = "classification_review_due"  # the audit action of a periodic review, naming its scheduled day
NONPERFORMING = ("substandard", "doubtful", "loss")
DEFAULT_MONTHS = 3
DEFAULT_SHARE = Fraction(1, 10)


def scheduled_day(kernel: Kernel, disbursed_on: date, today: date, months: int) -> tuple[date, date] | None:
    """The latest scheduled review day on or before today, and the one before it (the disbursement for the first);
    None before the first. Each day is counted from the disbursement (never from the previous one): no drift."""
    def day(k: int) -> date:  # calendar months, whatever the loan's age (a 20-year loan is reviewed in year 15)
        return add_months(disbursed_on, k * months)
    k = ((today.year - disbursed_on.year) * 12 + today.month - disbursed_on.month) // months
    if k >= 1 and day(k) > today:
        k -= 1
    return (day(k - 1) if k > 1 else disbursed_on, day(k)) if k >= 1 else None


def next_scheduled_day(disbursed_on: date, after: date, months: int) -> date:
    """The first scheduled review day after `after` (counted from the disbursement, like `scheduled_day`)."""
    k = max(1, ((after.year - disbursed_on.year) * 12 + after.month - disbursed_on.month) // months)
    while add_months(disbursed_on, k * months) <= after:
        k += 1
    return add_months(disbursed_on, k * months)


BATCH = 500  # loans looked at per read


def periodic_reviews(kernel: Kernel) -> int:
    """Open the periodic review of every disbursed loan whose scheduled day has come; returns how many opened.
    Only loans whose `next_review_on` has come (or was never set) are read: a tick costs what is due, not the
    portfolio. A loan looked at is next read on its next monthly anniversary of the disbursement, every scheduled
    day of any whole number of months among them, so a policy that shortens the interval misses no day; a loan with
    a review running is read again on the next tick."""
    months = int(kernel.policy.params.get("classification_review_months", DEFAULT_MONTHS) or 0)
    if months <= 0:
        return 0
    today = kernel.policy.local_date(kernel.clock.now())
    with kernel.db.reading() as session:
        if session.scalar(select(ProcessVersion.id).where(ProcessVersion.start_message == floors.PROPOSED)
                          .limit(1)) is None:
            return 0  # no classification process deployed: nothing a review could open
        loans = session.execute(select(Loan.id, Loan.reference, Loan.disbursed_at, Loan.created_at).where(
            Loan.status == "disbursed", Loan.disbursed_at.is_not(None),
            or_(Loan.next_review_on.is_(None), Loan.next_review_on <= today)).order_by(Loan.id)).all()
    opened = 0
    for first in range(0, len(loans), BATCH):
        opened += _review_batch(kernel, loans[first:first + BATCH], today, months)
    return opened


def _review_batch(kernel: Kernel, loans: list, today: date, months: int) -> int:
    with kernel.db.reading() as session:
        reviews = session.execute(select(ProcessInstance.loan_id, ProcessInstance.id, ProcessInstance.created_at,
                                         ProcessInstance.status).join(ProcessVersion)
                                  .where(ProcessVersion.start_message == floors.PROPOSED,
                                         ProcessInstance.loan_id.in_([row.id for row in loans]))).all()
        periodic = session.execute(select(AuditEvent.loan_ref, AuditEvent.instance_id, AuditEvent.detail).where(
            AuditEvent.action == SCHEDULED, AuditEvent.loan_ref.in_([row.reference for row in loans]))).all()
    done = {(ref, (detail or {}).get("due_on")) for ref, _, detail in periodic}
    periodic_ids = {instance_id for _, instance_id, _ in periodic}
    by_loan: dict[int, list] = {}
    for review in reviews:
        by_loan.setdefault(review.loan_id, []).append(review)
    opened, later = 0, []  # later: (loan id, its next day) for the loans looked at and left as they are
    for loan_id, reference, disbursed_at, on_file_since in loans:
        disbursed_on = kernel.policy.local_date(disbursed_at)
        following = next_scheduled_day(disbursed_on, today, 1)  # when it is read again
        window = scheduled_day(kernel, disbursed_on, today, months)
        if window is None:  # before the first scheduled day
            later.append((loan_id, following))
            continue
        previous, due = window
        if due < kernel.policy.local_date(on_file_since):
            later.append((loan_id, following))  # an onboarded loan: that day passed before its file was kept here
            continue
        mine = by_loan.get(loan_id, [])
        if any(r.status == "running" for r in mine):
            continue  # under review now: looked at again on the next tick
        if (reference, due.isoformat()) in done or any(
                r.id not in periodic_ids and kernel.policy.local_date(r.created_at) > previous for r in mine):
            later.append((loan_id, following))  # reviewed for this day already, or reviewed since the last one
            continue
        try:
            with open_unit(kernel, "timer", "periodic_classification") as unit:
                opened += _open_periodic(unit, loan_id, due, months, following)
        except (DatabaseUnavailable, OperationalError, InterfaceError):
            raise  # the database is away: the worker waits and reconnects
        except Exception:  # noqa: BLE001 - one loan failing never stops the others; the next tick tries again
            log.exception("periodic classification review of loan %s failed", reference)
    if later:  # only ever forward (another worker may have moved it on), in id order, skipped on a lock conflict
        table = Loan.__table__
        try:
            with kernel.db.transaction() as session:
                session.execute(update(table).where(table.c.id == bindparam("loan"), or_(
                    table.c.next_review_on.is_(None), table.c.next_review_on < bindparam("day"))).values(
                    next_review_on=bindparam("day")), [{"loan": loan_id, "day": day} for loan_id, day in later])
        except ConcurrentChange:
            log.info("next review days of %d loans left for the next tick (a lock conflict)", len(later))
    return opened


def _open_periodic(unit, loan_id: int, due: date, months: int, following: date) -> int:
    query = select(Loan).where(Loan.id == loan_id)
    if unit.kernel.db.is_postgres:
        query = query.with_for_update()
    loan = unit.session.scalar(query)
    if loan is None or loan.status != "disbursed" or floors.under_review(unit, loan):
        return 0
    days = unit.session.scalar(select(LoanAccount.days_past_due).where(LoanAccount.loan_id == loan.id)) or 0
    floor = floors.floor_for(unit, days, loan.loan_type)
    current = loan.classification or "normal"
    proposed = floor if floors.worse(floor, current) else current
    instance = floors.open_review(unit, loan, proposed, f"Periodic classification review (every {months} months, "
                                  f"due {due.isoformat()}): {proposed}", days)
    if instance is None:
        return 0
    loan.next_review_on = following  # with the review it opened
    unit.audit.record(SCHEDULED, actor=floors.RULE_ACTOR, loan_ref=loan.reference, instance_id=instance.id,
                      detail={"due_on": due.isoformat(), "months": months, "proposed": proposed})
    return 1


def claims(unit, customer_id: int) -> list[tuple[Loan, Decimal]]:
    """The customer's open loans at the bank and what each is owed: the feed's outstanding principal, else the
    approved (or applied) amount."""
    loans = unit.session.scalars(select(Loan).where(Loan.customer_id == customer_id, Loan.status == "disbursed")
                                 .order_by(Loan.id)).all()
    outstanding = dict(unit.session.execute(select(LoanAccount.loan_id, LoanAccount.outstanding_principal).where(
        LoanAccount.loan_id.in_([loan.id for loan in loans]))).all()) if loans else {}
    return [(loan, Decimal(outstanding[loan.id] if loan.id in outstanding
                           else loan.approved_amount or loan.amount)) for loan in loans]


def on_classified(unit, loan: Loan, before: str | None, after: str) -> None:
    """A loan newly non-performing may pull down its company's other loans (never a person's)."""
    if after not in NONPERFORMING or (before in NONPERFORMING) or loan.customer_id is None:
        return
    customer = unit.session.get(Customer, loan.customer_id)
    if customer is None or customer.kind != "company":
        return
    owed = claims(unit, customer.id)
    total = sum((amount for _, amount in owed), Decimal(0))
    bad = sum((amount for each, amount in owed if (each.classification or "normal") in NONPERFORMING), Decimal(0))
    share = Fraction(str(unit.policy.params.get("customer_pull_share", DEFAULT_SHARE)))
    if total <= 0 or Fraction(bad) / Fraction(total) <= share:
        return
    percent = f"{float(Fraction(bad) / Fraction(total)) * 100:.1f}%"
    for other, _ in owed:
        if other.id == loan.id or floors.worse(other.classification or "normal", "special_mention") \
                or floors.under_review(unit, other):
            continue
        floors.open_review(unit, other, "substandard",
                           f"Customer-level classification: {percent} of {customer.name}'s claims are non-performing "
                           f"(loan {loan.reference} classified {after}): floor substandard", 0, floor="substandard")
