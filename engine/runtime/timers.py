"""Timer events that read the engine clock instead of the wall clock.

SpiffWorkflow's timer definitions call `datetime.now()` themselves; these
subclasses ask the workflow's script engine for the time, which is the engine
clock, so `tick --now` and month-long simulations fire timers correctly.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffStartEventParser,
)


# The furthest a timer or a deadline may lie. Spiff counts a duration month by month, so P99999999Y would take
# minutes of CPU before failing: such a value is refused before it is counted.
MAX_DURATION = timedelta(days=3660)


def duration_from(expression: str, start: datetime) -> timedelta:
    """An ISO 8601 duration from `start`; ValueError for anything that is not one or lies beyond MAX_DURATION."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(str(expression))
    except Exception as exc:  # noqa: BLE001 - Spiff raises a bare Exception for a malformed duration
        raise ValueError(f"'{expression}' is not an ISO 8601 duration") from exc
    rough = timedelta(days=365 * parsed.get("years", 0) + 31 * parsed.get("months", 0) + 7 * parsed.get("weeks", 0)
                      + parsed.get("days", 0), hours=parsed.get("hours", 0), minutes=parsed.get("minutes", 0),
                      seconds=parsed.get("seconds", 0)) if all(v < 10**7 for v in parsed.values()) else None
    if rough is None or rough > MAX_DURATION + timedelta(days=62):
        raise ValueError(f"the duration '{expression}' is more than {MAX_DURATION.days} days")
    return TimerEventDefinition.get_timedelta_from_start(parsed, start)


def _now(my_task) -> datetime:
    return my_task.workflow.script_engine.clock.now()


class ClockedTimeDate(TimeDateEventDefinition):
    """A timer at a fixed date and time."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.parse_time_or_duration(event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDuration(DurationTimerEventDefinition):
    """A timer that fires a duration after its task was reached."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            event_value = (now + duration_from(expression, now)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if TimerEventDefinition.get_datetime(event_value) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedCycle(CycleTimerEventDefinition):
    """A repeating timer (R<n>/<start>/<duration>)."""

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = _parse_cycle(expression, now)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _parse_cycle(expression: str, now: datetime):
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if len(components) == 2 and components[1].startswith("P"):
        cycles = int(components[0]) if components[0] else -1
        parsed = TimerEventDefinition.parse_iso_duration(components[1])
        duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)


CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


class ClockedTimerParserMixin:
    """Parser hook: build clocked timers for every timer event."""

    def parse_timer_event(self, event):
        original = super().parse_timer_event(event)
        clocked = CLOCKED[type(original)]
        return clocked(original.name, original.expression, description=original.description)


class StartEventParser(ClockedTimerParserMixin, SpiffStartEventParser):
    pass


class IntermediateCatchEventParser(ClockedTimerParserMixin, SpiffIntermediateCatchEventParser):
    pass


class BoundaryEventParser(ClockedTimerParserMixin, SpiffBoundaryEventParser):
    pass
