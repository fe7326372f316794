"""One loan's history played again through the candidate, in memory: each instance started with the data it was
started with, each recorded completion fed in order by the same person with the same form data, each timer and
message at the moment it came; what the candidate would do otherwise is written down as a finding."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from policies.model import DutyAct, N_

from engine.errors import ScriptFailed
from engine.replay import completion, outcome, starts
from engine.replay.checks import Finding
from engine.replay.history import LoanHistory
from engine.runtime import execution
from engine.runtime.specs import LoadedProcess


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
    pending: list[tuple[str, dict]] = field(default_factory=list)  # messages nobody waited for yet
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (raised by, signal)
    extensions: list[dict] = field(default_factory=list)  # extension requests not started yet
    payments: dict[int, dict] = field(default_factory=dict)  # instance id -> what the engine derived
    assigned: dict[tuple, str | None] = field(default_factory=dict)  # (instance id, task id) -> assigned to then
    findings: list[tuple[str, str | None, Finding]] = field(default_factory=list)  # (process, step, finding)

    @property
    def ref(self) -> str:
        return self.history.loan.reference

    def note(self, run: Run | None, step: str | None, finding: Finding | None, process_id: str = "") -> None:
        if finding is not None:
            self.findings.append((run.process_id if run else process_id, step, finding))


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
        application = loan.application or {}  # the starting class, as commands/loans.initial_class
        floor = "substandard" if application.get("replaced_classification") in ("substandard", "doubtful", "loss") \
            else "special_mention" if loan.loan_type == "restructuring" or application.get("replaces_loan") \
            else "normal"
        state = LoanState(history, classification=floor)
        handlers = {"loan_created": self._created, "instance_started": self._started,
                    "task_completed": self._completed, "step_completed": self._step,
                    "instance_completed": self._ended, "payment_made": self._paid,
                    "message_received": self._received, "warning_raised": self._warning,
                    "extension_requested": self._extension, "task_started": self._offered}
        for event in history.events:
            self.clock.set(event.occurred_at)
            try:
                handlers[event.action](state, event)
            except Exception as err:  # noqa: BLE001 - whatever the candidate does, one loan never stops the replay
                run = state.runs.get(event.instance_id)
                if run is not None:
                    run.stopped = True
                state.note(run, event.step, Finding("error", N_("%(step)s would fail: %(error)s"), {
                    "step": event.step_name or event.step or event.action, "error": f"{type(err).__name__}: {err}"}))
        for run in state.runs.values():
            outcome.compare(self, state, run)
        return state

    # -- events -------------------------------------------------------------------------------
    def _created(self, state: LoanState, event) -> None:
        state.acts.append(DutyAct(event.actor, "originate", state.ref, event.occurred_at, "origination"))

    def _offered(self, state: LoanState, event) -> None:
        detail = event.detail or {}
        state.assigned[(event.instance_id, detail.get("task_id"))] = detail.get("assigned_to")

    def _paid(self, state: LoanState, event) -> None:
        detail = dict(event.detail or {})
        derived = {k: detail.get(k) for k in ("drawdowns_paid", "paid_total", "undrawn", "further_drawdown",
                                              "currency")}
        for key in ("paid_total", "undrawn"):
            if derived[key] is not None:
                derived[key] = Decimal(str(derived[key]))
        state.payments[event.instance_id] = derived

    def _received(self, state: LoanState, event) -> None:
        """A business event from outside (one kept and delivered later carries no payload: it was replayed)."""
        detail = event.detail or {}
        if "payload" in detail:
            name, payload = detail.get("message") or event.step, detail["payload"] or {}
            if not self._deliver(state, name, payload):
                state.pending.append((name, payload))

    def _warning(self, state: LoanState, event) -> None:
        if (event.detail or {}).get("rule"):  # raised by a rule: its payload is in the instance_started event
            return
        state.warnings.append((event.actor, (event.detail or {}).get("signal", "")))

    def _extension(self, state: LoanState, event) -> None:
        state.extensions.append(dict(event.detail or {}))

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
        start = starts.start_data(state, message, loaded, (event.detail or {}).get("payload"))
        if start is None:  # the candidate would not have started it
            if not any(run.stopped for run in state.runs.values()):  # else the parting of the ways is noted already
                state.note(None, None, Finding("outcome", N_("%(process)s would not have been started by %(message)s."),
                                               {"process": loaded.name or event.process_id, "message": message}),
                           process_id=event.process_id)
            return
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
            starts.record_initiator(self, state, run, loaded)
        self._moved(state, run, log)

    def _start_engine(self, workflow, message, payload, log) -> None:
        execution.run_engine(workflow, log)
        if message is not None:
            execution.deliver_message(workflow, message, payload, log)

    def _step(self, state: LoanState, event) -> None:
        """Automatic steps: the decisions' answers as recorded, and timers, fired at the moment they fired."""
        run = state.runs.get(event.instance_id)
        if run is None:
            return
        detail = event.detail or {}
        if detail.get("kind") == "decision":
            run.recorded_outputs.update(detail.get("changed") or {})
        if detail.get("kind") == "timer" and not run.stopped:
            log = execution.StepLog()
            self._guarded(state, run, lambda: execution.run_engine(run.workflow, log))
            self._moved(state, run, log)

    def _deliver(self, state: LoanState, name: str, payload: dict, exclude: Run | None = None) -> int:
        """A message to the loan's replayed instances that wait for it (as `commands/flow.deliver`)."""
        taken = 0
        for run in sorted(state.runs.values(), key=lambda r: r.instance_id):
            if run is exclude or run.stopped or name not in execution.waiting_messages(run.workflow):
                continue
            log = execution.StepLog()
            self._guarded(state, run, lambda: execution.deliver_message(run.workflow, name, payload, log))
            self._moved(state, run, log)
            taken += 1
        return taken

    def _deliver_pending(self, state: LoanState, run: Run) -> None:
        """A message that came before anyone waited for it goes to the first instance that does."""
        waiting = execution.waiting_messages(run.workflow)
        for index, (name, payload) in enumerate(state.pending):
            if name in waiting:
                del state.pending[index]
                log = execution.StepLog()
                self._guarded(state, run, lambda: execution.deliver_message(run.workflow, name, payload, log))
                self._moved(state, run, log)
                return

    def _completed(self, state: LoanState, event) -> None:
        run = state.runs.get(event.instance_id)
        if run is None:
            return
        run.recorded_steps.append(event.step)
        if run.stopped:
            return
        ready = [t for t in execution.ready_user_tasks(run.workflow)
                 if t.task_spec.bpmn_id == event.step and t.task_spec.name in run.loaded.user_tasks]
        if not ready:
            outcome.diverged(self, state, run, event)
            return
        task = self._choose(run, ready, event.actor)
        meta = run.loaded.user_tasks[task.task_spec.name]
        detail = dict(event.detail or {})
        values = starts.typed(meta.form, detail.get("after") or {})
        completion.check_form(state, run, meta, values)
        completion.check_assignee(self, state, run, task, meta, event)
        completion.check_policy(self, state, run, meta, event)
        completion.check_named(self, state, run, meta, values, event)
        completion.record_acts(self, state, run, meta, values, event)
        derived = (state.payments.pop(run.instance_id, None) or {}) if meta.payment else {}
        log = execution.StepLog()
        data = {**values, **derived, "completed_by": event.actor,
                "days_past_due": detail.get("days_past_due") or 0}  # the feed's figure when the task was done
        self._guarded(state, run, lambda: execution.complete_user_task(run.workflow, task, data, log))
        if not run.stopped:
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

    # -- after the workflow moved -----------------------------------------------------------------
    def _guarded(self, state: LoanState, run: Run, action) -> None:
        """Run one engine step; a candidate script that fails stops this instance's replay, as a finding."""
        try:
            action()
        except ScriptFailed as err:
            run.stopped = True
            state.note(run, err.step_id, Finding("error", N_("%(step)s would fail: %(error)s"),
                                                 {"step": err.params.get("step", "?"),
                                                  "error": err.params.get("error", str(err))}))
        except Exception as err:  # noqa: BLE001 - whatever the candidate does, one loan never stops the replay
            run.stopped = True
            state.note(run, None, Finding("error", N_("%(step)s would fail: %(error)s"),
                                          {"step": run.replayed_steps[-1] if run.replayed_steps else "?",
                                           "error": f"{type(err).__name__}: {err}"}))

    def _moved(self, state: LoanState, run: Run, log: execution.StepLog) -> None:
        for step in log.steps:
            if step.get("kind") == "decision":
                run.outputs.update(step.get("changed") or {})
                if "approval_tier" in (step.get("changed") or {}):
                    state.tier = step["changed"]["approval_tier"]
        last = run.workflow.last_task
        for event in log.thrown:  # as `commands/flow.route_message`: starters, waiting instances, else kept
            name = event.event_definition.name
            payload = event.payload if isinstance(event.payload, dict) else {}
            state.thrown.append((name, payload, dict(last.data) if last is not None else {}))
            if not self._deliver(state, name, payload, exclude=run) and name not in self.candidate.starters:
                state.pending.append((name, payload))
        if not run.stopped:
            outcome.opened(self, state, run)
            if state.pending and execution.waiting_messages(run.workflow):
                self._deliver_pending(state, run)
