"""Which BPMN elements the engine runs, and what a risk manager should draw instead of the ones it does not."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.spiff.specs.defaults import NoneTask

from policies import N_

BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# Elements the engine cannot run, and what to draw in their place (work people do is a user task: in a lane, with a
# duty and a form, so it is assigned, checked and audited).
REFUSED_ELEMENTS = {
    "manualTask": N_("manualTask '%(label)s' is not supported: a manual task is work nobody is offered, checked or "
                     "audited for; draw it as a user task (bpmn:userTask) in the lane of the role that does it, with "
                     "the extension properties 'duty' and 'form' (or a plain task for a step that does nothing)"),
    "serviceTask": N_("serviceTask '%(label)s' is not supported: the engine calls no outside services; compute in a "
                      "script task, or, for work people do, draw it as a user task (bpmn:userTask) in the lane of the "
                      "role that does it, with the extension properties 'duty' and 'form'"),
    "sendTask": N_("sendTask '%(label)s' is not supported: use an intermediate throw event with a message "
                   "definition"),
    "receiveTask": N_("receiveTask '%(label)s' is not supported: use an intermediate catch event with a message "
                      "definition"),
    "complexGateway": N_("complexGateway '%(label)s' is not supported: use an exclusive, inclusive or parallel "
                         "gateway with conditions on its flows"),
    "transaction": N_("transaction '%(label)s' is not supported: use a plain sub-process; compensation and "
                      "cancellation are not run"),
    "adHocSubProcess": N_("adHocSubProcess '%(label)s' is not supported: use a sub-process whose steps are joined by "
                          "sequence flows"),
    "choreographyTask": N_("choreographyTask '%(label)s' is not supported: choreographies are not executable; model "
                           "the process of one bank"),
    "subChoreography": N_("subChoreography '%(label)s' is not supported: choreographies are not executable; model "
                          "the process of one bank"),
    "callChoreography": N_("callChoreography '%(label)s' is not supported: choreographies are not executable; model "
                           "the process of one bank"),
}

# Event definitions the engine cannot run (timer and message events are run; a terminate end event ends the
# instance); `event` is the kind of event element (startEvent, boundaryEvent, ...).
REFUSED_EVENTS = {
    "signalEventDefinition": N_("%(event)s '%(label)s' is a signal event, which is not supported: use a message "
                                "event (the engine routes messages to the loan they concern)"),
    "errorEventDefinition": N_("%(event)s '%(label)s' is a error event, which is not supported: use an exclusive "
                               "gateway on the outcome, or a message event"),
    "escalationEventDefinition": N_("%(event)s '%(label)s' is a escalation event, which is not supported: use a due "
                                    "time on the user task (overdue tasks escalate to the supervisor)"),
    "compensateEventDefinition": N_("%(event)s '%(label)s' is a compensate event, which is not supported: "
                                    "compensation is not run; draw the undoing steps as tasks"),
    "conditionalEventDefinition": N_("%(event)s '%(label)s' is a conditional event, which is not supported: use an "
                                     "exclusive gateway, or a timer that re-checks"),
    "linkEventDefinition": N_("%(event)s '%(label)s' is a link event, which is not supported: draw the sequence flow "
                              "itself"),
    "cancelEventDefinition": N_("%(event)s '%(label)s' is a cancel event, which is not supported: transactions are "
                                "not run; use an exclusive gateway on the outcome"),
}


class AutomaticTask(NoneTask):
    """A plain bpmn:task (the modelers' default shape): a step that does nothing and runs through on its own."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


def _label(node) -> str:
    return node.get("name") or node.get("id") or etree.QName(node).localname


def refused_elements(root) -> list[tuple[int | None, str | None, str, dict]]:
    """(line, element id, message template, its parameters) for every element of a BPMN file the engine would not
    run."""
    found = []
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_MODEL:
            continue
        kind = etree.QName(node).localname
        if kind in REFUSED_ELEMENTS:
            found.append((node.sourceline, node.get("id"), REFUSED_ELEMENTS[kind], {"label": _label(node)}))
        elif kind in REFUSED_EVENTS:
            event = node.getparent()
            found.append((event.sourceline, event.get("id"), REFUSED_EVENTS[kind],
                          {"event": etree.QName(event).localname, "label": _label(event)}))
        elif kind == "subProcess" and node.get("triggeredByEvent", "false").lower() == "true":
            found.append((node.sourceline, node.get("id"),
                          N_("event sub-process '%(label)s' is not supported: attach a boundary event (timer or "
                             "message) to the step it interrupts instead"), {"label": _label(node)}))
    return found
