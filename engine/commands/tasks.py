"""A person's work on a task: claim, release, complete. The policy decides each; any refusal changes nothing."""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, select

from policies.committee import RECUSE, convening_problem

from engine.commands import collateral, documents, failures, floors, loan_changes, notifications, payments, reviews
from engine.commands.flow import advance
from engine.commands.steps import subject_of
from engine.commands.unit import Unit, locked_for_completion, locked_item
from engine.errors import InvalidInput, NotAllowed, NotFound, ScriptFailed
from engine.forms import coerce_form, form_errors, user_fields
from engine.runtime import execution
from engine.store.models import DutyRecord, Loan, LoanAccount, ProcessInstance, TaskDraft, WorkItem
from engine.store.people import get_user
from engine.store.writes import insert_row

# The duty a committee member's declared conflict of interest (回避) is recorded as.
RECUSAL = "recuse"
# Loan fields a task may change (the task declares them in its `loan_updates` property).
LOAN_FIELDS_FROM_TASKS = ("classification",)


_DROP_DRAFTS = delete(TaskDraft).where(TaskDraft.work_item_id == bindparam("item_id")).execution_options(
    synchronize_session=False)  # a completion never has the task's drafts loaded
_FEED_DAYS = select(LoanAccount.days_past_due).where(LoanAccount.loan_id == bindparam("loan_id"))


def claim(unit: Unit, actor: str, item_id: int) -> None:
    item, _instance = locked_item(unit, item_id)
    loan = unit.session.get(Loan, item.loan_id)
    user = get_user(unit.session, actor)
    if item.claimed_by == actor:
        return
    if item.claimed_by:
        raise _claimed_by_other(item, loan, actor, "claim")
    decision = unit.gate.check_task(unit, user, item, loan, action="claim")
    item.claimed_by = actor
    unit.audit.record("task_claimed", actor=actor, role=item.role, on_behalf_of=decision.on_behalf_of,
                      loan_ref=loan.reference, process_id=item.process_id, instance_id=item.instance_id,
                      process_version=_touch(unit, item), step=item.bpmn_id, step_name=item.name,
                      detail={"task_id": item.task_id})


def release(unit: Unit, actor: str, item_id: int) -> None:
    item, _instance = locked_item(unit, item_id)
    loan = unit.session.get(Loan, item.loan_id)
    if item.claimed_by != actor:
        raise NotAllowed("You can only release a task you have claimed.")
    item.claimed_by = None
    unit.audit.record("task_released", actor=actor, role=item.role, loan_ref=loan.reference,
                      process_id=item.process_id, instance_id=item.instance_id,
                      process_version=_touch(unit, item), step=item.bpmn_id, step_name=item.name,
                      detail={"task_id": item.task_id})


def _touch(unit: Unit, item: WorkItem) -> int:
    """Bump the instance version so a concurrent command on it fails cleanly; returns its process version."""
    instance = unit.session.get(ProcessInstance, item.instance_id)
    instance.updated_at = unit.clock.now()
    return instance.process_version.version


def complete(unit: Unit, actor: str, item_id: int, data: dict, reason: str | None) -> None:
    """Complete a task with form data and run every automatic step after it."""
    found = locked_for_completion(unit, item_id, actor)
    item, instance, loan, user = found.item, found.instance, found.loan, found.user
    if item.claimed_by and item.claimed_by != actor:
        raise _claimed_by_other(item, loan, actor, "complete")
    decision = unit.gate.check_task(unit, user, item, loan, action="complete", known={
        "on_leave": found.actor_away, "other_tasks": None if found.actor_has_others else []})
    workflow, loaded = unit.workflows.checkout(unit, instance)
    try:
        task = workflow.get_task_from_id(UUID(item.task_id))
    except TaskNotFoundException:
        task = None
    if task is None or task.state != TaskState.READY:  # the row and the state disagree: never run it twice
        raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
    meta = loaded.user_tasks[task.task_spec.name]
    values = _validated_form(unit, actor, meta.form, data or {}, loan, item, fen=not meta.payment)
    documents.check_checklist(unit, loan, item, meta.form)  # a required document missing: nothing changes
    payments.fixed_terms(loan, values, payment_task=bool(meta.payment))
    floors.check_approval(unit, loan, item.duty, task.data, values)  # never better than the floor (五级分类下限)
    derived = payments.take_payment(unit, loan, instance, item, meta.payment, values, actor) \
        if meta.payment else {}  # what the engine computed; the audit's before/after stays what the person typed
    if "committee_member" in user_fields(meta.form).values():
        values["committee_size"] = unit.gate.committee_size(unit.session, loan)
    before = {k: task.data.get(k) for k in values}
    # the feed's days past due; a loan not yet disbursed has no account, so no query on the origination path
    feed_days = None if loan.disbursed_at is None else \
        unit.session.connection().scalar(_FEED_DAYS, {"loan_id": loan.id})
    now = unit.clock.now()
    duty = RECUSAL if item.duty in unit.policy.committee.vote_duties and values.get("decision") == RECUSE \
        else item.duty  # a declared conflict of interest is remembered on the loan, and is not a vote
    insert_row(unit.session, DutyRecord, loan_id=loan.id, instance_id=instance.id, username=actor, duty=duty,
               process_id=item.process_id, bpmn_id=item.bpmn_id, subject=subject_of(instance),
               on_behalf_of=decision.on_behalf_of, performed_at=now)
    _record_assignments(unit, meta.form, values, loan, instance, now)
    unit.audit.record("task_completed", actor=actor, role=item.role, on_behalf_of=decision.on_behalf_of,
                      loan_ref=loan.reference, process_id=item.process_id,
                      process_version=instance.process_version.version, instance_id=instance.id,
                      step=item.bpmn_id, step_name=item.name, reason=reason, rule=None,
                      detail={"duty": item.duty, "task_id": item.task_id, "before": execution.plain_data(before),
                              "after": execution.plain_data(values),
                              **({"days_past_due": feed_days} if feed_days is not None else {})})
    log = execution.StepLog()
    unit.current = instance.id
    try:  # with the days past due the core banking feed reports today (0 without a position), for what follows
        execution.complete_user_task(workflow, task, {**values, **derived, "completed_by": actor,
                                                      "days_past_due": feed_days or 0}, log)
    except ScriptFailed as err:
        err.task = item.bpmn_id
        raise
    if found.incident_open:  # this step's failed attempts, or nobody able to do it, are over
        failures.resolve(unit.session, unit.audit, instance, ("task", "unserved"), now, actor, loan.reference,
                         task=item.bpmn_id)
    if item.duty == notifications.DECIDE_WARNING:
        notifications.warning_decided(unit, loan, dict(task.data), actor)
    if item.duty in notifications.MEASURE_DUTIES:
        notifications.warning_measure_done(unit, loan, dict(task.data), item.duty, actor)
    if meta.loan_event:
        payments.apply_loan_event(unit, loan, meta.loan_event, dict(task.data), actor, instance)
        collateral.on_task_event(unit, loan, meta.loan_event, dict(task.data), actor, instance)
    for field_name in meta.loan_updates:
        if field_name not in LOAN_FIELDS_FROM_TASKS:
            continue
        value = task.data.get(field_name)
        if value is not None and getattr(loan, field_name) != value:
            unit.audit.record("loan_updated", actor=actor, loan_ref=loan.reference, step=item.bpmn_id,
                              process_id=item.process_id, instance_id=instance.id,
                              process_version=instance.process_version.version,
                              detail={"field": field_name, "before": getattr(loan, field_name), "after": value})
            before_value = getattr(loan, field_name)
            setattr(loan, field_name, value)
            if field_name == "classification":
                reviews.on_classified(unit, loan, before_value, value)  # a company's other loans may follow
    if found.has_drafts:  # drafts end with the task
        unit.session.execute(_DROP_DRAFTS, {"item_id": item.id})
    advance(unit, instance, workflow, loaded, loan, log, completed_task_id=item.task_id, items=found.instance_items)
    if derived.get("drawdowns_paid") == 1 and loan.replaces_loan_id is not None:
        loan_changes.on_disbursed(unit, loan, actor)  # the loan it refinances or restructures is settled


def _validated_form(unit: Unit, actor: str, schema: dict, data: dict, loan: Loan, item: WorkItem,
                    fen: bool = True) -> dict:
    errors = form_errors(schema, data, fen=fen)
    refused = {}  # fields naming someone the policy keeps off this loan: a refusal, recorded as one
    for name, role in user_fields(schema).items():
        if name in errors or name not in data:
            continue
        names = data[name] if isinstance(data[name], list) else [data[name]]
        problem = unit.gate.check_named_users(unit, names, role, loan, item)
        if problem:
            template, params, rule = problem
            errors[name] = (template, params)
            if rule:
                refused[name] = (rule, template % params if params else template)
    for name, role in user_fields(schema).items():
        if role == "committee_member" and name not in errors and isinstance(data.get(name), list):
            problem = convening_problem(unit.policy, data[name], actor, unit.gate.committee_size(unit.session, loan))
            if problem:
                errors[name] = problem
    if errors:
        error = InvalidInput("The form has errors; nothing was saved.", field_templates=errors)
        if refused:
            rule, reason = next(iter(refused.values()))
            error.audit_fields = _task_refusal_fields(item, loan, actor, "nominate", rule, reason,
                                                      {"fields": {k: v[1] for k, v in refused.items()}})
        raise error
    return coerce_form(schema, data)


def _task_refusal_fields(item: WorkItem, loan: Loan, actor: str, action: str, rule: str, reason: str,
                         detail: dict | None = None) -> dict:
    """What a refusal on a task records (the policy's own refusals build theirs in the gate)."""
    return dict(actor=actor, role=item.role, loan_ref=loan.reference, process_id=item.process_id,
                instance_id=item.instance_id, step=item.bpmn_id, step_name=item.name, rule=rule, reason=reason,
                detail={"attempted": action, **(detail or {})})


def _claimed_by_other(item: WorkItem, loan: Loan, actor: str, action: str) -> NotAllowed:
    error = NotAllowed("This task is already claimed by %(user)s." if action == "claim"
                       else "This task is claimed by %(user)s.", user=item.claimed_by)
    error.audit_fields = _task_refusal_fields(item, loan, actor, action, "CLAIMED", str(error),
                                              {"claimed_by": item.claimed_by, "template": error.template,
                                               "params": {k: str(v) for k, v in error.params.items()}})
    return error


def _record_assignments(unit: Unit, schema: dict, values: dict, loan: Loan, instance: ProcessInstance, now) -> None:
    """Being named to a role on a loan (e.g. post-loan manager) is a duty the pairs apply to."""
    for name, role in user_fields(schema).items():
        if role in unit.gate.assignable_duties and isinstance(values.get(name), str):
            insert_row(unit.session, DutyRecord, loan_id=loan.id, instance_id=instance.id, username=values[name],
                       duty=role, process_id=instance.process_version.process_id, subject=subject_of(instance),
                       performed_at=now)
