"""Changes to a disbursed loan: an extension (展期) runs its own process on the same loan; a refinancing (借新还旧) or
restructuring (重组) is a new loan linked to the one it replaces, which it settles once paid out."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from engine.application import APPLICATION_SCHEMA
from engine.commands import floors, loans
from engine.commands.flow import newest_starting_on, start_by_message, start_instance
from engine.commands.maturity import longest_extension
from engine.commands.unit import Unit
from engine.errors import InvalidInput, NotAllowed
from engine.runtime import execution
from engine.runtime.calendar import add_months
from engine.store.lookups import latest_version, loan_row, maturity_of
from engine.store.models import Loan, LoanAccount, ProcessInstance, ProcessVersion, WorkItem
from engine.store.people import get_user

EXTENSION = "extension"
REPLACEMENTS = ("refinancing", "restructuring")
SETTLED = "settled"
MONEY = ("amount", "group_exposure", "declared_group_exposure", "project_investment")
# Who opens the classification review of a refinanced or restructured loan when it is paid out.
RESTRUCTURING_ACTOR = "system:restructuring"


def request_extension(unit: Unit, actor: str, loan_ref: str, months, reason: str) -> int:
    """The customer manager asks, before maturity, to extend a disbursed loan; returns the extension's instance."""
    loan = loan_row(unit.session, loan_ref)
    user = get_user(unit.session, actor)
    unit.gate.check_duty(unit, user, "request_extension", loan)
    try:
        due = _extensible(unit, loan)
    except NotAllowed as refusal:  # a refusal is an event too, recorded after the rollback
        refusal.audit_fields = dict(actor=actor, role="customer_manager", loan_ref=loan.reference,
                                    rule=refusal.rule, reason=str(refusal),
                                    detail={"attempted": "request_extension", "template": refusal.template,
                                            "params": {k: str(v) for k, v in refusal.params.items()}})
        raise
    term = int(loan.approved_term_months or (loan.application or {}).get("term_months") or 12)
    months = _months(months, longest_extension(term))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for the extension.", fields={"reason": "This field is required."})
    new = add_months(due, months)
    request = {"requested_by": actor, "extension_months": months, "extension_reason": reason[:2000],
               "current_maturity_date": due.isoformat(), "new_maturity_date": new.isoformat()}
    application = {k: Decimal(str(v)) if k in MONEY and v is not None else v
                   for k, v in (loan.application or {}).items()}  # stored as text, decided on as numbers
    data = {**application, "amount": loan.approved_amount or loan.amount, "loan_id": loan.reference,
            "originator": loan.originator, "loan_type": EXTENSION, **request}
    unit.audit.record("extension_requested", actor=actor, role="customer_manager", loan_ref=loan.reference,
                      detail=execution.plain_data(request))
    instance = start_instance(unit, loan, latest_version(unit.session, EXTENSION), data, actor)
    return instance.id


def _extensible(unit: Unit, loan: Loan):
    """The loan's maturity, when it may be extended today; else a refusal saying why, with its rule id."""
    ref = loan.reference
    if loan.status != "disbursed":
        raise _rule("EXT-STATUS", NotAllowed("Loan %(loan)s is %(status)s; only a disbursed loan can be extended.",
                                             loan=ref, status=loan.status))
    due = maturity_of(unit.session, unit.policy, loan)
    if due is None:
        raise _rule("EXT-MATURITY", NotAllowed("Loan %(loan)s has no maturity date yet; it cannot be extended.",
                                               loan=ref))
    if unit.policy.local_date(unit.clock.now()) >= due:
        raise _rule("EXT-MATURITY", NotAllowed("Loan %(loan)s matured on %(maturity)s; an extension must be "
                                               "requested before maturity.", loan=ref, maturity=due.isoformat()))
    allowed = int(unit.policy.params.get("extensions_allowed", 1))
    if (loan.extensions or 0) >= allowed:
        raise _rule("EXT-LIMIT", NotAllowed("Loan %(loan)s was already extended %(count)s time(s); the policy "
                                            "allows %(allowed)s.", loan=ref, count=loan.extensions or 0,
                                            allowed=allowed))
    if _running(unit, loan, EXTENSION):
        raise _rule("EXT-OPEN", NotAllowed("An extension of loan %(loan)s is already under way.", loan=ref))
    pending = _replacing(unit, loan)
    if pending:
        raise _rule("EXT-OPEN", NotAllowed("Loan %(loan)s is already being replaced by %(new)s.", loan=ref,
                                           new=pending))
    return due


def _rule(rule: str, error: NotAllowed) -> NotAllowed:
    error.rule = rule
    return error


def _months(value, longest: int) -> int:
    try:
        months = int(value)
    except (TypeError, ValueError):
        months = 0
    if not 1 <= months <= longest:
        problem = ("From 1 to %(longest)s months for this loan's term.", {"longest": longest})
        raise InvalidInput("An extension is from 1 to %(longest)s months for this loan's term.", longest=longest,
                           field_templates={"months": problem})
    return months


def _running(unit: Unit, loan: Loan, process_id: str) -> bool:
    return unit.session.scalar(select(ProcessInstance.id).join(ProcessVersion).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
        ProcessVersion.process_id == process_id).limit(1)) is not None


def replace_loan(unit: Unit, actor: str, loan_ref: str, kind: str, changes: dict | None = None) -> str:
    """A new loan of type refinancing or restructuring that replaces a disbursed one, through origination one tier
    up; by default it carries the old loan's application for its outstanding principal. Returns its reference."""
    old = loan_row(unit.session, loan_ref)
    unit.gate.check_origination(unit, get_user(unit.session, actor), old)  # who may start a loan at all
    if kind not in REPLACEMENTS:
        raise InvalidInput("A loan is replaced by refinancing or restructuring, not '%(kind)s'.", kind=str(kind)[:40],
                           field_templates={"kind": ("refinancing or restructuring.", {})})
    if old.status != "disbursed":
        raise NotAllowed("Loan %(loan)s is %(status)s; only a disbursed loan can be refinanced or restructured.",
                         loan=old.reference, status=old.status)
    pending = _replacing(unit, old)
    if pending:
        raise NotAllowed("Loan %(loan)s is already being replaced by %(new)s.", loan=old.reference, new=pending)
    if _running(unit, old, EXTENSION):
        raise NotAllowed("An extension of loan %(loan)s is under way; it cannot be replaced meanwhile.",
                         loan=old.reference)
    outstanding = unit.session.scalar(select(LoanAccount.outstanding_principal).where(LoanAccount.loan_id == old.id))
    carried = {k: v for k, v in (old.application or {}).items() if k in APPLICATION_SCHEMA["properties"]}
    carried.pop("group_exposure", None)
    application = {**carried, "amount": float(outstanding or old.approved_amount or old.amount),
                   "term_months": int(old.approved_term_months or carried.get("term_months") or 12),
                   **(changes or {}), "loan_type": kind}
    reference = loans.start_loan(unit, actor, application, replaces=old)
    unit.audit.record("loan_replacement_started", actor=actor, role="customer_manager", loan_ref=old.reference,
                      detail={"kind": kind, "new_loan": reference})
    return reference


def _replacing(unit: Unit, loan: Loan) -> str | None:
    """The loan on its way to replace this one, if any."""
    return unit.session.scalar(select(Loan.reference).where(Loan.replaces_loan_id == loan.id,
                                                            Loan.status.in_(("active", "disbursed"))))


def on_disbursed(unit: Unit, loan: Loan, actor: str) -> None:
    """The first payment of a refinancing or restructuring settles the loan it replaces (no repayment is booked)
    and opens the new loan's classification review at its floor."""
    old = unit.session.get(Loan, loan.replaces_loan_id)
    if old is None or old.status == SETTLED:
        return
    before = {"status": old.status, "stage": old.stage}
    old.status, old.stage, old.updated_at = SETTLED, "closed", unit.clock.now()
    for instance in unit.session.scalars(select(ProcessInstance).where(ProcessInstance.loan_id == old.id,
                                                                       ProcessInstance.status == "running")):
        _end(unit, old, instance)
    unit.audit.record("loan_settled", actor=actor, loan_ref=old.reference, detail={
        "before": before, "after": {"status": old.status, "stage": old.stage}, "settled_by": loan.loan_type,
        "new_loan": loan.reference})
    _open_review(unit, loan)


def _end(unit: Unit, loan: Loan, instance: ProcessInstance) -> None:
    """A process of the settled loan stops: its open tasks are withdrawn, its timers never fire."""
    version = instance.process_version
    for item in unit.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id)):
        unit.audit.record("task_cancelled", loan_ref=loan.reference, process_id=version.process_id,
                          process_version=version.version, instance_id=instance.id, step=item.bpmn_id,
                          step_name=item.name, role=item.role, detail={"task_id": item.task_id, "reason": SETTLED})
        unit.session.delete(item)
    instance.status, instance.next_timer_due, instance.waiting_messages = "completed", None, None
    instance.updated_at = unit.clock.now()
    unit.saved.pop(instance.id, None)
    unit.audit.record("instance_completed", loan_ref=loan.reference, process_id=version.process_id,
                      process_version=version.version, instance_id=instance.id, step=None,
                      detail={"end": SETTLED, "loan_status": loan.status})


def _open_review(unit: Unit, loan: Loan) -> None:
    floor, until = floors.replacement_floor(unit, loan)
    version = newest_starting_on(unit, floors.PROPOSED)
    if version is None or until is None:
        return
    payload = {"proposed_by": RESTRUCTURING_ACTOR, "proposed_classification": floor, "loan_id": loan.reference,
               "reason": f"{loan.loan_type} of {(loan.application or {}).get('replaces_loan')} "
                         f"(was {(loan.application or {}).get('replaced_classification')}): at least {floor} "
                         f"until {until.isoformat()}",
               "days_overdue": 0, "loan_type": loan.loan_type, "current_classification": loan.classification,
               "restructuring_floor": floor, "observation_until": until.isoformat()}
    start_by_message(unit, loan, version, floors.PROPOSED, payload, RESTRUCTURING_ACTOR)
