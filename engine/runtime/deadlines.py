"""Lint of deadlines and timers: a `due` or a timer the engine cannot honour, or one that can never matter.

What is checked (rule `impossible-deadline`): a `due` or timer of zero or less (due or fired at once), of more than
a year, a `business_days(n)` beyond what the engine counts (the step fails as it opens), a repeating timer with
no pause, an interrupting boundary timer that ends a step before the step's own `due` (its deadline and escalation
never happen), and a process whose overdue steps have no supervisor to be escalated to. A value is known when it
is a literal, a policy parameter the process reads, `business_days(...)` of one, or `"PT%dH" % parameter`."""
from __future__ import annotations

import ast
import re
from datetime import timedelta

from engine.roles import SUPERVISOR_ROLES
from engine.runtime.calendar import MAX_BUSINESS_DAYS
from engine.runtime.execution import PROCESS_PARAMETERS
from engine.runtime.flowgraph import BPMN_NS
from engine.runtime.timers import duration_from
from engine.runtime.validation import N_, REFERENCE_DAY

YEAR = timedelta(days=366)
BUSINESS_DAYS_A_YEAR = 250

# What is wrong with a length, for a step's `due` and for a timer: one sentence each, so each language words it whole.
TOO_MANY_BUSINESS_DAYS = {
    "due": N_("the due of '%(step)s' is %(count)s business days; the engine counts at most %(limit)s, so the step "
              "fails as it opens"),
    "timer": N_("the timer of '%(step)s' is %(count)s business days; the engine counts at most %(limit)s, so the "
                "step fails as it opens"),
}
ZERO = {
    "due": N_("the due of '%(step)s' is zero: it is over the moment the step opens"),
    "timer": N_("the timer of '%(step)s' is zero: it is over the moment the step opens"),
}
OVER_A_YEAR = {
    "due": N_("the due of '%(step)s' is more than a year away"),
    "timer": N_("the timer of '%(step)s' is more than a year away"),
}


def process_constants(policy) -> dict[str, object]:
    """The policy parameters a process reads by name (they are put into every new instance's data)."""
    return {name: policy.params[name] for name in PROCESS_PARAMETERS if name in policy.params}


def literal(expression: str, constants) -> object | None:
    """The value of a timer or due expression when it depends only on constants; None otherwise."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    return _value(node, constants)


def _value(node, constants):
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Tuple):
        parts = [_value(e, constants) for e in node.elts]
        return None if None in parts else tuple(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left, right = _value(node.left, constants), _value(node.right, constants)
        if isinstance(left, str) and re.search(r"%[^a-zA-Z%]*(\d{3}|\*)", left):
            return None  # a width such as %0999999999d is not a deadline: never build it
        try:
            return left % right if isinstance(left, str) and right is not None else None
        except (TypeError, ValueError):
            return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "business_days" \
            and len(node.args) == 1 and not node.keywords:
        count = _value(node.args[0], constants)
        try:
            return f"{int(count)}BD" if count is not None else None
        except (TypeError, ValueError):
            return None
    return None


class Span:
    """How long a due or timer runs: at least `low`, at most `high` (None: no upper bound known)."""

    def __init__(self, low: timedelta, high: timedelta | None, business_days: int | None = None):
        self.low, self.high, self.business_days = low, high, business_days


def span(value) -> Span | None:
    if value is None:
        return None
    text = str(value).strip()
    match = re.fullmatch(r"(-?\d+)BD", text)
    if match:
        count = int(match.group(1))
        return Span(timedelta(days=max(count, 0)), None, business_days=count)
    try:
        length = duration_from(text, REFERENCE_DAY)
    except (ValueError, OverflowError):
        return None  # validation reports a malformed duration
    return Span(length, length)


def deadline_findings(linter) -> list:
    """The findings of rule `impossible-deadline` for the process `linter` (a lint._Linter) reads."""
    constants = process_constants(linter.policy)
    found_before = len(linter.findings)
    for step in linter.steps.values():
        due = span(step.due if step.due and step.due.upper().startswith("P") else
                   literal(step.due, constants) if step.due else None)
        if due is not None:
            _check_length(linter, step.id, step.name, due, "due")
    for node, element in linter.graph.elements.items():
        timer = element.find(f"{{{BPMN_NS}}}timerEventDefinition")
        if timer is not None:
            _check_timer(linter, node, timer, constants)
    if linter.steps and not any(linter.process_id in processes for processes in SUPERVISOR_ROLES.values()):
        linter.add(linter.process_id, "impossible-deadline", "warning",
                   N_("no role supervises process '%(process)s': an overdue step is escalated to nobody"),
                   process=linter.process_id)
    new = linter.findings[found_before:]
    del linter.findings[found_before:]
    return new


def _check_length(linter, node, label, length: Span, what: str) -> None:
    """`what` is "due" or "timer"."""
    if length.business_days is not None and length.business_days > MAX_BUSINESS_DAYS:
        linter.add(node, "impossible-deadline", "error", TOO_MANY_BUSINESS_DAYS[what], step=label,
                   count=length.business_days, limit=MAX_BUSINESS_DAYS)
    elif (length.business_days is not None and length.business_days <= 0) or (
            length.business_days is None and length.high is not None and length.high <= timedelta(0)):
        linter.add(node, "impossible-deadline", "warning", ZERO[what], step=label)
    elif (length.business_days or 0) > BUSINESS_DAYS_A_YEAR or length.low > YEAR:
        linter.add(node, "impossible-deadline", "warning", OVER_A_YEAR[what], step=label)


def _check_timer(linter, node, timer, constants) -> None:
    label = linter.label(node)
    for kind in ("timeDuration", "timeCycle"):
        definition = timer.find(f"{{{BPMN_NS}}}{kind}")
        value = literal(definition.text or "", constants) if definition is not None else None
        if not isinstance(value, str):
            continue
        if kind == "timeCycle":
            _check_cycle(linter, node, label, value)
            continue
        length = span(value)
        if length is None:
            continue
        _check_length(linter, node, label, length, "timer")
        attached_to = linter.graph.attached.get(node)
        step = linter.steps.get(attached_to or "")
        interrupting = linter.graph.elements[node].get("cancelActivity", "true").lower() != "false"
        if step is None or not step.due or not interrupting or length.high is None:
            continue
        due = span(step.due if step.due.upper().startswith("P") else literal(step.due, constants))
        if due is not None and length.high < due.low:
            linter.add(node, "impossible-deadline", "warning",
                       N_("timer '%(timer)s' ends '%(step)s' before the step falls due (%(due)s): its deadline and "
                          "escalation never happen"), timer=label, step=step.name, due=step.due)


def _check_cycle(linter, node, label, value: str) -> None:
    parts = value.upper().replace("--", "/").split("/")
    if len(parts) < 2 or not parts[0].startswith("R"):
        return
    period = span(parts[-1]) if parts[-1].startswith("P") else None
    if period is not None and period.high is not None and period.high <= timedelta(0):
        endless = parts[0] in ("R", "R-1")
        linter.add(node, "impossible-deadline", "error" if endless else "warning",
                   N_("timer '%(timer)s' repeats with no pause between its cycles"), timer=label)
