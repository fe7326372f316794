"""Which BPMN elements the engine runs, and what a risk manager should draw instead of the ones it does not."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.spiff.specs.defaults import NoneTask

BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Work people do is a user task: in a lane, with a duty and a form, so it is assigned, checked and audited.
USER_WORK = ("draw it as a user task (bpmn:userTask) in the lane of the role that does it, with the extension "
             "properties 'duty' and 'form'")

# Elements the engine cannot run, and what to draw in their place.
REFUSED_ELEMENTS = {
    "manualTask": f"a manual task is work nobody is offered, checked or audited for; {USER_WORK} (or a plain "
                  "task for a step that does nothing)",
    "serviceTask": "the engine calls no outside services; compute in a script task, or, for work people do, "
                   + USER_WORK,
    "sendTask": "use an intermediate throw event with a message definition",
    "receiveTask": "use an intermediate catch event with a message definition",
    "complexGateway": "use an exclusive, inclusive or parallel gateway with conditions on its flows",
    "transaction": "use a plain sub-process; compensation and cancellation are not run",
    "adHocSubProcess": "use a sub-process whose steps are joined by sequence flows",
    "choreographyTask": "choreographies are not executable; model the process of one bank",
    "subChoreography": "choreographies are not executable; model the process of one bank",
    "callChoreography": "choreographies are not executable; model the process of one bank",
}

# Event definitions the engine cannot run (timer and message events are run; a terminate end event ends the
# instance).
REFUSED_EVENTS = {
    "signalEventDefinition": "use a message event (the engine routes messages to the loan they concern)",
    "errorEventDefinition": "use an exclusive gateway on the outcome, or a message event",
    "escalationEventDefinition": "use a due time on the user task (overdue tasks escalate to the supervisor)",
    "compensateEventDefinition": "compensation is not run; draw the undoing steps as tasks",
    "conditionalEventDefinition": "use an exclusive gateway, or a timer that re-checks",
    "linkEventDefinition": "draw the sequence flow itself",
    "cancelEventDefinition": "transactions are not run; use an exclusive gateway on the outcome",
}


class AutomaticTask(NoneTask):
    """A plain bpmn:task (the modelers' default shape): a step that does nothing and runs through on its own."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


def _label(node) -> str:
    return node.get("name") or node.get("id") or etree.QName(node).localname


def refused_elements(root) -> list[tuple[int | None, str | None, str]]:
    """(line, element id, message) for every element of a BPMN file the engine would not run."""
    found = []
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_MODEL:
            continue
        kind = etree.QName(node).localname
        if kind in REFUSED_ELEMENTS:
            found.append((node.sourceline, node.get("id"),
                          f"{kind} '{_label(node)}' is not supported: {REFUSED_ELEMENTS[kind]}"))
        elif kind in REFUSED_EVENTS:
            event = node.getparent()
            found.append((event.sourceline, event.get("id"),
                          f"{etree.QName(event).localname} '{_label(event)}' is a {kind[:-len('EventDefinition')]} "
                          f"event, which is not supported: {REFUSED_EVENTS[kind]}"))
        elif kind == "subProcess" and node.get("triggeredByEvent", "false").lower() == "true":
            found.append((node.sourceline, node.get("id"),
                          f"event sub-process '{_label(node)}' is not supported: attach a boundary event (timer or "
                          "message) to the step it interrupts instead"))
    return found
