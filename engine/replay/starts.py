"""How a replayed instance starts: the data it was started with, the message that started it, its initiator."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from policies.model import DutyAct

from engine.application import APPLICATION_SCHEMA
from engine.runtime.specs import LoadedProcess

WARNING_MESSAGE = "warning_raised"  # raised by a person on a loan (commands/loans.raise_warning)
EXTENSION = "extension"  # started by a customer manager's request (commands/loan_changes.request_extension)


def typed(schema: dict, values: dict) -> dict:
    """Recorded values back in the types the engine handed the workflow (numbers as Decimal)."""
    out = dict(values or {})
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("type") == "number" and isinstance(out.get(name), (str, int, float)) \
                and not isinstance(out[name], bool):
            try:
                out[name] = Decimal(str(out[name]))
            except InvalidOperation:
                pass
    return out


def start_data(state, message: str | None, loaded: LoadedProcess, recorded: dict | None = None):
    """(data, payload) an instance started with, or None when the candidate would never have started it;
    `recorded` is the payload the audit event kept (a message the engine made up from the feed)."""
    loan = state.history.loan
    if message is None:
        values = typed(APPLICATION_SCHEMA, loan.application or {})
        for name in ("group_exposure", "declared_group_exposure"):
            if values.get(name) is not None:
                values[name] = Decimal(str(values[name]))
        data = {**values, "loan_id": loan.reference, "originator": loan.originator}
        if loaded.process_id == EXTENSION and state.extensions:  # as commands/loan_changes.request_extension
            data.update(amount=loan.approved_amount or loan.amount, loan_type=EXTENSION, **state.extensions.pop(0))
        return data, None
    if loaded.start_message != message:
        return None
    if recorded is not None:
        return {**(loan.application or {}), "loan_id": loan.reference, "originator": loan.originator,
                **recorded}, recorded
    if message == WARNING_MESSAGE and state.warnings:
        raised_by, signal = state.warnings.pop(0)
        payload = {"signal": signal, "raised_by": raised_by, "loan_id": loan.reference,
                   "loan_type": loan.loan_type, "current_classification": state.classification}
        return {**(loan.application or {}), "loan_id": loan.reference, "originator": loan.originator,
                **payload}, payload
    for index, (name, payload, data) in enumerate(state.thrown):
        if name == message:
            del state.thrown[index]
            return {**data, **payload}, payload
    return None


def record_initiator(player, state, run, loaded: LoadedProcess) -> None:
    """Whoever set the process off did its start duty (as `commands/flow._record_initiator`)."""
    start = next((t for t in run.workflow.get_tasks() if isinstance(t.task_spec, StartEvent)
                  and t.workflow is run.workflow), None)
    try:
        username = player.kernel.script_engine.environment.evaluate(loaded.start_initiator, dict(start.data)) \
            if start else None
    except Exception:  # noqa: BLE001 - a broken expression shows as a failing start elsewhere
        username = None
    if username:
        state.acts.append(DutyAct(str(username), loaded.start_duty, state.ref, player.clock.now(),
                                  loaded.process_id, None, f"{loaded.process_id}:{run.instance_id}"))
