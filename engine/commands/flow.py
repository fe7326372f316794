"""Moving processes on: starting instances, and routing the messages one instance throws to the others."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import func, select

from engine.commands import blocks, notifications
from engine.commands.steps import save_state, subject_of
from engine.commands.unit import Unit
from engine.runtime import execution
from engine.runtime.specs import LoadedProcess
from engine.store.models import DutyRecord, Loan, LoanAccount, PendingMessage, ProcessInstance, ProcessVersion
from engine.store.writes import insert_row

CLASSIFICATION_PROPOSED = "classification_proposed"
CLASSIFICATION_CHANGED = "classification_changed"  # a class worse than normal raises a warning by rule
# Messages the engine itself acts on, besides starting or waking processes.
BUSINESS_EVENTS = {"inspection_missed": blocks.inspection_missed}


def advance(unit: Unit, instance: ProcessInstance, workflow, loaded: LoadedProcess, loan: Loan,
            log: execution.StepLog, completed_task_id: str | None = None, items: dict | None = None) -> None:
    """Save what the workflow did, then route what it threw and hand it any message that arrived early (`items`:
    the instance's open work items, when the caller knows them all)."""
    save_state(unit, instance, workflow, loaded, loan, log, completed_task_id, items)
    for event in log.thrown:
        route_message(unit, loan, event, instance, workflow)
    if instance.status == "running" and instance.waiting_messages:
        _deliver_pending(unit, instance, workflow, loaded, loan)


def start_instance(unit: Unit, loan: Loan, version: ProcessVersion, data: dict, actor: str | None,
                   message=None, payload: dict | None = None, recorded: bool = False) -> ProcessInstance:
    """A new instance of a process version on a loan, with the policy's parameters in its data, run until it
    waits; `message` (with `payload`) is the one that started it. `recorded`: the payload goes into the audit
    event too (a message the engine made up from the feed, which no instance threw: a replay reads it there)."""
    workflow, loaded = unit.workflows.new(version)
    params = {k: unit.policy.params[k] for k in execution.PROCESS_PARAMETERS if k in unit.policy.params}
    workflow.task_tree.data.update({**params, **data})
    for task in workflow.get_tasks():
        task.data.update(workflow.task_tree.data)
    now = unit.clock.now()
    instance = ProcessInstance(loan_id=loan.id, process_version=version, process_version_id=version.id,
                               state="", created_at=now, updated_at=now)
    unit.session.add(instance)
    unit.session.flush()
    unit.audit.record("instance_started", actor=actor, loan_ref=loan.reference, process_id=version.process_id,
                      process_version=version.version, instance_id=instance.id,
                      detail=({"message": message, **({"payload": execution.plain_data(payload or {})}
                                                      if recorded else {})} if message else {}))
    log = execution.StepLog()
    execution.run_engine(workflow, log)
    if message == CLASSIFICATION_PROPOSED and payload is not None:
        payload = _with_feed_days(unit, loan, payload)
    if message is not None:
        execution.deliver_message(workflow, message, payload, log)
        if message == notifications.WARNING_MESSAGE:
            notifications.warning_raised(unit, loan, payload or {})
    if loaded.start_duty and loaded.start_initiator:
        _record_initiator(unit, loan, instance, workflow, loaded)
    advance(unit, instance, workflow, loaded, loan, log)
    return instance


def newest_starting_on(unit: Unit, message: str) -> ProcessVersion | None:
    """The newest deployed process version that begins with `message` (None when none does)."""
    return unit.session.scalars(select(ProcessVersion).where(ProcessVersion.start_message == message)
                                .order_by(ProcessVersion.version.desc()).limit(1)).first()


def start_by_message(unit: Unit, loan: Loan, version: ProcessVersion, message: str, payload: dict,
                     actor: str | None, payload_in_data: bool = True) -> ProcessInstance:
    """Start `version` on `loan` with `message`, sent by the engine itself (a rule, the feed, a person's button):
    the loan's application, reference and originator in its data (and the payload, unless `payload_in_data` is
    off), the payload recorded in the audit event, since no instance threw it (a replay reads it there)."""
    data = {**(loan.application or {}), "loan_id": loan.reference, "originator": loan.originator,
            **(payload if payload_in_data else {})}
    return start_instance(unit, loan, version, data, actor, message=message, payload=payload, recorded=True)


def _with_feed_days(unit: Unit, loan: Loan, payload: dict) -> dict:
    """A classification proposal carries the days past due the core banking feed reports, whatever the thrower
    knew: the floor decision reads the real figure."""
    days = unit.session.scalar(select(LoanAccount.days_past_due).where(LoanAccount.loan_id == loan.id))
    if days is None:
        return payload
    return {**payload, "days_overdue": max(int(payload.get("days_overdue") or 0), days)}


def _record_initiator(unit: Unit, loan: Loan, instance: ProcessInstance, workflow, loaded: LoadedProcess) -> None:
    """Whoever set this process off (e.g. raised the warning) did its start duty, on this subject."""
    start = next((t for t in workflow.get_tasks() if isinstance(t.task_spec, StartEvent) and t.workflow is workflow),
                 None)
    environment = unit.kernel.script_engine.environment
    username = environment.evaluate(loaded.start_initiator, dict(start.data)) if start else None
    if username:
        insert_row(unit.session, DutyRecord, loan_id=loan.id, instance_id=instance.id, username=str(username),
                   duty=loaded.start_duty, process_id=loaded.process_id, subject=subject_of(instance),
                   performed_at=unit.clock.now())


def route_message(unit: Unit, loan: Loan, event, source_instance: ProcessInstance, workflow) -> None:
    """A message thrown by one instance: the engine's own handlers, processes that begin with it, instances
    waiting for it; if nobody takes it yet, it is kept until a process on the loan waits for it."""
    name = event.event_definition.name
    payload = event.payload if isinstance(event.payload, dict) else {}
    unit.audit.record("message_thrown", loan_ref=loan.reference, instance_id=source_instance.id,
                      process_id=source_instance.process_version.process_id,
                      process_version=source_instance.process_version.version, step=name,
                      detail={"message": name, "payload": execution.plain_data(payload)})
    if name in BUSINESS_EVENTS:
        BUSINESS_EVENTS[name](unit, loan, source_instance, payload)
    if name == CLASSIFICATION_CHANGED:
        from engine.commands import warning_rules  # it starts instances itself: imported when first needed
        warning_rules.on_classification(unit, loan, source_instance, payload)
    starters: dict[str, ProcessVersion] = {}
    for version in unit.session.scalars(select(ProcessVersion).where(ProcessVersion.start_message == name)
                                        .order_by(ProcessVersion.version)):
        starters[version.process_id] = version
    if starters:
        data = {**workflow.last_task.data} if workflow.last_task is not None else {}
        data.update(payload)
        for version in starters.values():
            start_instance(unit, loan, version, data, None, message=name, payload=payload)
    taken = deliver(unit, loan, name, payload, exclude=source_instance.id)
    if not (starters or taken or name in BUSINESS_EVENTS):
        keep_for_later(unit, loan, name, payload, actor=None)


def deliver(unit: Unit, loan: Loan, name: str, payload: dict, exclude: int | None = None,
            only: int | None = None) -> int:
    """Hand a message to the loan's running instances that wait for it (locked first); returns how many took it."""
    query = select(ProcessInstance).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
        ProcessInstance.waiting_messages.is_not(None)).order_by(ProcessInstance.id)
    if unit.kernel.db.is_postgres:  # lock what this delivery will change, as every command does
        query = query.with_for_update(of=ProcessInstance)
    waiting = unit.session.scalars(query.execution_options(populate_existing=True)).all()
    taken = 0
    for instance in waiting:
        if instance.id == exclude or (only is not None and instance.id != only) \
                or name not in (instance.waiting_messages or "").split(","):
            continue
        workflow, loaded = unit.workflows.checkout(unit, instance)
        unit.current = unit.current or instance.id
        log = execution.StepLog()
        execution.deliver_message(workflow, name, payload, log)
        advance(unit, instance, workflow, loaded, loan, log)
        taken += 1
    return taken


def keep_for_later(unit: Unit, loan: Loan, name: str, payload: dict, actor: str | None) -> bool:
    """Keep a message no instance waits for yet, if any process is still running on the loan."""
    running = unit.session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running"))
    if not running:
        return False
    unit.session.add(PendingMessage(loan_id=loan.id, name=name, payload=execution.plain_data(payload),
                                    received_at=unit.clock.now()))
    unit.audit.record("message_queued", actor=actor, loan_ref=loan.reference, step=name, detail={"message": name})
    return True


def _deliver_pending(unit: Unit, instance: ProcessInstance, workflow, loaded: LoadedProcess, loan: Loan) -> None:
    """A message that arrived early is delivered as soon as the instance waits for it."""
    pending = unit.session.scalar(select(PendingMessage).where(
        PendingMessage.loan_id == loan.id, PendingMessage.name.in_(instance.waiting_messages.split(",")))
        .order_by(PendingMessage.id).limit(1))
    if pending is None:
        return
    unit.session.delete(pending)
    unit.audit.record("message_received", loan_ref=loan.reference, instance_id=instance.id, step=pending.name,
                      detail={"message": pending.name, "queued_at": pending.received_at})
    log = execution.StepLog()
    execution.deliver_message(workflow, pending.name, pending.payload, log)
    advance(unit, instance, workflow, loaded, loan, log)
