"""Two versions of a BPMN file compared by element id: steps, lanes, properties, conditions, timers, flows, layout."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.runtime.catalog import read_catalog
from engine.runtime.diff import ADDED, CHANGED, REMOVED, Change, N_, named, shown
from engine.runtime.canonical import meaningful
from engine.runtime.parser import parse_xml

TYPES = {
    "task": N_("Task"), "userTask": N_("User task"), "manualTask": N_("Manual task"), "scriptTask": N_("Script task"),
    "serviceTask": N_("Service task"), "businessRuleTask": N_("Business rule task"), "sendTask": N_("Send task"),
    "receiveTask": N_("Receive task"), "callActivity": N_("Call activity"), "subProcess": N_("Subprocess"),
    "transaction": N_("Transaction"), "startEvent": N_("Start event"), "endEvent": N_("End event"),
    "intermediateCatchEvent": N_("Intermediate event"), "intermediateThrowEvent": N_("Intermediate event"),
    "boundaryEvent": N_("Boundary event"), "exclusiveGateway": N_("Exclusive gateway"),
    "parallelGateway": N_("Parallel gateway"), "inclusiveGateway": N_("Inclusive gateway"),
    "eventBasedGateway": N_("Event-based gateway"), "complexGateway": N_("Complex gateway"),
}
CONTAINERS = {"process", "subProcess", "transaction"}
# Extension properties with a sentence of their own; any other property gets the general one.
PROPERTIES = {
    "duty": ("duty", N_("Duty of %(name)s changed from %(old)s to %(new)s")),
    "form": ("form", N_("Form of %(name)s changed from %(old)s to %(new)s")),
    "stage": ("stage", N_("Stage of %(name)s changed from %(old)s to %(new)s")),
    "assignee": ("assignee", N_("Assignee of %(name)s changed from %(old)s to %(new)s")),
    "due": ("due", N_("Due time of %(name)s changed from %(old)s to %(new)s")),
}
TEXTS = {
    "instructions": ("instructions", N_("Instructions of %(name)s changed")),
    "script": ("script", N_("Script of %(name)s changed")),
    "preScript": ("script", N_("Script before %(name)s changed")),
    "postScript": ("script", N_("Script after %(name)s changed")),
    "documentation": ("documentation", N_("Description of %(name)s changed")),
    "decision": ("decision", N_("Decision called by %(name)s changed from %(old)s to %(new)s")),
    "called": ("process", N_("Process called by %(name)s changed from %(old)s to %(new)s")),
    "message": ("message", N_("Message of %(name)s changed from %(old)s to %(new)s")),
    "timer": ("timer", N_("Timer on %(name)s changed from %(old)s to %(new)s")),
}


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class Node:
    id: str
    tag: str
    name: str | None
    process: str
    props: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)  # attributes and loop settings that change behaviour
    lane: str | None = None


@dataclass
class Flow:
    id: str
    name: str | None
    source: str | None
    target: str | None
    condition: str | None
    process: str


@dataclass
class Diagram:
    processes: dict = field(default_factory=dict)  # id -> name
    lanes: dict = field(default_factory=dict)  # id -> (name, process)
    nodes: dict = field(default_factory=dict)
    flows: dict = field(default_factory=dict)
    layout: dict = field(default_factory=dict)  # element id -> its shape or edge, as comparable text
    english: dict = field(default_factory=dict)  # element id -> English name (the catalog)

    def words(self, prefix: str, element_id: str | None) -> dict:
        node = self.nodes.get(element_id) or self.flows.get(element_id)
        chinese = node.name if node else (self.lanes.get(element_id, (None,))[0] or self.processes.get(element_id))
        return named(prefix, self.english.get(element_id), chinese, element_id or "—")


def _text(node) -> str | None:
    return (node.text or "").strip() or None if node is not None else None


def read_node(element, process: str, messages: dict) -> Node:
    node = Node(element.get("id"), local(element.tag), element.get("name"), process)
    for child in element:
        tag = local(child.tag)
        if tag == "extensionElements":
            for ext in child.iter():
                ext_tag = local(ext.tag)
                if ext_tag == "property" and ext.get("name"):
                    node.props[ext.get("name")] = ext.get("value")
                elif ext_tag in ("instructionsForEndUser", "preScript", "postScript", "calledDecisionId"):
                    key = {"instructionsForEndUser": "instructions", "calledDecisionId": "decision"}.get(ext_tag, ext_tag)
                    node.texts[key] = _text(ext)
        elif tag in ("script", "documentation"):
            node.texts[tag] = _text(child)
        elif tag == "timerEventDefinition":
            for timer in child:
                if local(timer.tag) in ("timeDuration", "timeDate", "timeCycle"):
                    node.texts["timer"] = _text(timer)
        elif tag == "messageEventDefinition":
            node.texts["message"] = messages.get(child.get("messageRef"), child.get("messageRef"))
        elif tag in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics"):
            node.settings["loop"] = " ".join(f"{local(n.tag)}={_text(n)}" for n in child.iter() if _text(n))
    for attr, value in element.attrib.items():
        name = local(attr)
        if name == "calledElement":
            node.texts["called"] = value
        elif name == "decisionRef":  # camunda:decisionRef
            node.texts["decision"] = value
        elif name in ("default", "attachedToRef", "cancelActivity", "isForCompensation", "triggeredByEvent") \
                and meaningful(name, value):
            node.settings[name] = value
    return node


def read_diagram(text: str | None, catalog: str | None) -> Diagram:
    diagram = Diagram()
    if text is None:
        return diagram
    root = parse_xml(text.encode("utf-8"))
    messages = {m.get("id"): m.get("name") for m in root.iter() if local(m.tag) == "message"}
    for process in (p for p in root if local(p.tag) == "process"):
        pid = process.get("id")
        diagram.processes[pid] = process.get("name")
        node_lane = {}
        for lane in (e for e in process.iter() if local(e.tag) == "lane"):
            diagram.lanes[lane.get("id")] = (lane.get("name"), pid)
            for ref in (r for r in lane if local(r.tag) == "flowNodeRef"):
                node_lane[(ref.text or "").strip()] = lane.get("id")
        _read_container(diagram, process, pid, messages)
        for node in diagram.nodes.values():
            if node.process == pid:
                node.lane = node_lane.get(node.id)
    for element in root.iter():
        if local(element.tag) in ("BPMNShape", "BPMNEdge") and element.get("bpmnElement"):
            diagram.layout[element.get("bpmnElement")] = repr(
                [(local(n.tag), sorted((k, v) for k, v in n.attrib.items() if k != "id")) for n in element.iter()])
    if catalog:
        diagram.english = {k: v.get("name") for k, v in read_catalog(catalog).items() if v.get("name")}
    return diagram


def _read_container(diagram: Diagram, container, pid: str, messages: dict) -> None:
    for element in container:
        tag = local(element.tag)
        if tag == "sequenceFlow":
            condition = next((_text(c) for c in element if local(c.tag) == "conditionExpression"), None)
            diagram.flows[element.get("id")] = Flow(element.get("id"), element.get("name"), element.get("sourceRef"),
                                                    element.get("targetRef"), condition, pid)
        elif tag in TYPES and element.get("id"):
            diagram.nodes[element.get("id")] = read_node(element, pid, messages)
            if tag in CONTAINERS:
                _read_container(diagram, element, pid, messages)


def renamed(before: dict, after: dict) -> dict:
    """Old and new names; when the English catalog kept its word, the diagram's own names say what changed."""
    if before["old_name"] == after["name"]:
        return {**after, "old_name": before["old_name_zh"], "old_name_zh": before["old_name_zh"],
                "name": after["name_zh"]}
    return {**after, **before}


def what_of(tag: str) -> str:
    return "gateway" if tag.endswith("Gateway") else "event" if tag.endswith("Event") else "task"


def diff_bpmn(file: str, before: str | None, after: str | None, old_catalog: str | None = None,
              new_catalog: str | None = None) -> list[Change]:
    """Processes, lanes, steps and flows added, removed or changed, and one note when only the layout moved."""
    old, new = read_diagram(before, old_catalog), read_diagram(after, new_catalog)
    changes: list[Change] = []
    for pid in [*old.processes, *[p for p in new.processes if p not in old.processes]]:
        if pid not in new.processes:
            changes.append(Change(REMOVED, "process", pid, file, N_("Process %(name)s removed"),
                                  old.words("name", pid), pid))
        elif pid not in old.processes:
            changes.append(Change(ADDED, "process", pid, file, N_("Process %(name)s added"), new.words("name", pid), pid))
        elif old.processes[pid] != new.processes[pid]:
            words = new.words("name", pid)
            changes.append(Change(CHANGED, "process", pid, file, N_("Process %(old_name)s renamed to %(name)s"),
                                  {**words, **renamed(old.words("old_name", pid), words)}, pid))
    for lane_id in [*old.lanes, *[k for k in new.lanes if k not in old.lanes]]:
        if lane_id not in new.lanes:
            changes.append(Change(REMOVED, "lane", lane_id, file, N_("Lane %(name)s removed"),
                                  old.words("name", lane_id), old.lanes[lane_id][1]))
        elif lane_id not in old.lanes:
            changes.append(Change(ADDED, "lane", lane_id, file, N_("Lane %(name)s added"),
                                  new.words("name", lane_id), new.lanes[lane_id][1]))
        elif old.lanes[lane_id][0] != new.lanes[lane_id][0]:
            words = new.words("name", lane_id)
            changes.append(Change(CHANGED, "lane", lane_id, file, N_("Lane %(old_name)s renamed to %(name)s"),
                                  {**words, **renamed(old.words("old_name", lane_id), words)}, new.lanes[lane_id][1]))
    for node_id in [*old.nodes, *[k for k in new.nodes if k not in old.nodes]]:
        changes += _node_changes(file, old, new, node_id)
    for flow_id in [*old.flows, *[k for k in new.flows if k not in old.flows]]:
        changes += _flow_changes(file, old, new, flow_id)
    common = set(old.layout) & set(new.layout)
    if any(old.layout[k] != new.layout[k] for k in common):
        changes.append(Change(CHANGED, "layout", None, file, N_("Diagram layout of %(file)s changed"), {"file": file}))
    return changes


def _node_changes(file: str, old: Diagram, new: Diagram, node_id: str) -> list[Change]:
    before, after = old.nodes.get(node_id), new.nodes.get(node_id)
    node = after or before
    words = {**(new if after else old).words("name", node_id), "type": TYPES[node.tag]}
    what = what_of(node.tag)

    def change(kind, what_, template, **params):
        return Change(kind, what_, node_id, file, template, {**words, **params}, node.process)

    if before is None or after is None:
        kind = ADDED if before is None else REMOVED
        side = new if after else old
        if node.lane and what == "task":
            lane = side.words("lane", node.lane)
            template = (N_("%(type)s %(name)s added in lane %(lane)s") if kind == ADDED
                        else N_("%(type)s %(name)s removed from lane %(lane)s"))
            return [change(kind, what, template, **lane)]
        return [change(kind, what, N_("%(type)s %(name)s added") if kind == ADDED else N_("%(type)s %(name)s removed"))]
    found = []
    if before.tag != after.tag:
        found.append(change(CHANGED, what, N_("%(name)s changed from %(old_type)s to %(type)s"),
                            old_type=TYPES[before.tag]))
    if before.name != after.name:
        found.append(change(CHANGED, what, N_("%(type)s %(old_name)s renamed to %(name)s"),
                            **renamed(old.words("old_name", node_id), words)))
    if before.lane != after.lane and what == "task":
        found.append(change(CHANGED, "lane", N_("%(type)s %(name)s moved from lane %(old_lane)s to %(new_lane)s"),
                            **old.words("old_lane", before.lane), **new.words("new_lane", after.lane)))
    for key in [*before.props, *[k for k in after.props if k not in before.props]]:
        if before.props.get(key) != after.props.get(key):
            what_, template = PROPERTIES.get(key, ("property", N_(
                "Property %(property)s of %(name)s changed from %(old)s to %(new)s")))
            found.append(change(CHANGED, what_, template, property=key, old=shown(before.props.get(key)),
                                new=shown(after.props.get(key))))
    for key, (what_, template) in TEXTS.items():
        if before.texts.get(key) != after.texts.get(key):
            found.append(change(CHANGED, what_, template, old=shown(before.texts.get(key)),
                                new=shown(after.texts.get(key))))
    if before.settings.get("default") != after.settings.get("default"):
        found.append(change(CHANGED, "flow", N_("Default flow of %(name)s changed from %(old)s to %(new)s"),
                            old=shown(before.settings.get("default")), new=shown(after.settings.get("default"))))
    aspects = sorted(k for k in set(before.settings) | set(after.settings)
                     if k != "default" and before.settings.get(k) != after.settings.get(k))
    if aspects:
        found.append(change(CHANGED, what, N_("Settings of %(type)s %(name)s changed: %(aspects)s"),
                            aspects=", ".join(aspects)))
    return found


def _flow_changes(file: str, old: Diagram, new: Diagram, flow_id: str) -> list[Change]:
    before, after = old.flows.get(flow_id), new.flows.get(flow_id)
    flow = after or before
    side = new if after else old
    words = {**side.words("flow", flow_id), **side.words("source", flow.source), **side.words("target", flow.target),
             "condition": shown(flow.condition)}

    def change(kind, what, template, **params):
        return Change(kind, what, flow_id, file, template, {**words, **params}, flow.process)

    if before is None:
        template = (N_("Flow from %(source)s to %(target)s added, on condition `%(condition)s`") if flow.condition
                    else N_("Flow from %(source)s to %(target)s added"))
        return [change(ADDED, "flow", template)]
    if after is None:
        return [change(REMOVED, "flow", N_("Flow from %(source)s to %(target)s removed"))]
    found = []
    if (before.source, before.target) != (after.source, after.target):
        ends = {**old.words("old_source", before.source), **old.words("old_target", before.target)}
        for end, old_id, new_id in (("source", before.source, after.source), ("target", before.target, after.target)):
            if old_id != new_id and ends[f"old_{end}_zh"] == words[f"{end}_zh"]:  # same name, another element
                for key, element_id in ((f"old_{end}", old_id), (end, new_id)):
                    for each in (key, f"{key}_zh"):
                        ends[each] = f"{ends.get(each, words.get(each))} ({element_id})"
        found.append(change(CHANGED, "flow", N_("Flow %(flow)s now goes from %(source)s to %(target)s "
                                                "(was from %(old_source)s to %(old_target)s)"), **ends))
    if before.condition != after.condition:
        found.append(change(CHANGED, "condition", N_("Condition on flow %(flow)s (%(source)s → %(target)s) changed "
                                                     "from `%(old)s` to `%(new)s`"),
                            old=shown(before.condition), new=shown(after.condition)))
    if before.name != after.name:
        found.append(change(CHANGED, "flow", N_("Flow %(old_name)s renamed to %(name)s"),
                            **renamed(old.words("old_name", flow_id), new.words("name", flow_id))))
    return found
