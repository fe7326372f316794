"""The engine's commands: each one loads, checks policy, acts, saves and audits in one transaction."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from . import runtime
from .application import validate_application
from .audit import AuditLog
from .authorization import Gate
from .clock import utc
from .errors import (ConcurrentChange, DatabaseUnavailable, EngineError, InvalidInput, NotAllowed, NotFound,
                     ScriptFailed, TooManyAttempts)
from . import incidents
from .forms import coerce_form, form_errors, user_fields
from .queries import QueryMixin
from .metrics import observe_command
from .models import ApiToken, DutyRecord, Incident, Loan, PendingMessage, ProcessInstance, ProcessVersion, User, WorkItem
from .scripting import RestrictedScriptEngine
from .serialization import StateSerializer
from .settings import Settings
from .specs import LoadedProcess, SpecCache, collect_files, prepare_deployment, sha256_of
from .timers import duration_from
from . import sign_in_throttle, users
from .users import get_user
from .validation import DeploymentRejected, validate_files
from .views import DeployResult

# End events whose id says what became of the loan (an end event may also declare `loan_status`).
END_STATUS = {"rejected": "rejected", "withdrawn": "withdrawn", "disbursed": "disbursed", "archived": "closed"}
# Loan fields a task may change (the task declares them in its `loan_updates` property).
LOAN_FIELDS_FROM_TASKS = ("classification",)
# The message that starts the risk-warning process when a person raises a warning.
WARNING_MESSAGE = "warning_raised"
# Restructured loans are at least special mention (五级分类, 2023).
RESTRUCTURED_FLOOR = "special_mention"
# Loan fields set by automatic steps (decision tables).
AUTOMATIC_LOAN_OUTPUTS = ("approval_tier",)


@dataclass
class Context:
    """One command's transaction: session, audit log, and the workflows it saved."""

    session: Session
    audit: AuditLog
    source: str
    saved: dict = field(default_factory=dict)  # instance id -> (row, workflow)
    current: int | None = None  # the instance a message was being delivered to (for the incident)


class LiveWorkflows:
    """Workflows this process saved last, by instance id and row version (a bounded, thread-safe LRU)."""

    def __init__(self, size: int = 512):
        self._items: OrderedDict[int, tuple[int, BpmnWorkflow]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, version: int) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
        return entry[1] if entry is not None and entry[0] == version else None

    def keep(self, instance_id: int, version: int, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def business_days(count) -> str:
    """For BPMN `due` expressions: a deadline counted in working days (Monday to Friday)."""
    return f"{int(count)}BD"


MAX_BUSINESS_DAYS = 2_500  # about ten years of working days


def add_business_days(now: datetime, count: int, local_date, params) -> datetime:
    """`count` working days later, same time of day; weekends (in the bank's time zone) do not count."""
    if not 0 <= count <= MAX_BUSINESS_DAYS:
        raise ValueError(f"{count} business days is more than {MAX_BUSINESS_DAYS}")
    moment, left = now, count
    while left > 0:
        moment += timedelta(days=1)
        if local_date(moment).weekday() < 5:
            left -= 1
    return moment


def subject_of(instance: ProcessInstance) -> str:
    """What subject-scoped pair rules compare: one warning, one classification proposal, one process instance."""
    return f"{instance.process_version.process_id}:{instance.id}"


class CreditEngine(QueryMixin):
    """The service API used by the CLI, the web inbox and the JSON API."""

    def __init__(self, db, clock, policy, spec_cache: SpecCache | None = None):
        self.db = db
        self.clock = clock
        self.policy = policy
        self.specs = spec_cache or SpecCache()
        self.settings = Settings()  # the composition root replaces it with the process's settings
        self.live = LiveWorkflows()
        self.serializer = StateSerializer()
        self.script_engine = RestrictedScriptEngine(clock, helpers={"tally_votes": self._tally_votes,
                                                                    "business_days": business_days})
        self.gate = Gate(policy, clock)
        # Messages the engine itself acts on, besides starting or waking processes.
        self.business_events = {"inspection_missed": self._inspection_missed}

    # -- plumbing ---------------------------------------------------------------------------
    def _ctx(self, session: Session, source: str) -> Context:
        return Context(session, AuditLog(session, source, self.policy.version, self.clock), source)

    @contextmanager
    def command(self, source: str, name: str = "command"):
        """One transaction with an audit log. A lost optimistic-lock race becomes ConcurrentChange;
        a refusal is recorded after the rollback. Every command is logged and measured."""
        started, outcome, ctx = time.perf_counter(), "done", None
        try:
            with self.db.transaction() as session:
                ctx = self._ctx(session, source)
                yield ctx
                ctx.audit.write()
            for instance, workflow in ctx.saved.values():
                self.live.keep(instance.id, instance.version, workflow)
        except StaleDataError as err:
            outcome = "conflict"
            raise ConcurrentChange("Someone else changed this loan at the same time; reload and try again.") from err
        except EngineError as err:
            outcome = "failed" if isinstance(err, ScriptFailed) else err.code
            if isinstance(err, ScriptFailed) and ctx is not None and getattr(err, "instance_id", None) is None:
                err.instance_id = ctx.current
            if getattr(err, "audit_fields", None):
                self._record_refusal(source, err.audit_fields)
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            observe_command(name, source, outcome, time.perf_counter() - started, ctx)

    def _record_refusal(self, source: str, fields: dict) -> None:
        """A refusal is an event too: written in its own transaction, after the refused one rolled back."""
        with self.db.transaction() as session:
            audit = self._ctx(session, source).audit
            audit.record("refused", outcome="denied", **fields)
            audit.write()

    def loaded(self, version: ProcessVersion) -> LoadedProcess:
        return self.specs.get(version.process_id, version.sha256, version.files)

    def _latest_version(self, session: Session, process_id: str) -> ProcessVersion:
        version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                                 .order_by(ProcessVersion.version.desc()).limit(1))
        if version is None:
            raise NotFound("The process '%(process)s' is not deployed; run `creditflow deploy` first.", process=process_id)
        return version

    def _restore(self, instance: ProcessInstance) -> tuple[BpmnWorkflow, LoadedProcess]:
        """A fresh workflow object from the saved state (readers and anyone who will not save it)."""
        loaded = self.loaded(instance.process_version)
        workflow = self.serializer.loads(instance.state, loaded.spec, loaded.subprocess_specs)
        workflow.script_engine = self.script_engine
        return workflow, loaded

    def _checkout(self, ctx: Context, instance: ProcessInstance) -> tuple[BpmnWorkflow, LoadedProcess]:
        """The workflow a command will change: the live object this process saved last, when the row still has
        that version (no one else wrote since), else restored from the row. It returns to the live set only when
        the command commits, so a failed command never leaves a half-changed object behind."""
        if instance.id in ctx.saved:  # changed earlier in this same command (messages between processes)
            return ctx.saved[instance.id][1], self.loaded(instance.process_version)
        live = self.live.take(instance.id, instance.version)
        if live is not None:
            return live, self.loaded(instance.process_version)
        return self._restore(instance)

    def _tally_votes(self, votes, members, chair=None, committee_size=None):
        members = list(members or [])
        outcome = self.policy.tally(list(votes or []), members, chair, int(committee_size or len(members)))
        return runtime.plain_data({k: v for k, v in vars(outcome).items()})

    # -- deployment -------------------------------------------------------------------------
    def validate(self, paths) -> list:
        _bundle, problems = validate_files(collect_files(paths), self.gate.lane_roles)
        return problems

    def deploy(self, paths, actor: str | None = None, source: str = "cli",
               approved_by: str | None = None) -> list[DeployResult]:
        """Deploy changed processes as new versions; unchanged ones are a no-op. All or nothing.

        `actor` designed the change and `approved_by` approves it: the policy's four-eyes rule applies."""
        files = collect_files(paths)
        bundles = prepare_deployment(files, self.gate.lane_roles)
        results = []
        with self.command(source, "deploy") as ctx:
            if approved_by:
                self.gate.check_deployment(ctx, actor, approved_by, sha256_of({k: v for b in bundles.values()
                                                                               for k, v in b.items()}))
            self.record_policy(ctx)
            for process_id, bundle in bundles.items():
                sha = sha256_of(bundle)
                latest = ctx.session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                                            .order_by(ProcessVersion.version.desc()).limit(1))
                if latest is not None and latest.sha256 == sha:
                    results.append(DeployResult(process_id, latest.version, False))
                    continue
                loaded = self.specs.get(process_id, sha, bundle)
                version = ProcessVersion(
                    process_id=process_id, version=(latest.version + 1) if latest else 1, name=loaded.name,
                    sha256=sha, files=bundle, start_message=loaded.start_message, designed_by=actor,
                    approved_by=approved_by or actor, deployed_at=self.clock.now())
                ctx.session.add(version)
                ctx.audit.record("process_deployed", actor=approved_by or actor, process_id=process_id,
                                 process_version=version.version,
                                 detail={"sha256": sha, "files": sorted(bundle), "designed_by": actor,
                                         "approved_by": approved_by})
                results.append(DeployResult(process_id, version.version, True))
        return results

    def record_policy(self, ctx: Context) -> None:
        """The first time a policy version is used, its deployment is an audit event."""
        from .models import AuditEvent
        seen = ctx.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "policy_deployed", AuditEvent.policy_version == self.policy.version).limit(1))
        if seen is None:
            ctx.audit.record("policy_deployed", detail={"version": self.policy.version, "sha256": self.policy.sha256})

    # -- loans --------------------------------------------------------------------------------
    def start_loan(self, actor: str, application: dict, source: str = "web") -> str:
        """Record an application and start origination on it; returns the loan reference."""
        with self.command(source, "start_loan") as ctx:
            user = get_user(ctx.session, actor)
            values = validate_application(application)
            branch = values.get("branch") or self.gate.home_branch(user, "customer_manager")
            values["branch"] = branch or ""
            now = self.clock.now()
            loan = Loan(reference="pending", borrower=values["borrower"], product=values["product"],
                        amount=values["amount"], branch=branch, originator=actor, loan_type=values["loan_type"],
                        stage="investigation", application=runtime.plain_data(values), created_at=now, updated_at=now,
                        classification=RESTRUCTURED_FLOOR if values["loan_type"] == "restructuring" else "normal")
            self.gate.check_origination(ctx, user, loan)
            ctx.session.add(loan)
            ctx.session.flush()
            loan.reference = f"L-{self.policy.local_date(now).year}-{loan.id:06d}"
            ctx.audit.record("loan_created", actor=actor, role="customer_manager", loan_ref=loan.reference,
                             detail={"after": runtime.plain_data(values)})
            ctx.session.add(DutyRecord(loan_id=loan.id, username=actor, duty="originate", process_id="origination",
                                       performed_at=now))
            data = {**values, "loan_id": loan.reference, "originator": actor}
            self._start_instance(ctx, loan, self._latest_version(ctx.session, "origination"), data, actor)
            return loan.reference

    def _start_instance(self, ctx: Context, loan: Loan, version: ProcessVersion, data: dict, actor: str | None,
                        message=None, payload: dict | None = None) -> ProcessInstance:
        loaded = self.loaded(version)
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        params = {k: self.policy.params[k] for k in runtime.PROCESS_PARAMETERS if k in self.policy.params}
        workflow.task_tree.data.update({**params, **data})
        for task in workflow.get_tasks():
            task.data.update(workflow.task_tree.data)
        now = self.clock.now()
        instance = ProcessInstance(loan_id=loan.id, process_version=version, process_version_id=version.id,
                                   state="", created_at=now, updated_at=now)
        ctx.session.add(instance)
        ctx.session.flush()
        ctx.audit.record("instance_started", actor=actor, loan_ref=loan.reference, process_id=version.process_id,
                         process_version=version.version, instance_id=instance.id,
                         detail={"message": message} if message else {})
        log = runtime.StepLog()
        runtime.run_engine(workflow, log)
        if message is not None:
            runtime.deliver_message(workflow, message, payload, log)
        if loaded.start_duty and loaded.start_initiator:
            self._record_initiator(ctx, loan, instance, workflow, loaded)
        self._save(ctx, instance, workflow, loaded, loan, log)
        return instance

    def _record_initiator(self, ctx: Context, loan: Loan, instance: ProcessInstance, workflow, loaded) -> None:
        """Whoever set this process off (e.g. raised the warning) did its start duty, on this subject."""
        start = next((t for t in workflow.get_tasks() if isinstance(t.task_spec, StartEvent) and t.workflow is workflow),
                     None)
        username = self.script_engine.environment.evaluate(loaded.start_initiator, dict(start.data)) if start else None
        if username:
            ctx.session.add(DutyRecord(loan_id=loan.id, instance_id=instance.id, username=str(username),
                                       duty=loaded.start_duty, process_id=loaded.process_id,
                                       subject=subject_of(instance), performed_at=self.clock.now()))

    # -- work items ---------------------------------------------------------------------------
    def _item(self, session: Session, item_id: int) -> WorkItem:
        item = session.get(WorkItem, item_id)
        if item is None:
            raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
        return item

    def _locked_item(self, ctx: Context, item_id: int) -> tuple[WorkItem, ProcessInstance]:
        """The work item and its instance, locked for this transaction and read again after the lock: whoever
        comes second sees the first one's commit (the task gone, the claim taken), never a stale copy.
        Every command that changes an instance locks its row first, so they queue instead of deadlocking."""
        item = self._item(ctx.session, item_id)
        query = select(ProcessInstance).where(ProcessInstance.id == item.instance_id)
        if self.db.is_postgres:
            query = query.with_for_update(of=ProcessInstance)
        instance = ctx.session.scalar(query.execution_options(populate_existing=True))
        item = ctx.session.scalar(select(WorkItem).where(WorkItem.id == item_id)
                                  .execution_options(populate_existing=True))
        if item is None or instance is None:
            raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
        return item, instance

    def claim(self, actor: str, item_id: int, source: str = "web") -> None:
        with self.command(source, "claim") as ctx:
            item, _instance = self._locked_item(ctx, item_id)
            loan = ctx.session.get(Loan, item.loan_id)
            user = get_user(ctx.session, actor)
            if item.claimed_by == actor:
                return
            if item.claimed_by:
                raise self._claimed_by_other(item, loan, actor, "claim")
            decision = self.gate.check_task(ctx, user, item, loan, action="claim")
            item.claimed_by = actor
            ctx.audit.record("task_claimed", actor=actor, role=item.role, on_behalf_of=decision.on_behalf_of,
                             loan_ref=loan.reference, process_id=item.process_id, instance_id=item.instance_id,
                             process_version=self._touch(ctx, item), step=item.bpmn_id, step_name=item.name,
                             detail={"task_id": item.task_id})

    def release(self, actor: str, item_id: int, source: str = "web") -> None:
        with self.command(source, "release") as ctx:
            item, _instance = self._locked_item(ctx, item_id)
            loan = ctx.session.get(Loan, item.loan_id)
            if item.claimed_by != actor:
                raise NotAllowed("You can only release a task you have claimed.")
            item.claimed_by = None
            ctx.audit.record("task_released", actor=actor, role=item.role, loan_ref=loan.reference,
                             process_id=item.process_id, instance_id=item.instance_id,
                             process_version=self._touch(ctx, item), step=item.bpmn_id, step_name=item.name,
                             detail={"task_id": item.task_id})

    def _touch(self, ctx: Context, item: WorkItem) -> int:
        """Bump the instance version so a concurrent command on it fails cleanly; returns its process version."""
        instance = ctx.session.get(ProcessInstance, item.instance_id)
        instance.updated_at = self.clock.now()
        return instance.process_version.version

    def complete(self, actor: str, item_id: int, data: dict, source: str = "web", reason: str | None = None) -> None:
        """Complete a task with form data; any refusal or failure changes nothing. A step that fails after it is
        also counted on an incident, so a broken redesign shows on the incident list, not only to this user."""
        try:
            self._complete(actor, item_id, data, source, reason)
        except ScriptFailed as err:
            if err.instance_id is not None:
                self._count_failure(err.instance_id, "task", err, detail={"task": getattr(err, "task", None)})
            raise

    def _complete(self, actor: str, item_id: int, data: dict, source: str, reason: str | None) -> None:
        with self.command(source, "complete") as ctx:
            item, instance = self._locked_item(ctx, item_id)
            loan = ctx.session.get(Loan, item.loan_id)
            user = get_user(ctx.session, actor)
            if item.claimed_by and item.claimed_by != actor:
                raise self._claimed_by_other(item, loan, actor, "complete")
            decision = self.gate.check_task(ctx, user, item, loan, action="complete")
            workflow, loaded = self._checkout(ctx, instance)
            try:
                task = workflow.get_task_from_id(UUID(item.task_id))
            except TaskNotFoundException:
                task = None
            if task is None or task.state != TaskState.READY:  # the row and the state disagree: never run it twice
                raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
            meta = loaded.user_tasks[task.task_spec.name]
            values = self._validated_form(ctx, actor, meta.form, data or {}, loan, item)
            if "committee_member" in user_fields(meta.form).values():
                values["committee_size"] = self.gate.committee_size(ctx.session, loan)
            before = {k: task.data.get(k) for k in values}
            now = self.clock.now()
            ctx.session.add(DutyRecord(loan_id=loan.id, instance_id=instance.id, username=actor, duty=item.duty,
                                       process_id=item.process_id, bpmn_id=item.bpmn_id, subject=subject_of(instance),
                                       on_behalf_of=decision.on_behalf_of, performed_at=now))
            self._record_assignments(ctx, meta.form, values, loan, instance, now)
            ctx.audit.record("task_completed", actor=actor, role=item.role, on_behalf_of=decision.on_behalf_of,
                             loan_ref=loan.reference, process_id=item.process_id,
                             process_version=instance.process_version.version, instance_id=instance.id,
                             step=item.bpmn_id, step_name=item.name, reason=reason, rule=None,
                             detail={"duty": item.duty, "task_id": item.task_id, "before": runtime.plain_data(before),
                                     "after": runtime.plain_data(values)})
            log = runtime.StepLog()
            ctx.current = instance.id
            try:
                runtime.complete_user_task(workflow, task, {**values, "completed_by": actor}, log)
            except ScriptFailed as err:
                err.task = item.bpmn_id
                raise
            incidents.resolve(ctx.session, ctx.audit, instance, ("task",), now, actor, loan.reference,
                              task=item.bpmn_id)
            for field_name in meta.loan_updates:
                if field_name not in LOAN_FIELDS_FROM_TASKS:
                    continue
                value = task.data.get(field_name)
                if value is not None and getattr(loan, field_name) != value:
                    ctx.audit.record("loan_updated", actor=actor, loan_ref=loan.reference, step=item.bpmn_id,
                                     process_id=item.process_id, instance_id=instance.id,
                                     process_version=instance.process_version.version,
                                     detail={"field": field_name, "before": getattr(loan, field_name), "after": value})
                    setattr(loan, field_name, value)
            self._save(ctx, instance, workflow, loaded, loan, log, completed_task_id=item.task_id)

    def _validated_form(self, ctx: Context, actor: str, schema: dict, data: dict, loan: Loan, item: WorkItem) -> dict:
        errors = form_errors(schema, data)
        refused = {}  # fields naming someone the policy keeps off this loan: a refusal, recorded as one
        for name, role in user_fields(schema).items():
            if name in errors or name not in data:
                continue
            names = data[name] if isinstance(data[name], list) else [data[name]]
            problem = self.gate.check_named_users(ctx, names, role, loan, item)
            if problem:
                template, params, rule = problem
                errors[name] = (template, params)
                if rule:
                    refused[name] = (rule, template % params if params else template)
        if errors:
            error = InvalidInput("The form has errors; nothing was saved.", field_templates=errors)
            if refused:
                rule, reason = next(iter(refused.values()))
                error.audit_fields = self._task_refusal_fields(item, loan, actor, "nominate", rule, reason,
                                                               {"fields": {k: v[1] for k, v in refused.items()}})
            raise error
        return coerce_form(schema, data)

    @staticmethod
    def _task_refusal_fields(item: WorkItem, loan: Loan, actor: str, action: str, rule: str, reason: str,
                             detail: dict | None = None) -> dict:
        """What a refusal on a task records (the policy's own refusals build theirs in the gate)."""
        return dict(actor=actor, role=item.role, loan_ref=loan.reference, process_id=item.process_id,
                    instance_id=item.instance_id, step=item.bpmn_id, step_name=item.name, rule=rule, reason=reason,
                    detail={"attempted": action, **(detail or {})})

    def _claimed_by_other(self, item: WorkItem, loan: Loan, actor: str, action: str) -> NotAllowed:
        error = NotAllowed("This task is already claimed by %(user)s." if action == "claim"
                           else "This task is claimed by %(user)s.", user=item.claimed_by)
        error.audit_fields = self._task_refusal_fields(item, loan, actor, action, "CLAIMED", str(error),
                                                       {"claimed_by": item.claimed_by})
        return error

    def _record_assignments(self, ctx, schema, values, loan, instance, now):
        """Being named to a role on a loan (e.g. post-loan manager) is a duty the pairs apply to."""
        for name, role in user_fields(schema).items():
            if role in self.gate.assignable_duties and isinstance(values.get(name), str):
                ctx.session.add(DutyRecord(loan_id=loan.id, instance_id=instance.id, username=values[name],
                                           duty=role, process_id=instance.process_version.process_id,
                                           subject=subject_of(instance), performed_at=now))

    # -- saving -------------------------------------------------------------------------------
    def _save(self, ctx: Context, instance: ProcessInstance, workflow: BpmnWorkflow, loaded: LoadedProcess,
              loan: Loan, log: runtime.StepLog, completed_task_id: str | None = None) -> None:
        now = self.clock.now()
        version = instance.process_version
        for step in log.steps:
            for field_name in AUTOMATIC_LOAN_OUTPUTS:
                if field_name in step.get("changed", {}):
                    setattr(loan, field_name, step["changed"][field_name])
            ctx.audit.record("step_completed", loan_ref=loan.reference, process_id=version.process_id,
                             process_version=version.version, instance_id=instance.id, step=step["step"],
                             step_name=step["name"], actor=None,
                             detail=runtime.plain_data({k: v for k, v in step.items() if k not in ("step", "name")}))
        instance.state = self.serializer.dumps(workflow)
        ctx.saved[instance.id] = (instance, workflow)
        instance.next_timer_due = runtime.next_timer_due(workflow)
        instance.waiting_messages = ",".join(runtime.waiting_messages(workflow)) or None
        instance.updated_at = now
        if workflow.completed:
            instance.status = "completed"
            end = runtime.end_event_reached(workflow)
            status = END_STATUS.get(end or "")
            if status:
                loan.status = status
            if loan.status in ("rejected", "withdrawn", "closed"):
                loan.stage = "closed"
            elif loan.status == "disbursed":
                loan.stage = "post_loan"  # a warning or classification ended; the loan is back in post-loan care
            ctx.audit.record("instance_completed", loan_ref=loan.reference, process_id=version.process_id,
                             process_version=version.version, instance_id=instance.id, step=end,
                             detail={"end": end, "loan_status": loan.status})
        self._refresh_work_items(ctx, instance, workflow, loaded, loan, completed_task_id)
        loan.updated_at = now
        ctx.session.flush()
        for event in log.thrown:
            self._route_message(ctx, loan, event, instance, workflow)
        if instance.status == "running" and instance.waiting_messages:
            self._deliver_pending(ctx, instance, workflow, loaded, loan)

    def _deliver_pending(self, ctx: Context, instance, workflow, loaded, loan: Loan) -> None:
        """A message that arrived early is delivered as soon as the instance waits for it."""
        pending = ctx.session.scalar(select(PendingMessage).where(
            PendingMessage.loan_id == loan.id, PendingMessage.name.in_(instance.waiting_messages.split(",")))
            .order_by(PendingMessage.id).limit(1))
        if pending is None:
            return
        ctx.session.delete(pending)
        ctx.audit.record("message_received", loan_ref=loan.reference, instance_id=instance.id, step=pending.name,
                         detail={"message": pending.name, "queued_at": pending.received_at})
        log = runtime.StepLog()
        runtime.deliver_message(workflow, pending.name, pending.payload, log)
        self._save(ctx, instance, workflow, loaded, loan, log)

    def _refresh_work_items(self, ctx: Context, instance, workflow, loaded: LoadedProcess, loan: Loan,
                            completed_task_id: str | None = None) -> None:
        existing = {w.task_id: w for w in ctx.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id))}
        ready = {str(t.id): t for t in runtime.ready_user_tasks(workflow)}
        for task_id, item in existing.items():
            if task_id not in ready:
                if task_id != completed_task_id:
                    ctx.audit.record("task_cancelled", loan_ref=loan.reference, process_id=loaded.process_id,
                                     process_version=instance.process_version.version, instance_id=instance.id,
                                     step=item.bpmn_id, step_name=item.name, role=item.role,
                                     detail={"task_id": task_id, "claimed_by": item.claimed_by,
                                             "assigned_to": item.candidate_user})
                ctx.session.delete(item)
        now = self.clock.now()
        for task_id, task in ready.items():
            if task_id in existing:
                continue
            meta = loaded.user_tasks[task.task_spec.name]
            candidate = None
            if meta.assignee:
                value = self.script_engine.evaluate(task, meta.assignee)
                candidate = str(value) if value else None
                if candidate and not self.gate.reachable(ctx.session, candidate):
                    ctx.audit.record("assignee_unavailable", loan_ref=loan.reference, step=meta.bpmn_id,
                                     step_name=meta.name, detail={"assignee": candidate, "offered_to": meta.role})
                    candidate = None  # away without a stand-in: the task goes to everyone in the lane
            ctx.session.add(WorkItem(
                instance_id=instance.id, loan_id=loan.id, task_id=task_id, bpmn_id=meta.bpmn_id, name=meta.name,
                process_id=loaded.process_id, role=meta.role, duty=meta.duty, stage=meta.stage or loan.stage,
                branch=loan.branch, candidate_user=candidate, created_at=now, due_at=self._due(meta, task, now)))
            ctx.audit.record("task_started", loan_ref=loan.reference, process_id=loaded.process_id,
                             process_version=instance.process_version.version, instance_id=instance.id,
                             step=meta.bpmn_id, step_name=meta.name, role=meta.role,
                             detail={"duty": meta.duty, "assigned_to": candidate, "task_id": task_id})
            if meta.stage:
                loan.stage = meta.stage

    def _due(self, meta, task, now: datetime) -> datetime:
        """When a task is due: the BPMN's `due` (an ISO duration, or an expression such as
        `business_days(warning_register_business_days)`), else the policy's default number of days."""
        if not meta.due:
            return now + timedelta(days=int(self.policy.params.get("task_due_days", 3)))
        try:
            value = meta.due if meta.due.upper().startswith("P") else str(self.script_engine.evaluate(task, meta.due))
            match = re.fullmatch(r"(\d+)BD", value)
            if match:
                return add_business_days(now, int(match.group(1)), self.policy.local_date, self.policy.params)
            return now + duration_from(value, now)
        except (OverflowError, ValueError, SpiffWorkflowException) as exc:
            raise ScriptFailed("Step '%(step)s' failed: %(error)s", step=meta.name, error=str(exc)) from exc

    # -- messages and timers ------------------------------------------------------------------
    def _route_message(self, ctx: Context, loan: Loan, event, source_instance: ProcessInstance, workflow) -> None:
        """A message thrown by one instance: the engine's own handlers, processes that begin with it, instances
        waiting for it; if nobody takes it yet, it is kept until a process on the loan waits for it."""
        name = event.event_definition.name
        payload = event.payload if isinstance(event.payload, dict) else {}
        ctx.audit.record("message_thrown", loan_ref=loan.reference, instance_id=source_instance.id,
                         process_id=source_instance.process_version.process_id,
                         process_version=source_instance.process_version.version, step=name,
                         detail={"message": name, "payload": runtime.plain_data(payload)})
        if name in self.business_events:
            self.business_events[name](ctx, loan, source_instance, payload)
        starters: dict[str, ProcessVersion] = {}
        for version in ctx.session.scalars(select(ProcessVersion).where(ProcessVersion.start_message == name)
                                           .order_by(ProcessVersion.version)):
            starters[version.process_id] = version
        if starters:
            data = {**workflow.last_task.data} if workflow.last_task is not None else {}
            data.update(payload)
            for version in starters.values():
                self._start_instance(ctx, loan, version, data, None, message=name, payload=payload)
        taken = self._deliver(ctx, loan, name, payload, exclude=source_instance.id)
        if not (starters or taken or name in self.business_events):
            self._keep_for_later(ctx, loan, name, payload, actor=None)

    def _keep_for_later(self, ctx: Context, loan: Loan, name: str, payload: dict, actor: str | None) -> bool:
        running = ctx.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running"))
        if not running:
            return False
        ctx.session.add(PendingMessage(loan_id=loan.id, name=name, payload=runtime.plain_data(payload),
                                       received_at=self.clock.now()))
        ctx.audit.record("message_queued", actor=actor, loan_ref=loan.reference, step=name, detail={"message": name})
        return True

    def raise_warning(self, actor: str, loan_ref: str, signal: str, source: str = "web") -> int:
        """Anyone whose role may raise a warning signals a risk on a disbursed loan; starts the warning process."""
        if not (signal or "").strip():
            raise InvalidInput("Describe the warning signal.", fields={"signal": "This field is required."})
        with self.command(source, "raise_warning") as ctx:
            loan = self.loan_row(ctx.session, loan_ref)
            user = get_user(ctx.session, actor)
            self.gate.check_duty(ctx, user, "raise_warning", loan)
            versions = ctx.session.scalars(select(ProcessVersion).where(ProcessVersion.start_message == WARNING_MESSAGE)
                                           .order_by(ProcessVersion.version)).all()
            if not versions:
                raise NotFound("No deployed process starts on '%(message)s'.", message=WARNING_MESSAGE)
            payload = {"signal": signal.strip(), "raised_by": actor, "loan_id": loan.reference,
                       "loan_type": loan.loan_type, "current_classification": loan.classification}
            data = {**(loan.application or {}), "loan_id": loan.reference, "originator": loan.originator, **payload}
            ctx.audit.record("warning_raised", actor=actor, loan_ref=loan.reference, detail={"signal": signal.strip()})
            instance = self._start_instance(ctx, loan, versions[-1], data, actor, message=WARNING_MESSAGE,
                                            payload=payload)
            return instance.id

    def _inspection_missed(self, ctx: Context, loan: Loan, instance: ProcessInstance, payload: dict) -> None:
        """A missed inspection counts against the responsible customer manager; enough of them block origination."""
        manager = ctx.session.scalar(select(User).where(User.username == loan.originator))
        manager.missed_inspections = (manager.missed_inspections or 0) + 1
        ctx.session.add(DutyRecord(loan_id=loan.id, instance_id=instance.id, username=manager.username,
                                   duty="missed_inspection", process_id=instance.process_version.process_id,
                                   performed_at=self.clock.now()))
        ctx.audit.record("inspection_missed", loan_ref=loan.reference, instance_id=instance.id,
                         process_id=instance.process_version.process_id, actor=None,
                         detail={"responsible": manager.username, "missed": manager.missed_inspections})
        if self.policy.blocks_origination(manager.missed_inspections) and not manager.origination_blocked:
            manager.origination_blocked = True
            ctx.audit.record("origination_blocked", loan_ref=loan.reference, rule="BLOCK-01",
                             detail={"username": manager.username, "missed": manager.missed_inspections})

    def lift_origination_block(self, username: str, actor: str, reason: str, source: str = "cli") -> None:
        """Only the post-loan head lifts a block; the missed-inspection count starts again."""
        with self.command(source, "lift_origination_block") as ctx:
            head = get_user(ctx.session, actor)
            if not any(g.role == "post_loan_head" for g in head.grants):
                raise NotAllowed("Only the post-loan head may lift an origination block.")
            manager = get_user(ctx.session, username)
            if not manager.origination_blocked:
                raise InvalidInput("%(username)s is not blocked.", username=username)
            manager.origination_blocked = False
            manager.missed_inspections = 0
            ctx.audit.record("origination_unblocked", actor=actor, role="post_loan_head", reason=reason,
                             detail={"username": username})

    def send_message(self, loan_ref: str, name: str, payload: dict | None = None, actor: str | None = None,
                     source: str = "cli") -> int:
        """Deliver a business event (e.g. loan_repaid) to the loan's waiting instances; returns how many took it.
        If a step after it fails, nothing changes, the message is kept on an incident and retried by the worker."""
        try:
            with self.command(source, "send_message") as ctx:
                loan = self.loan_row(ctx.session, loan_ref)
                ctx.audit.record("message_received", actor=actor, loan_ref=loan.reference, step=name,
                                 detail={"message": name, "payload": runtime.plain_data(payload or {})})
                taken = self._deliver(ctx, loan, name, payload or {})
                if not taken and not self._keep_for_later(ctx, loan, name, payload or {}, actor):
                    raise NotFound("Loan %(loan)s has no running process to receive '%(message)s'.",
                                   loan=loan_ref, message=name)
                return taken
        except ScriptFailed as err:
            if err.instance_id is None:
                raise
            incident = self._count_failure(err.instance_id, "message", err,
                                           detail={"message": name, "payload": payload or {}})
            raise ScriptFailed("%(error)s The message was kept as incident %(incident)s and will be delivered again.",
                               error=str(err), incident=incident) from err

    def _deliver(self, ctx: Context, loan: Loan, name: str, payload: dict, exclude: int | None = None,
                 only: int | None = None) -> int:
        query = select(ProcessInstance).where(
            ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
            ProcessInstance.waiting_messages.is_not(None)).order_by(ProcessInstance.id)
        if self.db.is_postgres:  # lock what this delivery will change, as every command does
            query = query.with_for_update(of=ProcessInstance)
        waiting = ctx.session.scalars(query.execution_options(populate_existing=True)).all()
        taken = 0
        for instance in waiting:
            if instance.id == exclude or (only is not None and instance.id != only) \
                    or name not in (instance.waiting_messages or "").split(","):
                continue
            workflow, loaded = self._checkout(ctx, instance)
            ctx.current = ctx.current or instance.id
            log = runtime.StepLog()
            runtime.deliver_message(workflow, name, payload, log)
            self._save(ctx, instance, workflow, loaded, loan, log)
            taken += 1
        return taken

    def due_instances(self, now: datetime, limit: int = 500) -> list[int]:
        """Running instances with a due timer, except those whose incident is waiting (backoff or a person)."""
        with self.db.reading() as session:
            return list(session.scalars(select(ProcessInstance.id).where(
                ProcessInstance.status == "running", ProcessInstance.next_timer_due <= now,
                ~incidents.blocked(now)).order_by(ProcessInstance.next_timer_due).limit(limit)))

    def fire_timers(self, instance_id: int) -> bool:
        """Fire what is due on one instance in its own transaction; False if another worker took it or it failed.
        A failure rolls back only this instance and becomes (or counts on) an incident."""
        try:
            with self.command("timer", "fire_timers") as ctx:
                now = self.clock.now()
                query = select(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                      ProcessInstance.next_timer_due <= now, ~incidents.blocked(now))
                if self.db.is_postgres:
                    query = query.with_for_update(skip_locked=True, of=ProcessInstance)
                instance = ctx.session.scalar(query)
                if instance is None:
                    return False
                ctx.current = instance.id
                loan = ctx.session.get(Loan, instance.loan_id)
                workflow, loaded = self._checkout(ctx, instance)
                log = runtime.StepLog()
                runtime.run_engine(workflow, log)
                self._save(ctx, instance, workflow, loaded, loan, log)
                incidents.resolve(ctx.session, ctx.audit, instance, ("timer",), now, None, loan.reference)
                return True
        except ConcurrentChange:
            return False  # someone else moved it; the next tick looks again
        except (DatabaseUnavailable, OperationalError, InterfaceError):
            raise  # the database is away: the worker waits and reconnects
        except Exception as err:  # noqa: BLE001 - any failure of one instance must not stop the others
            self._count_failure(instance_id, "timer", err)
            return False

    def tick(self, now: datetime | None = None) -> int:
        """Fire every due timer and retry due message incidents as of the engine clock; returns how many instances
        moved. One instance failing never stops the others."""
        if now is not None and hasattr(self.clock, "set"):
            self.clock.set(utc(now))
        fired = self._retry_due_messages()
        while True:
            due = self.due_instances(self.clock.now())
            moved = sum(1 for instance_id in due if self.fire_timers(instance_id))
            fired += moved
            if not moved:
                return fired

    # -- incidents ----------------------------------------------------------------------------
    def _count_failure(self, instance_id: int, kind: str, error: BaseException, detail: dict | None = None) -> int:
        """Record a failed step on an incident in its own transaction (the failed one was rolled back)."""
        with self.db.transaction() as session:
            audit = self._ctx(session, "timer" if kind != "task" else "web").audit
            instance = session.get(ProcessInstance, instance_id)
            incident = incidents.record_failure(session, audit, instance, kind, error, self.clock.now(),
                                                self.settings.incident_max_attempts,
                                                self.settings.incident_backoff_seconds, detail)
            audit.write()
            incident_id, attempts = incident.id, incident.attempts
        incidents.log.warning("incident %s: %s", incident_id, error, extra={
            "incident": incident_id, "instance": instance_id, "attempts": attempts, "outcome": "failed",
            "error": type(error).__name__})
        return incident_id

    def _retry_message(self, incident: Incident) -> bool:
        """Deliver a kept message again to the one instance it failed on."""
        name, payload = (incident.detail or {}).get("message"), (incident.detail or {}).get("payload") or {}
        try:
            with self.command("timer", "retry_message") as ctx:
                instance = ctx.session.get(ProcessInstance, incident.instance_id)
                loan = ctx.session.get(Loan, instance.loan_id)
                ctx.current = instance.id
                if not self._deliver(ctx, loan, name, payload, only=instance.id):
                    raise InvalidInput("The instance no longer waits for '%(message)s'.", message=name)
                incidents.resolve(ctx.session, ctx.audit, instance, ("message",), self.clock.now(), None,
                                  loan.reference)
                return True
        except ConcurrentChange:
            return False
        except (DatabaseUnavailable, OperationalError, InterfaceError):
            raise
        except Exception as err:  # noqa: BLE001
            self._count_failure(incident.instance_id, "message", err, detail=incident.detail)
            return False

    def _retry_due_messages(self) -> int:
        with self.db.reading() as session:
            due = session.scalars(select(Incident).where(
                Incident.status == "open", Incident.kind == "message",
                Incident.next_attempt_at <= self.clock.now())).all()
        return sum(1 for incident in due if self._retry_message(incident))

    def incidents(self, status: str | None = "open", loan_ref: str | None = None, limit: int = 200) -> list:
        with self.db.reading() as session:
            return incidents.listing(session, status, loan_ref, limit)

    def incident(self, incident_id: int):
        with self.db.reading() as session:
            row = session.get(Incident, incident_id)
            if row is None:
                raise NotFound("No incident %(id)s.", id=incident_id)
            return incidents.view(row, session.get(Loan, row.loan_id).reference)

    def retry_incident(self, incident_id: int, actor: str, to_latest: bool = False, source: str = "cli"):
        """A person retries now (optionally on the newest deployed version of the process); returns the incident."""
        with self.command(source, "retry_incident") as ctx:
            user = get_user(ctx.session, actor)
            if not any(g.role in incidents.INCIDENT_ROLES for g in user.grants):
                raise NotAllowed("Only an administrator or a process designer may retry an incident.")
            incident = ctx.session.get(Incident, incident_id)
            if incident is None:
                raise NotFound("No incident %(id)s.", id=incident_id)
            if incident.status != "open":
                raise InvalidInput("Incident %(id)s is already resolved.", id=incident_id)
            if incident.kind == "task":
                raise InvalidInput("A failed task completion is retried by completing the task again; "
                                   "it closes by itself when the step goes through.")
            instance = ctx.session.get(ProcessInstance, incident.instance_id)
            loan = ctx.session.get(Loan, instance.loan_id)
            if to_latest:
                self._move_to_latest(ctx, instance, loan, actor)
            incident.next_attempt_at = self.clock.now()
            ctx.audit.record("incident_retried", actor=actor, loan_ref=loan.reference, instance_id=instance.id,
                             process_id=instance.process_version.process_id,
                             process_version=instance.process_version.version, step=incident.step,
                             detail={"incident": incident.id, "to_latest": to_latest})
            kind = incident.kind
        if kind == "timer":
            self.fire_timers(incident.instance_id)
        else:
            self._retry_message(incident)
        return self.incident(incident_id)

    def _move_to_latest(self, ctx: Context, instance: ProcessInstance, loan: Loan, actor: str) -> None:
        """Carry a running instance over to the newest version of its process (a fixed redesign)."""
        latest = self._latest_version(ctx.session, instance.process_version.process_id)
        if latest.id == instance.process_version_id:
            raise InvalidInput("%(process)s has no version newer than %(version)s; deploy the fixed design first.",
                               process=latest.process_id, version=latest.version)
        workflow, _old = self._restore(instance)
        new = self.loaded(latest)
        removed = runtime.migrate(workflow, new, self.serializer.registry)
        before = instance.process_version.version
        instance.process_version, instance.process_version_id = latest, latest.id
        ctx.audit.record("instance_migrated", actor=actor, loan_ref=loan.reference, instance_id=instance.id,
                         process_id=latest.process_id, process_version=latest.version,
                         detail={"from_version": before, "to_version": latest.version, "reset_steps": removed})
        self._save(ctx, instance, workflow, new, loan, runtime.StepLog())

    def doctor(self):
        """Running instances that wait for nothing, and open tasks that nobody may perform."""
        from .doctor import DoctorReport, stuck_instances, unserved_tasks
        with self.db.reading() as session:
            return DoctorReport(stuck_instances(session), unserved_tasks(session, self.gate))

    # -- people -------------------------------------------------------------------------------
    def add_user(self, username: str, password: str | None, display_name: str = "", actor: str | None = None,
                 source: str = "cli") -> None:
        with self.command(source, "add_user") as ctx:
            users.add_user(ctx.session, username, password, display_name, self.clock.now())
            ctx.audit.record("user_added", actor=actor, detail={"username": username, "display_name": display_name})

    def add_people(self, people, password: str | None, actor: str | None = None, source: str = "cli") -> list[str]:
        """Add several users with their grants in one transaction (skips existing names); returns who was added."""
        added = []
        with self.command(source, "add_people") as ctx:
            existing = set(ctx.session.scalars(select(User.username)))
            for person in people:
                if person.username in existing:
                    continue
                users.add_user(ctx.session, person.username, password, person.display_name, self.clock.now())
                ctx.audit.record("user_added", actor=actor, detail={"username": person.username,
                                                                    "display_name": person.display_name})
                for role, branch, limit in person.grants:
                    users.grant_role(ctx.session, person.username, role, branch, limit)
                    ctx.audit.record("role_granted", actor=actor, detail={
                        "username": person.username, "role": role, "branch": branch, "limit": limit})
                added.append(person.username)
        return added

    def grant_role(self, username: str, role: str, branch: str | None = None, limit: Decimal | None = None,
                   valid_from=None, valid_to=None, actor: str | None = None, source: str = "cli") -> list:
        """Grant a role; returns the pair rules the combination of roles now puts at risk (to warn about)."""
        with self.command(source, "grant_role") as ctx:
            held = {g.role for g in get_user(ctx.session, username).grants}
            users.grant_role(ctx.session, username, role, branch, limit, valid_from, valid_to)
            at_risk = self.policy.pairs_at_risk(held, role)
            ctx.audit.record("role_granted", actor=actor, detail={
                "username": username, "role": role, "branch": branch, "limit": limit,
                "valid_from": valid_from, "valid_to": valid_to, "pairs_at_risk": [p.id for p in at_risk]})
            return at_risk

    def record_leave(self, username: str, starts_on, ends_on, actor: str | None = None, source: str = "cli") -> None:
        with self.command(source, "record_leave") as ctx:
            users.add_leave(ctx.session, username, starts_on, ends_on)
            ctx.audit.record("leave_recorded", actor=actor, detail={"username": username, "from": starts_on,
                                                                     "to": ends_on})

    def delegate(self, principal: str, stand_in: str, starts_on, ends_on, actor: str | None = None,
                 source: str = "cli") -> None:
        with self.command(source, "delegate") as ctx:
            users.add_delegation(ctx.session, principal, stand_in, starts_on, ends_on)
            ctx.audit.record("delegation_recorded", actor=actor, detail={
                "principal": principal, "stand_in": stand_in, "from": starts_on, "to": ends_on})

    def sign_in(self, username: str, password: str, source: str = "web", free_attempts: int = 3,
                max_lock_seconds: int = 900):
        """Check a password; every attempt, good, bad or refused, is an audit event. Returns a UserView or None.

        After `free_attempts` consecutive failures the user name must wait (doubling per further failure, at most
        `max_lock_seconds`); an attempt in that time raises TooManyAttempts without looking at the password."""
        with self.command(source, "sign_in") as ctx:
            sign_in_throttle.take_turn(ctx.session, username)
            wait = sign_in_throttle.wait_seconds(ctx.session, username, self.clock.now(), free_attempts,
                                                 max_lock_seconds)
            if not wait:
                user = users.authenticate(ctx.session, username, password)
                ctx.audit.record("signed_in" if user else "sign_in_failed", actor=username,
                                 outcome="done" if user else "denied")
                return users.user_view(user, self.policy.local_date(self.clock.now())) if user else None
            ctx.audit.record("sign_in_failed", actor=username, outcome="denied", rule=TooManyAttempts.code,
                             detail={"wait_seconds": wait})
        raise TooManyAttempts("Too many failed sign-ins for %(username)s; try again in %(seconds)s seconds.",
                              username=username, seconds=wait)

    def sign_out(self, username: str, source: str = "web") -> None:
        """End every session of this user: a cookie copied before sign-out opens nothing afterwards."""
        with self.command(source, "sign_out") as ctx:
            user = get_user(ctx.session, username)
            user.session_version = (user.session_version or 0) + 1
            ctx.audit.record("signed_out", actor=username)

    def user_for_token(self, token: str):
        with self.db.reading() as session:
            user = users.user_for_token(session, token, self.clock.now())
            return users.user_view(user, self.policy.local_date(self.clock.now())) if user else None

    @staticmethod
    def application_schema() -> dict:
        from .application import APPLICATION_SCHEMA
        return APPLICATION_SCHEMA

    def issue_token(self, username: str, actor: str | None = None, source: str = "cli") -> str:
        with self.command(source, "issue_token") as ctx:
            token, row = users.issue_token(ctx.session, username, self.clock.now(), self.settings.token_valid_days)
            ctx.audit.record("token_issued", actor=actor, detail={"username": username, "token_id": row.id,
                                                                  "expires_at": row.expires_at})
            return token

    def tokens(self, username: str) -> list[tuple[int, datetime, datetime | None, bool]]:
        """A user's API tokens: (id, issued, expires, revoked); the tokens themselves are never stored."""
        with self.db.reading() as session:
            user = get_user(session, username)
            return [(t.id, t.created_at, t.expires_at, t.revoked) for t in session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))]

    def revoke_token(self, token_id: int, actor: str | None = None, source: str = "cli") -> None:
        with self.command(source, "revoke_token") as ctx:
            row = ctx.session.get(ApiToken, token_id)
            if row is None:
                raise NotFound("No API token %(id)s.", id=token_id)
            row.revoked = True
            ctx.audit.record("token_revoked", actor=actor, detail={"token_id": token_id,
                                                                   "username": ctx.session.get(User, row.user_id).username})

    # -- small reads used by commands -----------------------------------------------------------
    def loan_row(self, session: Session, ref: str) -> Loan:
        loan = session.scalar(select(Loan).where(Loan.reference == ref))
        if loan is None:
            raise NotFound("No loan %(loan)s.", loan=ref)
        return loan

    def count(self, model) -> int:
        with self.db.reading() as session:
            return session.scalar(select(func.count()).select_from(model))

    def deployed(self) -> list[tuple[str, int, datetime]]:
        with self.db.reading() as session:
            rows = session.execute(select(ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.deployed_at)
                                   .order_by(ProcessVersion.process_id, ProcessVersion.version)).all()
            return [tuple(r) for r in rows]


__all__ = ["CreditEngine", "DeploymentRejected"]
