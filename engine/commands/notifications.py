"""Telling people what concerns them, in the transaction of the change: a change that rolls back tells nobody."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import or_, select, update

from engine.commands.unit import Unit
from engine.errors import NotFound
from engine.notices import KINDS, locale_of
from engine.roles import SUPERVISOR_ROLES
from engine.runtime import execution
from engine.store.lookups import post_loan_manager_of
from engine.store.models import Loan, Notification, Outbox, RoleGrant, User, WorkItem
from engine.store.writes import insert_row

# The end a loan's origination reached -> what the originator is told.
LOAN_OUTCOMES = {"rejected": "loan_rejected", "withdrawn": "loan_withdrawn"}
# The message that starts a risk warning (as engine/commands/loans.py throws it), and the duty that decides it.
WARNING_MESSAGE = "warning_raised"
DECIDE_WARNING = "decide_warning"
# The duties that carry out a confirmed warning's measures -> (the measure as decide_warning's form names it, the
# form field that says how it went).
MEASURE_DUTIES = {"ad_hoc_inspection": ("ad_hoc_inspection", "inspection_findings"),
                  "request_collateral_topup": ("extra_collateral", "topup_outcome"),
                  "freeze_line": ("freeze_undrawn_line", "freeze_outcome"),
                  "notify_accelerated_repayment": ("accelerate_repayment", "notice_outcome")}
RULE_PREFIX = "system:"  # a warning raised by a rule (system:servicing) has no one to tell but the loan's people


def notify(unit: Unit, username: str | None, kind: str, loan_ref: str | None = None, item_id: int | None = None,
           **params) -> int | None:
    """One notification to `username` (and its e-mail in the outbox when e-mail is on and they have an address),
    written in the unit's transaction: committed with the change or not at all. Returns its id."""
    if not username or kind not in KINDS:
        return None
    now = unit.clock.now()
    note_id = insert_row(unit.session, Notification, username=username, kind=kind, loan_ref=loan_ref, item_id=item_id,
                         params=execution.plain_data(params), created_at=now, read_at=None)
    if unit.kernel.settings.smtp_host:
        person = unit.session.execute(select(User.email, User.locale, User.active)
                                      .where(User.username == username)).first()
        if person is not None and person.email and person.active:
            unit.session.add(Outbox(notification_id=note_id, recipient=person.email, locale=locale_of(person.locale),
                                    status="pending", attempts=0, next_attempt_at=now))
    return note_id


def task_opened(unit: Unit, item: WorkItem, loan: Loan) -> None:
    """A new task (flushed: its id is the link) named for one person, or sent up the authority chain to those
    whose limit covers it."""
    if item.candidate_user:
        notify(unit, item.candidate_user, "task_assigned", loan.reference, item.id, task=item.name, process_id=item.process_id, step=item.bpmn_id)
    elif item.escalation == "authority":
        amount = Decimal(str(loan.amount))
        for username in holders(unit, item.role, item.branch, amount, limited=True):
            notify(unit, username, "task_routed_up", loan.reference, item.id, task=item.name, process_id=item.process_id, step=item.bpmn_id,
                   amount=f"{amount:,.2f}", branch=loan.branch)


def task_escalated(unit: Unit, item: WorkItem, loan: Loan, supervisor_roles: list[str], chair: str | None) -> None:
    """An overdue task: its holder is reminded, the supervisors see it on their list."""
    holder = item.claimed_by or item.candidate_user
    notify(unit, holder, "task_overdue", loan.reference, item.id, task=item.name, process_id=item.process_id, step=item.bpmn_id)
    told = {holder}
    recipients = [u for role in supervisor_roles if role in SUPERVISOR_ROLES
                  for u in holders(unit, role, item.branch)] + ([chair] if chair else [])
    for username in recipients:
        if username not in told:
            told.add(username)
            notify(unit, username, "task_escalated", loan.reference, item.id, task=item.name, process_id=item.process_id, step=item.bpmn_id)


def holders(unit: Unit, role: str, branch: str | None, amount: Decimal | None = None,
            limited: bool = False) -> list[str]:
    """Active users with a valid grant of `role` at `branch` (or bank-wide); with a limit covering `amount`."""
    today = unit.policy.local_date(unit.clock.now())
    query = select(User.username).join(RoleGrant).where(
        User.active.is_(True), RoleGrant.role == role, or_(RoleGrant.branch.is_(None), RoleGrant.branch == branch),
        or_(RoleGrant.valid_from.is_(None), RoleGrant.valid_from <= today),
        or_(RoleGrant.valid_to.is_(None), RoleGrant.valid_to >= today))
    if limited and amount is not None:
        query = query.where(RoleGrant.limit.is_not(None), RoleGrant.limit >= amount)
    return sorted(set(unit.session.scalars(query)))


def loan_decided(unit: Unit, loan: Loan, kind: str) -> None:
    """The originator hears the outcome of the application they started."""
    notify(unit, loan.originator, kind, loan.reference, borrower=loan.borrower)


def warning_raised(unit: Unit, loan: Loan, payload: dict) -> None:
    """The loan's customer manager hears of a risk warning on it (unless they raised it themselves)."""
    raised_by = payload.get("raised_by") or ""
    if raised_by != loan.originator:
        notify(unit, loan.originator, "warning_raised", loan.reference, raised_by=raised_by or "—",
               **signal_of(payload))


def warning_decided(unit: Unit, loan: Loan, data: dict, decided_by: str) -> None:
    """The decision on a warning goes back to whoever raised it and to the loan's customer manager."""
    warning = data.get("warning") or {}
    params = dict(decision=data.get("warning_decision"), decided_by=decided_by, **signal_of(warning))
    for username in warning_audience(unit, warning, loan):
        if username != decided_by:
            notify(unit, username, "warning_decided", loan.reference, **params)


def warning_measure_done(unit: Unit, loan: Loan, data: dict, duty: str, done_by: str) -> None:
    """Each measure's outcome goes back to the warning's raiser and the loan's customer manager."""
    warning = data.get("warning") or {}
    measure, outcome = MEASURE_DUTIES[duty]
    params = dict(measure=measure, done_by=done_by, outcome=data.get(outcome) or "", **signal_of(warning))
    for username in warning_audience(unit, warning, loan):
        if username != done_by:
            notify(unit, username, "warning_measure_done", loan.reference, **params)


def signal_of(warning: dict) -> dict:
    """The signal's text, and for a rule's warning its wording (the reader's language puts it in words)."""
    wording = warning.get("signal_wording")
    return {"signal": warning.get("signal") or "", **({"signal_wording": wording} if wording else {})}


def warning_audience(unit: Unit, warning: dict, loan: Loan) -> list[str]:
    """The raiser and the customer manager; for a warning a rule raised, the loan's post-loan manager (today's)
    in the raiser's place (a rule reads no inbox)."""
    raiser = warning.get("raised_by") or ""
    if raiser.startswith(RULE_PREFIX):
        raiser = post_loan_manager_of(unit.session, loan) or ""
    return [u for u in dict.fromkeys([raiser, loan.originator]) if u]


def mark_read(unit: Unit, username: str, notification_id: int | None = None) -> int:
    """Mark one notification (or all of them) read for its owner; returns how many changed."""
    query = update(Notification).where(Notification.username == username, Notification.read_at.is_(None))
    if notification_id is not None:
        owned = unit.session.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                                   Notification.username == username))
        if owned is None:
            raise NotFound("Notification %(id)s does not exist.", id=notification_id)
        query = query.where(Notification.id == notification_id)
    count = unit.session.execute(query.values(read_at=unit.clock.now())).rowcount
    if count:
        unit.audit.record("notifications_read", actor=username,
                          detail={"notification": notification_id or "all", "count": count})
    return count
