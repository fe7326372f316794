"""Comparing a replayed instance with its history: steps opened that nobody may do, the point where the paths part,
the decision tables' answers, and where each ends or waits."""
from __future__ import annotations

from policies.model import N_

from engine.access import loan_facts
from engine.replay import checks
from engine.replay.checks import Finding
from engine.runtime import execution

# Decision outputs with a kind of their own (the rest are reported as `decision`).
OUTPUT_KINDS = {"approval_tier": "tier", "entrusted_payment": "payment"}
NO_USER_TASK = N_("it is not a user task with a lane, a duty and a form")


def element_name(loaded, bpmn_id: str | None) -> str:
    """The element's name in the BPMN (its id when it has none)."""
    for spec in [loaded.spec, *loaded.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) == bpmn_id:
                return ts.bpmn_name or bpmn_id
    return bpmn_id or ""


def meta_of(loaded, bpmn_id: str):
    return next((m for m in loaded.user_tasks.values() if m.bpmn_id == bpmn_id), None)


def _ready(run) -> list:
    return execution.ready_user_tasks(run.workflow)


def _names(run, tasks) -> str:
    return ", ".join(dict.fromkeys(t.task_spec.bpmn_name or t.task_spec.bpmn_id for t in tasks))


def _waiting(run) -> bool:
    return bool(execution.waiting_messages(run.workflow)) or execution.next_timer_due(run.workflow) is not None


def _last_step(run) -> str:
    return element_name(run.loaded, run.replayed_steps[-1]) if run.replayed_steps else ""


def opened(player, state, run) -> None:
    """Each step the candidate opens: could anybody do it (lane role, duty, limits, today's user base)?"""
    loan = state.history.loan
    for task in _ready(run):
        if task.id in run.opened:
            continue
        run.opened.add(task.id)
        meta = run.loaded.user_tasks.get(task.task_spec.name)
        if meta is None:  # a plain or manual task: the engine offers it to nobody
            state.note(run, task.task_spec.bpmn_id, Finding(
                "unserved", N_("%(step)s: nobody could do it (%(reason)s)."),
                {"step": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "role": task.task_spec.lane, "duty": "",
                 "reason": NO_USER_TASK, "reason_template": NO_USER_TASK, "reason_params": {}}))
            continue
        finding = checks.unserved(player.staff, player.policy, player.current_policy, meta.name, meta,
                                  meta_of(run.recorded, meta.bpmn_id), loan.branch, loan_facts(loan).exposure,
                                  player.clock.now())
        state.note(run, meta.bpmn_id, finding)


def diverged(player, state, run, event) -> None:
    """A recorded step the candidate does not offer: say what it would do instead; this instance stops here."""
    run.stopped = True
    ready = _ready(run)
    params = {"after": _last_step(run), "recorded": event.step_name or event.step}
    if any(t.task_spec.bpmn_id == event.step for t in ready):  # there, but no user task: nobody will ever do it
        finding = Finding("stall", N_("Would stall at %(recorded)s: nobody could do it."), params)
    elif ready:
        finding = Finding("path", N_("%(recorded)s was done where the candidate would ask for %(offered)s."),
                          {**params, "offered": _names(run, ready)})
    elif run.workflow.completed:
        end = execution.end_event_reached(run.workflow)
        finding = Finding("outcome", N_("Would have ended at %(new)s before %(recorded)s."),
                          {**params, "new": element_name(run.loaded, end), "old": ""})
    elif _waiting(run):
        finding = Finding("path", N_("%(recorded)s was done where the candidate would wait for a timer or message."),
                          {**params, "offered": ""})
    else:
        finding = Finding("stall", N_("Would stall before %(recorded)s: nothing to do and no end reached."), params)
    state.note(run, event.step, finding)


def _outputs(state, run) -> None:
    for key in sorted(set(run.recorded_outputs) & set(run.outputs)):
        old, new = execution.plain_data(run.recorded_outputs[key]), execution.plain_data(run.outputs[key])
        if old == new:
            continue
        kind = OUTPUT_KINDS.get(key, "decision")
        if kind == "tier":
            finding = Finding(kind, N_("Approval by %(new)s instead of %(old)s."), {"old": old, "new": new})
        elif kind == "payment":
            finding = Finding(kind, N_("Entrusted payment instead of payment to the borrower.") if new else
                              N_("Payment to the borrower instead of entrusted payment."),
                              {"old": "entrusted" if old else "direct", "new": "entrusted" if new else "direct"})
        else:
            finding = Finding(kind, N_("%(field)s would be %(new)s instead of %(old)s."),
                              {"field": key, "old": str(old), "new": str(new)})
        state.note(run, None, finding)


def compare(player, state, run) -> None:
    """At the end of the history: the decisions' answers, and the end reached or the steps waited at."""
    _outputs(state, run)
    if run.stopped:
        return
    end = execution.end_event_reached(run.workflow)
    old_end = element_name(run.recorded, run.recorded_end) if run.recorded_end else None
    if end is not None:
        if run.recorded_end is None:
            state.note(run, end, Finding("outcome", N_("Would have ended at %(new)s; it is still running."),
                                         {"new": element_name(run.loaded, end), "old": ""}))
        elif end != run.recorded_end:
            state.note(run, end, Finding("outcome", N_("Would have ended at %(new)s instead of %(old)s."),
                                         {"new": element_name(run.loaded, end), "old": old_end}))
        return
    ready = _ready(run)
    if run.recorded_end is not None:
        if ready:
            state.note(run, ready[0].task_spec.bpmn_id, Finding(
                "path", N_("Would still wait for %(offered)s where it ended at %(recorded)s."),
                {"offered": _names(run, ready), "recorded": old_end}))
        elif not _waiting(run):
            state.note(run, None, Finding("stall", N_("Would stall after %(after)s: nothing to do and no end reached."),
                                          {"after": _last_step(run)}))
        return
    waits = {t.task_spec.bpmn_id for t in ready}
    recorded = state.history.open_steps.get(run.instance_id, set())
    if waits != recorded and (waits or recorded):
        names = ", ".join(element_name(run.recorded, s) for s in sorted(recorded))
        state.note(run, next(iter(sorted(waits)), None), Finding(
            "path", N_("Would wait for %(offered)s where it waits for %(recorded)s."),
            {"offered": _names(run, ready) or "-", "recorded": names or "-"}))
    elif not ready and not _waiting(run):
        state.note(run, None, Finding("stall", N_("Would stall after %(after)s: nothing to do and no end reached."),
                                      {"after": _last_step(run)}))
