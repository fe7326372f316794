"""One loan's history played again through the candidate, in memory: each instance started with the data it was
started with, each recorded completion fed in order by the same person with the same form data, each timer and
message at the moment it came; what the candidate would do otherwise is written down as a finding."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from policies.committee import RECUSE
from policies.model import DutyAct

from engine.access import loan_facts
from engine.application import APPLICATION_SCHEMA
from engine.errors import ScriptFailed
from engine.forms import form_errors, user_fields
from engine.replay import checks, outcome
from engine.replay.checks import Attempt, Finding
from engine.replay.history import LoanHistory
from engine.runtime import execution
from engine.runtime.specs import LoadedProcess

# The duty recorded for a committee member who declares a conflict of interest (as commands/tasks.py records it).
RECUSAL = "recuse"
WARNING_MESSAGE = "warning_raised"


@dataclass
class Run:
    """One recorded instance and the candidate workflow standing in for it."""

    instance_id: int
    process_id: str
    recorded: LoadedProcess
    loaded: LoadedProcess
    workflow: BpmnWorkflow
    stopped: bool = False
    replayed_steps: list[str] = field(default_factory=list)
    recorded_steps: list[str] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)  # decision outputs of the replay (the last of each)
    recorded_outputs: dict = field(default_factory=dict)
    recorded_end: str | None = None
    opened: set = field(default_factory=set)  # ready task ids already looked at


@dataclass
class LoanState:
    """What the replay knows about the loan so far: its tier, classification, duty acts, messages, findings."""

    history: LoanHistory
    tier: str | None = None
    classification: str = "normal"
    acts: list[DutyAct] = field(default_factory=list)
    runs: dict[int, Run] = field(default_factory=dict)
    thrown: list[tuple[str, dict, dict]] = field(default_factory=list)  # (name, payload, the thrower's data)
    received: list[tuple[str, dict]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (raised by, signal)
    payments: dict[int, dict] = field(default_factory=dict)  # instance id -> what the engine derived
    findings: list[tuple[str, str | None, Finding]] = field(default_factory=list)  # (process, step, finding)

    @property
    def ref(self) -> str:
        return self.history.loan.reference

    def note(self, run: Run | None, step: str | None, finding: Finding | None) -> None:
        if finding is not None:
            self.findings.append((run.process_id if run else "", step, finding))


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


class Player:
    """Plays loans through one candidate; holds what every loan shares (clock, script engine, staff)."""

    def __init__(self, replay_kernel, current_policy, candidate, staff, recorded_spec):
        self.kernel = replay_kernel  # the candidate policy, a clock the replay moves, the script helpers
        self.clock = replay_kernel.clock
        self.policy = replay_kernel.policy
        self.current_policy = current_policy
        self.candidate = candidate
        self.staff = staff
        self.recorded_spec = recorded_spec  # ProcessInstance -> LoadedProcess as deployed

    def play(self, history: LoanHistory) -> LoanState:
        loan = history.loan
        state = LoanState(history, classification="special_mention" if loan.loan_type == "restructuring" else "normal")
        handlers = {"loan_created": self._created, "instance_started": self._started,
                    "task_completed": self._completed, "step_completed": self._step,
                    "instance_completed": self._ended, "payment_made": self._paid,
                    "message_received": self._received, "warning_raised": self._warning}
        for event in history.events:
            self.clock.set(event.occurred_at)
            handlers[event.action](state, event)
        for run in state.runs.values():
            outcome.compare(self, state, run)
        return state

    # -- events -------------------------------------------------------------------------------
    def _created(self, state: LoanState, event) -> None:
        state.acts.append(DutyAct(event.actor, "originate", state.ref, event.occurred_at, "origination"))

    def _paid(self, state: LoanState, event) -> None:
        detail = dict(event.detail or {})
        derived = {k: detail.get(k) for k in ("drawdowns_paid", "paid_total", "undrawn", "further_drawdown",
                                              "currency")}
        for key in ("paid_total", "undrawn"):
            if derived[key] is not None:
                derived[key] = Decimal(str(derived[key]))
        state.payments[event.instance_id] = derived

    def _received(self, state: LoanState, event) -> None:
        detail = event.detail or {}
        if "payload" in detail:
            state.received.append((detail.get("message") or event.step, detail["payload"]))

    def _warning(self, state: LoanState, event) -> None:
        state.warnings.append((event.actor, (event.detail or {}).get("signal", "")))

    def _ended(self, state: LoanState, event) -> None:
        run = state.runs.get(event.instance_id)
        if run is not None:
            run.recorded_end = (event.detail or {}).get("end") or event.step

    def _started(self, state: LoanState, event) -> None:
        instance = state.history.instances.get(event.instance_id)
        loaded = self.candidate.process(event.process_id)
        if instance is None or loaded is None:
            return
        message = (event.detail or {}).get("message")
        start = self._start_data(state, message, loaded)
        if start is None:
            return  # started by a message the candidate never threw: that difference is already noted
        data, payload = start
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.kernel.script_engine)
        params = {k: self.policy.params[k] for k in execution.PROCESS_PARAMETERS if k in self.policy.params}
        workflow.task_tree.data.update({**params, **data})
        for task in workflow.get_tasks():
            task.data.update(workflow.task_tree.data)
        run = Run(instance.id, event.process_id, self.recorded_spec(instance), loaded, workflow)
        state.runs[instance.id] = run
        log = execution.StepLog()
        self._guarded(state, run, lambda: self._start_engine(workflow, message, payload, log))
        if loaded.start_duty and loaded.start_initiator and not run.stopped:
            self._initiator(state, run, loaded)
        self._moved(state, run, log)

    def _start_engine(self, workflow, message, payload, log) -> None:
        execution.run_engine(workflow, log)
        if message is not None:
            execution.deliver_message(workflow, message, payload, log)

    def _start_data(self, state: LoanState, message: str | None, loaded: LoadedProcess):
        loan = state.history.loan
        if message is None:
            values = typed(APPLICATION_SCHEMA, loan.application or {})
            for name in ("group_exposure", "declared_group_exposure"):
                if values.get(name) is not None:
                    values[name] = Decimal(str(values[name]))
            return {**values, "loan_id": loan.reference, "originator": loan.originator}, None
        if loaded.start_message != message:
            return None
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

    def _initiator(self, state: LoanState, run: Run, loaded: LoadedProcess) -> None:
        start = next((t for t in run.workflow.get_tasks() if isinstance(t.task_spec, StartEvent)
                      and t.workflow is run.workflow), None)
        try:
            username = self.kernel.script_engine.environment.evaluate(loaded.start_initiator, dict(start.data)) \
                if start else None
        except Exception:  # noqa: BLE001 - a broken expression shows as a failing start elsewhere
            username = None
        if username:
            state.acts.append(DutyAct(str(username), loaded.start_duty, state.ref, self.clock.now(),
                                      loaded.process_id, None, f"{loaded.process_id}:{run.instance_id}"))

    def _step(self, state: LoanState, event) -> None:
        run = state.runs.get(event.instance_id)
        if run is None:
            return
        detail = event.detail or {}
        if detail.get("kind") == "decision":
            run.recorded_outputs.update(detail.get("changed") or {})
        if run.stopped:
            return
        log = execution.StepLog()
        if detail.get("kind") == "timer":
            self._guarded(state, run, lambda: execution.run_engine(run.workflow, log))
            self._moved(state, run, log)
        elif detail.get("kind") == "message":
            name = self._caught_message(run, event.step)
            if name is None:
                return
            payload = self._message_payload(state, name)
            self._guarded(state, run, lambda: execution.deliver_message(run.workflow, name, payload, log))
            self._moved(state, run, log)

    def _caught_message(self, run: Run, bpmn_id: str) -> str | None:
        """The message a recorded step caught (not a start event, not a throw), by the deployed version."""
        for spec in [run.recorded.spec, *run.recorded.subprocess_specs.values()]:
            for ts in spec.task_specs.values():
                if getattr(ts, "bpmn_id", None) == bpmn_id and isinstance(ts, CatchingEvent) \
                        and not isinstance(ts, StartEvent) \
                        and isinstance(getattr(ts, "event_definition", None), MessageEventDefinition):
                    return ts.event_definition.name
        return None

    @staticmethod
    def _message_payload(state: LoanState, name: str) -> dict:
        for index, (received, payload) in enumerate(state.received):
            if received == name:
                del state.received[index]
                return payload
        for index, (thrown, payload, _data) in enumerate(state.thrown):
            if thrown == name:
                del state.thrown[index]
                return payload
        return {}

    def _completed(self, state: LoanState, event) -> None:
        run = state.runs.get(event.instance_id)
        if run is None:
            return
        run.recorded_steps.append(event.step)
        if run.stopped:
            return
        ready = [t for t in execution.ready_user_tasks(run.workflow) if t.task_spec.bpmn_id == event.step]
        if not ready:
            outcome.diverged(self, state, run, event)
            return
        task = self._choose(run, ready, event.actor)
        meta = run.loaded.user_tasks[task.task_spec.name]
        detail = dict(event.detail or {})
        values = typed(meta.form, detail.get("after") or {})
        self._check_form(state, run, meta, values, event)
        self._check_policy(state, run, meta, values, event)
        self._record_acts(state, run, meta, values, event)
        derived = (state.payments.pop(run.instance_id, None) or {}) if meta.payment else {}
        log = execution.StepLog()
        data = {**values, **derived, "completed_by": event.actor}
        self._guarded(state, run, lambda: execution.complete_user_task(run.workflow, task, data, log))
        run.replayed_steps.append(meta.bpmn_id)
        if "classification" in meta.loan_updates and task.data.get("classification"):
            state.classification = task.data["classification"]
        self._moved(state, run, log)

    def _choose(self, run: Run, ready: list, actor: str):
        """Among instances of the same step (a committee's votes), the one assigned to the person who did it."""
        if len(ready) == 1:
            return ready[0]
        for task in ready:
            meta = run.loaded.user_tasks[task.task_spec.name]
            try:
                if meta.assignee and str(self.kernel.script_engine.evaluate(task, meta.assignee)) == actor:
                    return task
            except Exception:  # noqa: BLE001 - an assignee that cannot be evaluated assigns nobody
                continue
        return ready[0]

    def _check_form(self, state: LoanState, run: Run, meta, values: dict, event) -> None:
        recorded = run.recorded.user_tasks.get(meta.bpmn_id)
        if recorded is not None and recorded.form == meta.form:
            return
        errors = form_errors(meta.form, {k: v for k, v in values.items() if k != "committee_size"},
                             fen=not meta.payment)
        if errors:
            state.note(run, meta.bpmn_id, Finding(
                "form", "%(step)s: the form would refuse what was entered (%(fields)s).",
                {"step": meta.name, "fields": ", ".join(sorted(errors))}))

    def _attempt(self, state: LoanState, run: Run, duty: str, role: str, event, tier) -> Attempt:
        facts = checks.with_tier(loan_facts(state.history.loan), tier)
        return Attempt(event.actor, event.on_behalf_of, duty, role, facts, tuple(state.acts), event.occurred_at,
                       f"{run.process_id}:{run.instance_id}")

    def _check_policy(self, state: LoanState, run: Run, meta, values: dict, event) -> None:
        loan = state.history.loan
        amount = loan_facts(loan).exposure
        role, _branch, _served = checks.route(self.staff, self.policy, meta.duty, meta.role, loan.branch, amount,
                                              event.occurred_at)
        attempt = self._attempt(state, run, meta.duty, role, event, state.tier)
        recorded_duty = (event.detail or {}).get("duty")
        recorded = self._attempt(state, run, recorded_duty, event.role, event, run.recorded_outputs.get(
            "approval_tier", state.tier)) if recorded_duty and event.role else None
        state.note(run, meta.bpmn_id, checks.refusal(self.staff, self.policy, self.current_policy, attempt,
                                                     recorded, meta.name))

    def _record_acts(self, state: LoanState, run: Run, meta, values: dict, event) -> None:
        """The duty records the completion leaves (a declared conflict of interest is a recusal, not a vote)."""
        subject = f"{run.process_id}:{run.instance_id}"
        duty = RECUSAL if meta.duty in self.policy.committee.vote_duties and values.get("decision") == RECUSE \
            else meta.duty
        state.acts.append(DutyAct(event.actor, duty, state.ref, event.occurred_at, run.process_id,
                                  event.on_behalf_of, subject))
        assignable = set(self.policy.duties) & set(self.kernel.gate.lane_roles)
        for name, role in user_fields(meta.form).items():
            if role in assignable and isinstance(values.get(name), str):
                state.acts.append(DutyAct(values[name], role, state.ref, event.occurred_at, run.process_id,
                                          None, subject))

    # -- after the workflow moved -----------------------------------------------------------------
    def _guarded(self, state: LoanState, run: Run, action) -> None:
        """Run one engine step; a candidate script that fails stops this instance's replay, as a finding."""
        try:
            action()
        except ScriptFailed as err:
            run.stopped = True
            state.note(run, err.step_id, Finding("error", "%(step)s would fail: %(error)s",
                                                 {"step": err.params.get("step", "?"),
                                                  "error": err.params.get("error", str(err))}))

    def _moved(self, state: LoanState, run: Run, log: execution.StepLog) -> None:
        for step in log.steps:
            if step.get("kind") == "decision":
                run.outputs.update(step.get("changed") or {})
                if "approval_tier" in (step.get("changed") or {}):
                    state.tier = step["changed"]["approval_tier"]
        for event in log.thrown:
            payload = event.payload if isinstance(event.payload, dict) else {}
            last = run.workflow.last_task
            state.thrown.append((event.event_definition.name, payload, dict(last.data) if last is not None else {}))
        if not run.stopped:
            outcome.opened(self, state, run)
