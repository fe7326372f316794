"""Collateral after registration (押品管理): each item recorded when registered, revalued by the custodian on a
schedule that does not drift, a value below cover warned of by rule, and released (解押) only after closure by two
people."""
from __future__ import annotations

import logging
from calendar import monthrange
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.commands import warning_rules
from engine.commands.flow import newest_starting_on, start_by_message
from engine.commands.unit import Unit, open_unit
from engine.errors import ConcurrentChange, DatabaseUnavailable, InvalidInput, NotAllowed, NotFound
from engine.kernel import Kernel
from engine.store.lookups import loan_row
from engine.store.models import Collateral, DutyRecord, Loan, LoanAccount, ProcessInstance, ProcessVersion
from engine.store.people import get_user

log = logging.getLogger("creditflow.collateral")

TYPES = ("real_estate", "equipment", "receivables", "deposits", "other")
REVALUATION_DUE = "collateral_revaluation_due"  # the message that starts a revaluation
COVER_RULE = "WARN-COVER"
DEFAULT_MONTHS, DEFAULT_COVER = 12, Decimal("0.7")
PROCESS = "collateral"  # what duty records of release acts name as their process
POST_LOAN = "post_loan"


def months_between_revaluations(policy, collateral_type: str) -> int:
    params = policy.params
    return int(params.get(f"revaluation_months_{collateral_type}", params.get("revaluation_months_other",
                                                                             DEFAULT_MONTHS)))


def add_months(day: date, months: int) -> date:
    """Calendar months on, clamped to the month's end (as `date_after` in the BPMN)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def next_due(policy, item: Collateral) -> date:
    """Counted from the registration's appraisal: the n-th revaluation falls due n periods after it."""
    return add_months(item.registered_on, months_between_revaluations(policy, item.collateral_type)
                      * (item.revaluations + 1))


def on_task_event(unit: Unit, loan: Loan, event: str, data: dict, actor: str, instance) -> None:
    """What a collateral task establishes (its `loan_event`): an item registered, or revalued."""
    if event == "collateral_registered":
        record_registered(unit, loan, data, actor, instance)
    elif event == "collateral_revalued":
        record_revaluation(unit, loan, data, actor, instance)


def record_registered(unit: Unit, loan: Loan, data: dict, actor: str | None, instance=None) -> Collateral | None:
    """The registered item, from the registration form: type, appraised value and date (today when not given)."""
    number = str(data.get("registration_number") or "") or None
    if number and unit.session.scalar(select(Collateral.id).where(Collateral.loan_id == loan.id,
                                                                  Collateral.registration_number == number)):
        return None  # registered again under the same certificate: the item is already recorded
    kind = data.get("collateral_type") if data.get("collateral_type") in TYPES else "other"
    appraised_on = _day(data.get("appraised_on")) or unit.policy.local_date(unit.clock.now())
    item = Collateral(loan_id=loan.id, collateral_type=kind, description=str(data.get("collateral_description") or ""),
                      registration_number=number, appraised_value=Decimal(str(data.get("collateral_value") or 0)),
                      appraised_on=appraised_on, registered_on=appraised_on, revaluations=0, status="registered",
                      created_at=unit.clock.now(), next_revaluation_on=appraised_on)
    item.next_revaluation_on = next_due(unit.policy, item)
    unit.session.add(item)
    unit.session.flush()
    version = getattr(instance, "process_version", None)
    unit.audit.record("collateral_recorded", actor=actor, loan_ref=loan.reference, step="register_collateral",
                      instance_id=getattr(instance, "id", None), process_id=getattr(version, "process_id", None),
                      process_version=getattr(version, "version", None), detail={"after": described(item)})
    return item


def open_due_revaluations(kernel: Kernel) -> int:
    """Every tick: each registered item of a loan still being repaid whose revaluation is due and has none open gets
    one (a task for the collateral custodian), each in its own transaction; returns how many opened."""
    today = kernel.policy.local_date(kernel.clock.now())
    with kernel.db.reading() as session:
        due = session.scalars(select(Collateral.id).join(Loan, Loan.id == Collateral.loan_id).where(
            Loan.status == "disbursed", Collateral.status == "registered", Collateral.next_revaluation_on <= today,
            Collateral.revaluation_instance_id.is_(None)).order_by(Collateral.next_revaluation_on).limit(500)).all()
    opened = 0
    for collateral_id in due:
        try:
            with open_unit(kernel, "timer", "open_revaluation") as unit:
                opened += _open_revaluation(unit, collateral_id, today)
        except ConcurrentChange:
            continue  # another worker moved the loan; the next tick looks again
        except (DatabaseUnavailable, OperationalError, InterfaceError):
            raise  # the database is away: the worker waits and reconnects
        except Exception:  # noqa: BLE001 - one item failing must not stop the others (nor the timers)
            log.exception("revaluation of collateral item %s could not be opened", collateral_id)
    return opened


def _open_revaluation(unit: Unit, collateral_id: int, today: date) -> int:
    query = select(Collateral).where(Collateral.id == collateral_id)
    if unit.kernel.db.is_postgres:
        query = query.with_for_update(skip_locked=True)
    item = unit.session.scalar(query)
    if item is None or item.revaluation_instance_id is not None or item.status != "registered":
        return 0  # another worker opened it, or it was released
    version = newest_starting_on(unit, REVALUATION_DUE)
    if version is None:
        return 0
    loan = unit.session.get(Loan, item.loan_id)
    payload = {"collateral_id": item.id, "collateral_type": item.collateral_type, "description": item.description,
               "appraised_value": item.appraised_value, "appraised_on": item.appraised_on.isoformat(),
               "due_on": item.next_revaluation_on.isoformat()}
    instance = start_by_message(unit, loan, version, REVALUATION_DUE, payload, None, payload_in_data=False)
    item.revaluation_instance_id = instance.id
    return 1


def record_revaluation(unit: Unit, loan: Loan, data: dict, actor: str, instance) -> None:
    """The custodian's new value: recorded (audited), the next one scheduled from the registration, and a value whose
    cover falls short of the outstanding principal the feed reports raises a warning by rule."""
    revaluation = data.get("revaluation") or {}
    item = unit.session.get(Collateral, int(revaluation.get("collateral_id") or 0))
    if item is None or item.loan_id != loan.id:
        raise NotFound("No collateral item %(id)s on loan %(loan)s.", id=revaluation.get("collateral_id"),
                       loan=loan.reference)
    before = described(item)
    item.appraised_value = Decimal(str(data["revalued_value"]))
    item.appraised_on = _day(data.get("revalued_on")) or unit.policy.local_date(unit.clock.now())
    item.revaluations += 1
    item.next_revaluation_on = next_due(unit.policy, item)
    item.revaluation_instance_id = None
    unit.audit.record("collateral_revalued", actor=actor, loan_ref=loan.reference, instance_id=instance.id,
                      process_id=instance.process_version.process_id, step="revalue_collateral",
                      process_version=instance.process_version.version,
                      detail={"collateral_id": item.id, "before": before, "after": described(item)})
    _check_cover(unit, loan, item)


def _check_cover(unit: Unit, loan: Loan, item: Collateral) -> None:
    account = unit.session.scalar(select(LoanAccount).where(LoanAccount.loan_id == loan.id))
    if account is None or not account.outstanding_principal:
        return
    ratio = unit.policy.params.get("collateral_cover_ratio", DEFAULT_COVER)
    ratio = Decimal(ratio.numerator) / Decimal(ratio.denominator) if hasattr(ratio, "numerator") else Decimal(ratio)
    cover = (item.appraised_value * ratio).quantize(Decimal("0.01"))
    if cover >= account.outstanding_principal:
        return
    signal = (f"Collateral {item.registration_number or item.id} revalued at {item.appraised_value:.2f}: "
              f"cover {cover:.2f} ({ratio:.2f}) below outstanding principal {account.outstanding_principal:.2f}")
    warning_rules.raise_by_rule(unit, loan, COVER_RULE, signal, {
        "collateral_id": item.id, "appraised_value": f"{item.appraised_value:.2f}", "cover": f"{cover:.2f}",
        "outstanding_principal": f"{account.outstanding_principal:.2f}"})


def propose_release(unit: Unit, actor: str, loan_ref: str, collateral_id: int, reason: str) -> None:
    """The custodian proposes releasing an item (解押), once the loan is repaid and its closure reviewed."""
    loan, item, user = _release_subject(unit, actor, loan_ref, collateral_id, "propose_collateral_release")
    if item.status != "registered":
        raise InvalidInput("Collateral item %(id)s is %(status)s; only a registered item can be proposed for "
                           "release.", id=item.id, status=item.status)
    unit.gate.check_duty(unit, user, "propose_collateral_release", loan)
    before = described(item)
    item.status, item.release_proposed_by, item.release_reason = "release_proposed", actor, reason
    _record_act(unit, loan, item, actor, "propose_collateral_release")
    unit.audit.record("collateral_release_proposed", actor=actor, loan_ref=loan.reference, reason=reason,
                      detail={"collateral_id": item.id, "before": before, "after": described(item)})


def approve_release(unit: Unit, actor: str, loan_ref: str, collateral_id: int) -> None:
    """Someone other than the proposer (post-loan head or branch head) approves the release (SOD-17)."""
    loan, item, user = _release_subject(unit, actor, loan_ref, collateral_id, "approve_collateral_release")
    if item.status != "release_proposed":
        raise InvalidInput("Collateral item %(id)s is %(status)s; only a proposed release can be approved.",
                           id=item.id, status=item.status)
    unit.gate.check_duty(unit, user, "approve_collateral_release", loan)
    before = described(item)
    item.status, item.released_by, item.released_at = "released", actor, unit.clock.now()
    _record_act(unit, loan, item, actor, "approve_collateral_release")
    unit.audit.record("collateral_released", actor=actor, loan_ref=loan.reference,
                      detail={"collateral_id": item.id, "proposed_by": item.release_proposed_by,
                              "before": before, "after": described(item)})


def _release_subject(unit: Unit, actor: str, loan_ref: str, collateral_id: int, duty: str):
    loan = loan_row(unit.session, loan_ref)
    user = get_user(unit.session, actor)
    item = unit.session.get(Collateral, collateral_id)
    if item is None or item.loan_id != loan.id:
        raise NotFound("No collateral item %(id)s on loan %(loan)s.", id=collateral_id, loan=loan.reference)
    if loan.status != "closed" or not closure_done(unit, loan):
        error = NotAllowed("Collateral of loan %(loan)s can be released only after the loan is repaid and its "
                           "closure reviewed.", loan=loan.reference)
        error.audit_fields = {"actor": actor, "loan_ref": loan.reference, "rule": "RELEASE-CLOSURE",
                              "reason": str(error), "detail": {"attempted": duty, "collateral_id": item.id}}
        raise error
    return loan, item, user


def closure_done(unit: Unit, loan: Loan) -> bool:
    """The closure reviewed, or the post-loan file archived (a file closed before closure reviews existed)."""
    reviewed = unit.session.scalar(select(DutyRecord.id).where(DutyRecord.loan_id == loan.id,
                                                               DutyRecord.duty == "review_closure").limit(1))
    return reviewed is not None or unit.session.scalar(
        select(ProcessInstance.id).join(ProcessInstance.process_version).where(
            ProcessInstance.loan_id == loan.id, ProcessInstance.status == "completed",
            ProcessVersion.process_id == POST_LOAN).limit(1)) is not None


def _record_act(unit: Unit, loan: Loan, item: Collateral, actor: str, duty: str) -> None:
    unit.session.add(DutyRecord(loan_id=loan.id, username=actor, duty=duty, process_id=PROCESS,
                                subject=f"collateral:{item.id}", performed_at=unit.clock.now()))


def described(item: Collateral) -> dict:
    return {"collateral_type": item.collateral_type, "appraised_value": f"{item.appraised_value:.2f}",
            "appraised_on": item.appraised_on.isoformat(), "next_revaluation_on": item.next_revaluation_on.isoformat(),
            "status": item.status}


def _day(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
