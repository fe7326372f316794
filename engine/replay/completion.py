"""What one recorded completion meets in the candidate: its form, its policy, and the duty records it leaves."""
from __future__ import annotations

from dataclasses import replace

from policies.committee import RECUSE
from policies.model import DutyAct, N_

from engine.access import loan_facts
from engine.forms import form_errors, user_fields
from engine.replay import checks
from engine.replay.checks import Attempt, Finding
from engine.replay.outcome import meta_of

# The engine's refusal of someone a task is not assigned to (access.Gate.decide).
ASSIGNED = N_("This task is assigned to %(user)s.")
# The duty recorded for a committee member who declares a conflict of interest (as commands/tasks.py records it).
RECUSAL = "recuse"


def check_form(state, run, meta, values: dict) -> None:
    """A candidate form that would refuse what the person entered (only where the form changed)."""
    recorded = meta_of(run.recorded, meta.bpmn_id)
    if recorded is not None and recorded.form == meta.form:
        return
    errors = form_errors(meta.form, {k: v for k, v in values.items() if k != "committee_size"},
                         fen=not meta.payment)
    if errors:
        state.note(run, meta.bpmn_id, Finding(
            "form", N_("%(step)s: the form would refuse what was entered (%(fields)s)."),
            {"step": meta.name, "fields": ", ".join(sorted(errors))}))


def check_assignee(player, state, run, task, meta, event) -> None:
    """A candidate assignee expression naming someone else than who did the step (and than whom it named then):
    the engine would have refused them ("This task is assigned to ...")."""
    if not meta.assignee:
        return
    try:
        named = player.kernel.script_engine.evaluate(task, meta.assignee)
    except Exception:  # noqa: BLE001 - an assignee that cannot be evaluated assigns nobody (and fails elsewhere)
        return
    named = str(named) if named else None
    assigned_then = state.assigned.get((run.instance_id, (event.detail or {}).get("task_id")))
    if named in (None, event.actor, event.on_behalf_of, assigned_then) \
            or not player.staff.reachable(named, event.occurred_at, player.policy):
        return
    state.note(run, meta.bpmn_id, Finding("refused", N_("%(step)s: %(actor)s would be refused: %(reason)s"), {
        "step": meta.name, "actor": event.actor, "rule": "", "reason": ASSIGNED % {"user": named},
        "reason_template": ASSIGNED, "reason_params": {"user": named}}))


def _attempt(state, run, duty: str, role: str, event, tier, branch: str | None = None) -> Attempt:
    facts = checks.with_tier(loan_facts(state.history.loan), tier)
    if branch and branch != facts.branch:
        facts = replace(facts, branch=branch)
    return Attempt(event.actor, event.on_behalf_of, duty, role, facts, tuple(state.acts), event.occurred_at,
                   f"{run.process_id}:{run.instance_id}")


def check_policy(player, state, run, meta, event) -> None:
    """The candidate policy on the person who did the step, with the duty acts replayed so far."""
    loan = state.history.loan
    amount = loan_facts(loan).exposure
    role, branch, _served = checks.route(player.staff, player.policy, meta.duty, meta.role, loan.branch, amount,
                                         event.occurred_at)
    attempt = _attempt(state, run, meta.duty, role, event, state.tier, branch)
    recorded_duty = (event.detail or {}).get("duty")
    recorded = _attempt(state, run, recorded_duty, event.role, event, run.recorded_outputs.get(
        "approval_tier", state.tier)) if recorded_duty and event.role else None
    state.note(run, meta.bpmn_id, checks.refusal(player.staff, player.policy, player.current_policy, attempt,
                                                 recorded, meta.name))


def check_named(player, state, run, meta, values: dict, event) -> None:
    """People named in the form (a post-loan manager, committee members) under the candidate's pair rules, as
    `access.Gate.check_named_users` asks: refused only where the current policy would have let them be named."""
    facts = checks.with_tier(loan_facts(state.history.loan), state.tier)
    for name, role in user_fields(meta.form).items():
        named = values.get(name)
        for username in named if isinstance(named, list) else [named] if isinstance(named, str) else []:
            duty = role if role in player.policy.duties else ("vote" if role == "committee_member" else None)
            if duty is None:
                continue
            attempt = Attempt(username, None, duty, role if duty != "vote" else None, facts, tuple(state.acts),
                              event.occurred_at, None)
            state.note(run, meta.bpmn_id, checks.refusal(player.staff, player.policy, player.current_policy,
                                                         attempt, attempt, meta.name))


def record_acts(player, state, run, meta, values: dict, event) -> None:
    """The duty records the completion leaves (a declared conflict of interest is a recusal, not a vote)."""
    subject = f"{run.process_id}:{run.instance_id}"
    duty = RECUSAL if meta.duty in player.policy.committee.vote_duties and values.get("decision") == RECUSE \
        else meta.duty
    state.acts.append(DutyAct(event.actor, duty, state.ref, event.occurred_at, run.process_id,
                              event.on_behalf_of, subject))
    assignable = set(player.policy.duties) & set(player.kernel.gate.lane_roles)
    for name, role in user_fields(meta.form).items():
        if role in assignable and isinstance(values.get(name), str):
            state.acts.append(DutyAct(values[name], role, state.ref, event.occurred_at, run.process_id,
                                      None, subject))

