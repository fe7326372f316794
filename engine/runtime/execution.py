"""What the engine asks of a live SpiffWorkflow workflow: run it, read its ready work, timers and messages."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
import decimal
from decimal import Decimal

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessage
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from engine.clock import utc
from engine.errors import InvalidInput, ScriptFailed
from engine.runtime.timers import TimerEventDefinition


# Policy parameters the processes read as task data (injected into every new instance).
PROCESS_PARAMETERS = ("dual_investigation_threshold", "first_inspection_days_small",
                      "first_inspection_days_other", "chair_veto_hours", "inspection_grace_days",
                      "warning_register_business_days", "warning_decide_business_days", "inspection_lead_days",
                      "business_signature_by", "committee_vote_business_days",
                      "warning_inspection_business_days", "warning_measure_business_days",
                      "collection_reminder_business_days", "collection_escalation_days",
                      "collection_demand_business_days")


@dataclass
class StepLog:
    """Automatic steps completed during one engine run, for the audit trail."""

    steps: list[dict] = field(default_factory=list)
    thrown: list[BpmnEvent] = field(default_factory=list)
    loan_events: list[tuple[str, dict]] = field(default_factory=list)  # (event, the data when it happened)

    def did_complete(self, task):
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id is None or task.task_spec.manual:
            return
        entry = {"step": bpmn_id, "name": spec.bpmn_name or bpmn_id, "kind": type(spec).__name__}
        loan_event = ((getattr(spec, "extensions", None) or {}).get("properties") or {}).get("loan_event")
        if loan_event:
            entry["loan_event"] = loan_event
            self.loan_events.append((loan_event, dict(task.data)))
        if isinstance(spec, (BusinessRuleTaskMixin, ScriptTask)) and task.parent is not None:
            entry["changed"] = {k: v for k, v in task.data.items()
                                if k not in task.parent.data or task.parent.data[k] != v}
            if isinstance(spec, BusinessRuleTaskMixin):
                entry["kind"] = "decision"
                entry["inputs"] = _decision_inputs(spec, task.data)
        event = getattr(spec, "event_definition", None)
        if isinstance(event, TimerEventDefinition):
            entry["kind"] = "timer"
        elif isinstance(event, MessageEventDefinition):
            entry["kind"] = "message"
        if isinstance(spec, EndEvent):
            entry["kind"] = "end"
        self.steps.append(entry)


def _decision_inputs(spec, data) -> dict:
    table = getattr(getattr(spec, "dmnEngine", None), "decision_table", None)
    if table is None:
        return {}
    return {i.expression: data.get(i.expression) for i in table.inputs if i.expression in data}


def run_engine(workflow: BpmnWorkflow, log: StepLog) -> None:
    """Advance every automatic step; a raising script becomes ScriptFailed (the caller rolls back)."""
    try:
        workflow.refresh_timers()
        workflow.do_engine_steps(did_complete_task=log.did_complete)
    except SpiffWorkflowException as exc:
        raise _script_failed(exc) from exc
    except OverflowError as exc:  # a timer so far away that no date can hold it
        raise ScriptFailed("Step '%(step)s' failed: %(error)s", step="?",
                           error=f"a date or duration is out of range ({exc})") from exc
    log.thrown.extend(workflow.get_events())


def complete_user_task(workflow: BpmnWorkflow, task, data: dict, log: StepLog) -> None:
    task.data.update(data)
    try:
        task.run()
    except SpiffWorkflowException as exc:
        raise _script_failed(exc) from exc
    run_engine(workflow, log)


def _reason(exc) -> str:
    """Spiff's message plus the underlying Python error, which is what the process designer needs."""
    text = str(exc).split("\n")[0].strip()
    cause, seen = exc, set()
    while isinstance(cause, SpiffWorkflowException) and id(cause) not in seen:
        seen.add(id(cause))
        cause = getattr(cause, "exception", None) or cause.__cause__ or cause.__context__
    if cause is None or type(cause).__name__ in text:
        return text
    detail = "division by zero" if isinstance(cause, decimal.DivisionByZero | decimal.DivisionUndefined) else cause
    return f"{text} ({type(cause).__name__}: {detail})"


def _script_failed(exc) -> ScriptFailed:
    """The refusal a person sees, carrying the failing element (process, BPMN id, name) for the incident list."""
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or "?"
    error = ScriptFailed("Step '%(step)s' failed: %(error)s", step=name, error=_reason(exc))
    error.step_id = getattr(spec, "bpmn_id", None)
    error.step_name = getattr(spec, "bpmn_name", None)
    error.process_id = getattr(getattr(task, "workflow", None), "spec", None) and task.workflow.spec.name
    return error


def migrate(workflow: BpmnWorkflow, new, registry) -> list[str]:
    """Move a workflow onto a new version of its process (Spiff's diff and migrate); returns the steps re-planned.
    Waiting timers keep their due time. Refused when a step the workflow has passed no longer exists."""
    top, subs = diff_workflow(registry, workflow, new.spec, new.subprocess_specs)
    if any(diff is None for diff in subs.values()):
        raise InvalidInput("The new version lacks a subprocess this instance is running.")
    waiting = {t.id: dict(t.internal_data) for t in workflow.get_tasks(state=TaskState.WAITING)}
    reset = migrate_workflow(top, workflow, new.spec)
    for sp_id, diff in subs.items():
        sub = workflow.subprocesses[sp_id]
        reset += migrate_workflow(diff, sub, new.subprocess_specs[sub.spec.name])
    for task in workflow.get_tasks(state=TaskState.WAITING):
        task.internal_data.update(waiting.get(task.id, {}))
    stale = sorted({t.task_spec.bpmn_id or t.task_spec.name for t in workflow.get_tasks()
                    if t.workflow.spec.task_specs.get(t.task_spec.name) is not t.task_spec})
    if stale:
        raise InvalidInput("The new version lacks steps this instance has passed: %(steps)s.", steps=", ".join(stale))
    workflow.subprocess_specs = new.subprocess_specs
    return sorted({t.task_spec.bpmn_id or t.task_spec.name for t in reset})


# What a running or finished step may change and still count as the same step: only its place among the others.
LAYOUT_ONLY = {"inputs", "outputs"}


def _steps_by_id(spec, subprocess_specs) -> dict:
    steps = {}
    for each in [spec, *(subprocess_specs or {}).values()]:
        for ts in each.task_specs.values():
            if getattr(ts, "bpmn_id", None):
                steps.setdefault(ts.bpmn_id, ts)
    return steps


def migration_blockers(workflow: BpmnWorkflow, new, registry) -> list[str]:
    """The steps this workflow has done (its remembered history included) or is at that the new version lacks or
    defines differently; a migration is safe only when there are none. Steps still ahead may change freely."""
    done, current, _flows = path_taken(workflow)
    old_steps = _steps_by_id(workflow.spec, workflow.subprocess_specs)
    new_steps = _steps_by_id(new.spec, new.subprocess_specs)
    blockers = set()
    for bpmn_id in {*done, *current}:
        before, after = old_steps.get(bpmn_id), new_steps.get(bpmn_id)
        if before is None:
            continue  # a step of a version this workflow has already left
        if after is None:
            blockers.add(bpmn_id)
            continue
        old_dict, new_dict = registry.convert(before), registry.convert(after)
        if any(old_dict.get(key) != new_dict.get(key) for key in {*old_dict, *new_dict} - LAYOUT_ONLY):
            blockers.add(bpmn_id)
    return sorted(blockers)


def ready_user_tasks(workflow: BpmnWorkflow):
    """READY user tasks only: work items are offered for these, never for any other kind of step."""
    return [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if isinstance(t.task_spec, UserTask)]


def _waiting_definitions(workflow: BpmnWorkflow):
    """(task, event definition) for every event the workflow waits on, looking inside event-based gateways."""
    for task in _waiting_tasks(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        if definition is None:
            continue
        for each in getattr(definition, "event_definitions", None) or [definition]:
            yield task, each


def prune_finished_subprocesses(workflow: BpmnWorkflow) -> int:
    """Drop every finished subprocess (an inspection round that is over) from the state, so that a loan's state
    stays flat over its life; the audit trail keeps what happened in it. Returns how many were dropped."""
    dropped = 0
    if any(sp.completed for sp in workflow.subprocesses.values()):
        _remember_path(workflow)  # what the finished rounds did stays on the diagram
    for task_id, subprocess in list(workflow.subprocesses.items()):
        if task_id not in workflow.subprocesses or not subprocess.completed:
            continue
        try:
            parent = workflow.get_task_from_id(task_id)
        except TaskNotFoundException:
            continue
        if parent is not None and parent.has_state(TaskState.FINISHED_MASK):
            workflow.delete_subprocess(parent)
            dropped += 1
    _drop_spent_data(workflow)
    _cut_finished_prefix(workflow)
    return dropped


_DEFINITE = TaskState.WAITING | TaskState.READY | TaskState.STARTED
PATH_KEY = "creditflow_path_taken"  # in the workflow's own data: elements and flows of forgotten history


def _remember_path(workflow: BpmnWorkflow) -> None:
    done, _current, flows = path_taken(workflow)
    workflow.data[PATH_KEY] = {"done": list(done), "flows": list(flows)}


def _cut_finished_prefix(workflow: BpmnWorkflow) -> None:
    """Everything above the lowest common ancestor of the live tasks (or above the last completed task, when that
    is higher) is finished history, e.g. the rounds of a loop: hang it directly under the root and forget the rest. Skipped while a join waits (joins look back
    at their splits), or when the last completed task or a subprocess's task would be forgotten."""
    live = [t for t in workflow.tasks.values() if t.has_state(_DEFINITE)]
    if not live or any(isinstance(t.task_spec, Join) for t in live):
        return
    paths = []
    for task in live:
        path = []
        while task is not None:
            path.append(task)
            task = task.parent
        paths.append(path[::-1])
    ancestor = None
    for nodes in zip(*paths):
        if any(node is not nodes[0] for node in nodes):
            break
        ancestor = nodes[0]
    root = workflow.task_tree
    last = workflow.last_task
    if ancestor is not None and last is not None and last in paths[0]:
        ancestor = min(ancestor, last, key=paths[0].index)  # keep the last completed task (and its data) too
    if ancestor is None or ancestor is root or ancestor.parent is root:
        return
    keep = {root.id}
    stack = [ancestor]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    if (last is not None and last.id not in keep) or any(key not in keep for key in workflow.subprocesses):
        return
    _remember_path(workflow)  # the diagram still shows the path the forgotten tasks took
    ancestor.parent = root
    root.children = [ancestor]
    for task_id in [t for t in workflow.tasks if t not in keep]:
        del workflow.tasks[task_id]


def _drop_spent_data(workflow: BpmnWorkflow) -> None:
    """A finished task whose children are all finished too hands its data to nobody any more (each task carries
    its own copy): keep its place in the tree (the path taken) but not the copy. The last completed task keeps
    its data (messages that arrive later start from it)."""
    last = workflow.last_task
    for task in workflow.tasks.values():
        if task is last or not task.data or not task.has_state(TaskState.FINISHED_MASK):
            continue
        if task.children and all(child.has_state(TaskState.FINISHED_MASK) for child in task.children):
            task.data = {}


def _waiting_tasks(workflow: BpmnWorkflow) -> list:
    """The WAITING tasks of the workflow and its subprocesses, read off their task tables (no tree walk; the order is
    not the tree's)."""
    return [task for each in (workflow, *workflow.subprocesses.values()) for task in each.tasks.values()
            if task.state == TaskState.WAITING]


def waiting_for(workflow: BpmnWorkflow) -> tuple[datetime | None, list[str]]:
    """`next_timer_due` and `waiting_messages` from one look at the waiting tasks."""
    definitions = list(_waiting_definitions(workflow))
    return next_timer_due(workflow, definitions), waiting_messages(workflow, definitions)


def next_timer_due(workflow: BpmnWorkflow, definitions: list | None = None) -> datetime | None:
    """The earliest pending timer; None when the instance waits on no timer."""
    due = []
    for task, definition in definitions if definitions is not None else _waiting_definitions(workflow):
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):
            value = value.get("next")
        try:
            due.append(utc(datetime.fromisoformat(value)) if isinstance(value, str) else None)
        except ValueError:
            due.append(None)
    if any(d is None for d in due):  # not yet evaluated: look again at the next tick
        return datetime.min.replace(tzinfo=timezone.utc)
    return min(due) if due else None


def waiting_messages(workflow: BpmnWorkflow, definitions: list | None = None) -> list[str]:
    return sorted({d.name for _t, d in (definitions if definitions is not None else _waiting_definitions(workflow))
                   if isinstance(d, MessageEventDefinition)})


def deliver_message(workflow: BpmnWorkflow, name: str, payload: dict | None, log: StepLog) -> None:
    workflow.send_event(BpmnEvent(SpiffMessage(name), payload or {}))
    run_engine(workflow, log)


def end_event_reached(workflow: BpmnWorkflow) -> str | None:
    """The bpmn id of the end event the top-level process finished at."""
    if not workflow.completed:
        return None
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        if isinstance(task.task_spec, EndEvent) and task.workflow is workflow:
            return task.task_spec.bpmn_id
    return None


def path_taken(workflow: BpmnWorkflow) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(completed element ids, current element ids, taken flows as "source>target") for drawing on the diagram."""
    history = workflow.data.get(PATH_KEY) or {}
    done, current, flows = list(history.get("done", ())), [], set(history.get("flows", ()))
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id is None:
            continue
        if task.has_state(TaskState.COMPLETED):
            done.append(bpmn_id)
            parent = task.parent
            while parent is not None and getattr(parent.task_spec, "bpmn_id", None) is None:
                parent = parent.parent
            if parent is not None and parent.has_state(TaskState.COMPLETED):
                flows.add(f"{parent.task_spec.bpmn_id}>{bpmn_id}")
        elif task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            current.append(bpmn_id)
            parent = task.parent
            while parent is not None and getattr(parent.task_spec, "bpmn_id", None) is None:
                parent = parent.parent
            if parent is not None and parent.has_state(TaskState.COMPLETED):
                flows.add(f"{parent.task_spec.bpmn_id}>{bpmn_id}")
    return tuple(dict.fromkeys(done)), tuple(dict.fromkeys(current)), tuple(sorted(flows))


def plain_data(value):
    """Task data as JSON-friendly values (Decimal kept exact as a string)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    return value
