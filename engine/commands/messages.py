"""Business events from outside (e.g. loan_repaid): delivered to the loan's waiting instances, or kept on an
incident and delivered again when a step after them fails."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from engine.commands import failures
from engine.commands.failures import count_failure
from engine.commands.flow import deliver, keep_for_later
from engine.commands.unit import open_unit
from engine.store.lookups import loan_row
from engine.errors import ConcurrentChange, DatabaseUnavailable, InvalidInput, NotAllowed, NotFound, ScriptFailed
from engine.kernel import Kernel
from engine.runtime import execution
from engine.roles import REPAYMENT_ROLES
from engine.store.models import Incident, Loan, ProcessInstance, User


def send_message(kernel: Kernel, loan_ref: str, name: str, payload: dict | None, actor: str | None,
                 source: str) -> int:
    """Deliver a business event to the loan's waiting instances; returns how many took it. If a step after it
    fails, nothing changes, the message is kept on an incident and retried by the worker."""
    try:
        with open_unit(kernel, source, "send_message") as unit:
            loan = loan_row(unit.session, loan_ref)
            if name == "loan_repaid":
                _check_repayment_reporter(unit, loan, actor)
            unit.audit.record("message_received", actor=actor, loan_ref=loan.reference, step=name,
                              detail={"message": name, "payload": execution.plain_data(payload or {})})
            taken = deliver(unit, loan, name, payload or {})
            if not taken and not keep_for_later(unit, loan, name, payload or {}, actor):
                raise NotFound("Loan %(loan)s has no running process to receive '%(message)s'.",
                               loan=loan_ref, message=name)
            return taken
    except ScriptFailed as err:
        if err.instance_id is None:
            raise
        incident = count_failure(kernel, err.instance_id, "message", err,
                                 detail={"message": name, "payload": payload or {}})
        raise ScriptFailed("%(error)s The message was kept as incident %(incident)s and will be delivered again.",
                           error=str(err), incident=incident) from err


def _check_repayment_reporter(unit, loan: Loan, actor: str | None) -> None:
    """A repayment closes the post-loan file: only the core banking feed or an accounting operator, who books it,
    may report one. Anyone else is refused, and the refusal recorded."""
    user = unit.session.scalar(select(User).where(User.username == actor)) if actor else None
    if user is not None and {g.role for g in user.grants} & set(REPAYMENT_ROLES):
        return
    error = NotAllowed("Only the core banking feed or an accounting operator may report loan %(loan)s as repaid.",
                       loan=loan.reference)
    error.audit_fields = {"actor": actor, "loan_ref": loan.reference, "step": "loan_repaid", "rule": "REPAID-SOURCE",
                          "reason": str(error), "detail": {"attempted": "send_message", "message": "loan_repaid"}}
    raise error


def retry_message(kernel: Kernel, incident: Incident) -> bool:
    """Deliver a kept message again to the one instance it failed on."""
    name, payload = (incident.detail or {}).get("message"), (incident.detail or {}).get("payload") or {}
    try:
        with open_unit(kernel, "timer", "retry_message") as unit:
            instance = unit.session.get(ProcessInstance, incident.instance_id)
            loan = unit.session.get(Loan, instance.loan_id)
            unit.current = instance.id
            if not deliver(unit, loan, name, payload, only=instance.id):
                raise InvalidInput("The instance no longer waits for '%(message)s'.", message=name)
            failures.resolve(unit.session, unit.audit, instance, ("message",), kernel.clock.now(), None,
                             loan.reference)
            return True
    except ConcurrentChange:
        return False
    except (DatabaseUnavailable, OperationalError, InterfaceError):
        raise
    except Exception as err:  # noqa: BLE001 - one kept message failing again must not stop the others
        count_failure(kernel, incident.instance_id, "message", err, detail=incident.detail)
        return False


def retry_due_messages(kernel: Kernel) -> int:
    """Every kept message whose backoff has passed, delivered again; returns how many went through."""
    with kernel.db.reading() as session:
        due = session.scalars(select(Incident).where(
            Incident.status == "open", Incident.kind == "message",
            Incident.next_attempt_at <= kernel.clock.now())).all()
    return sum(1 for incident in due if retry_message(kernel, incident))
