"""The sequence-flow graph of one process, read from its XML, so lint can ask what a loan can reach from where."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
ACTIVITIES = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}


def local(element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


@dataclass
class Flow:
    """A sequence flow and its condition (None: unconditional)."""

    id: str
    source: str
    target: str
    condition: str | None


@dataclass
class FlowGraph:
    """Flow nodes (element id -> tag), the edges a token can take, where tokens start and where they may end."""

    kinds: dict[str, str] = field(default_factory=dict)
    elements: dict[str, object] = field(default_factory=dict)
    container: dict[str, str | None] = field(default_factory=dict)  # node -> the subprocess it sits in
    edges: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    flows: list[Flow] = field(default_factory=list)
    starts: set[str] = field(default_factory=set)
    sinks: set[str] = field(default_factory=set)
    implicit_ends: set[str] = field(default_factory=set)  # nodes with no outgoing flow that are not end events
    attached: dict[str, str] = field(default_factory=dict)  # boundary event -> the activity it is attached to
    _out: dict[str, list[Flow]] = field(default_factory=dict, repr=False)
    _in: dict[str, list[Flow]] = field(default_factory=dict, repr=False)

    def add_flow(self, flow: Flow) -> None:
        self.flows.append(flow)
        self._out.setdefault(flow.source, []).append(flow)
        self._in.setdefault(flow.target, []).append(flow)

    def outgoing(self, node: str) -> list[Flow]:
        return self._out.get(node, [])

    def incoming(self, node: str) -> list[Flow]:
        return self._in.get(node, [])

    def reachable(self, roots) -> set[str]:
        seen, todo = set(), list(roots)
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(self.edges.get(node, ()))
        return seen

    def reaching(self, targets) -> set[str]:
        """Every node from which one of `targets` can be reached."""
        backward = defaultdict(list)
        for source, targets_of in self.edges.items():
            for target in targets_of:
                backward[target].append(source)
        seen, todo = set(), list(targets)
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(backward.get(node, ()))
        return seen

    def forward_edges(self) -> dict[str, list[str]]:
        """The edges without those that loop back (found depth-first from the starts): one pass, no repeats."""
        forward: dict[str, list[str]] = defaultdict(list)
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in sorted(self.starts):
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(self.edges.get(root, ())))]
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[node] = 2
                    stack.pop()
                elif state.get(child) != 1:
                    forward[node].append(child)
                    if child not in state:
                        state[child] = 1
                        stack.append((child, iter(self.edges.get(child, ()))))
        return forward


def flow_graph(process_element) -> FlowGraph:
    """Build the graph of a `bpmn:process` element, its subprocesses included."""
    graph = FlowGraph()
    _add_scope(graph, process_element, None, top=True)
    return graph


def _add_scope(graph: FlowGraph, scope, container: str | None, top: bool) -> None:
    done = f"{container}#done" if container else None
    nodes, links_thrown, links_caught = [], defaultdict(list), defaultdict(list)
    for child in scope:
        kind = local(child)
        node_id = child.get("id")
        if not node_id or kind not in EVENTS | ACTIVITIES | GATEWAYS:
            continue
        nodes.append(node_id)
        graph.kinds[node_id], graph.elements[node_id], graph.container[node_id] = kind, child, container
        link = child.find(f"{{{BPMN_NS}}}linkEventDefinition")
        if link is not None and kind == "intermediateThrowEvent":
            links_thrown[link.get("name")].append(node_id)
        elif link is not None and kind == "intermediateCatchEvent":
            links_caught[link.get("name")].append(node_id)
        if kind == "boundaryEvent" and child.get("attachedToRef"):
            graph.attached[node_id] = child.get("attachedToRef")
            graph.edges[child.get("attachedToRef")].append(node_id)
        if kind in CONTAINERS:
            event_subprocess = child.get("triggeredByEvent", "false").lower() == "true"
            _add_scope(graph, child, node_id, top=event_subprocess)
            if event_subprocess:  # it starts on its own event, whenever its process runs
                graph.starts.add(node_id)
            for inner in child:
                if local(inner) == "startEvent" and inner.get("id"):
                    graph.edges[node_id].append(inner.get("id"))
        if kind == "startEvent" and top:
            graph.starts.add(node_id)
    for flow in scope.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in graph.kinds and target in graph.kinds:
            condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            text = (condition.text or "").strip() if condition is not None else ""
            graph.add_flow(Flow(flow.get("id"), source, target, text or None))
            origin = f"{source}#done" if graph.kinds[source] in CONTAINERS and _runs_inside(graph, source) else source
            graph.edges[origin].append(target)
    for name, throws in links_thrown.items():
        for thrown in throws:
            graph.edges[thrown].extend(links_caught.get(name, ()))
    thrown = {node for throws in links_thrown.values() for node in throws}
    for node_id in nodes:
        kind = graph.kinds[node_id]
        leaves = bool(graph.outgoing(node_id)) or node_id in thrown
        if kind in CONTAINERS and not _runs_inside(graph, node_id):
            continue  # an event subprocess has no flows of its own; its end events end it
        if kind in CONTAINERS:
            node_id, ends_path = f"{node_id}#done", not leaves
        else:
            ends_path = kind == "endEvent" or (not leaves and kind not in GATEWAYS and kind != "startEvent")
            if ends_path and kind != "endEvent":
                graph.implicit_ends.add(node_id)
        if not ends_path:
            continue
        if done and not top:
            graph.edges[node_id].append(done)
        else:
            graph.sinks.add(node_id)

def _runs_inside(graph: FlowGraph, node_id: str) -> bool:
    """A subprocess a token enters (not an event subprocess, which starts on its own)."""
    element = graph.elements[node_id]
    return element.get("triggeredByEvent", "false").lower() != "true"


class Together:
    """Which two nodes one token run can both reach: one after the other (not by going round a loop again), or on
    two branches of a split that runs every branch (parallel, inclusive). Reach is kept as bit sets, one per node."""

    def __init__(self, graph: FlowGraph):
        forward = graph.forward_edges()
        nodes = sorted(set(forward) | {child for children in forward.values() for child in children})
        self.bit = {node: 1 << i for i, node in enumerate(nodes)}
        self.after: dict[str, int] = {}
        for root in nodes:
            stack = [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if node in self.after:
                    continue
                if expanded:
                    reach = 0
                    for child in forward.get(node, ()):
                        reach |= self.bit[child] | self.after[child]
                    self.after[node] = reach
                else:
                    stack.append((node, True))
                    stack.extend((child, False) for child in forward.get(node, ()) if child not in self.after)
        # per split, the nodes each branch alone reaches (what two branches both reach comes after the join)
        self.splits: list[list[int]] = []
        for node, kind in graph.kinds.items():
            if kind in ("parallelGateway", "inclusiveGateway") and len(forward.get(node, ())) > 1:
                branches = [self.bit[t] | self.after[t] for t in forward[node]]
                self.splits.append([branch & ~_union(branches[:i] + branches[i + 1:])
                                    for i, branch in enumerate(branches)])

    def __call__(self, a: str, b: str) -> bool:
        bit_a, bit_b = self.bit.get(a, 0), self.bit.get(b, 0)
        if not bit_a or not bit_b:
            return False
        if self.after.get(a, 0) & bit_b or self.after.get(b, 0) & bit_a:
            return True
        for branches in self.splits:
            holding_a = {i for i, branch in enumerate(branches) if branch & bit_a}
            holding_b = {i for i, branch in enumerate(branches) if branch & bit_b}
            if holding_a and holding_b and holding_a != holding_b:
                return True
        return False


def _union(bit_sets) -> int:
    union = 0
    for bits in bit_sets:
        union |= bits
    return union
