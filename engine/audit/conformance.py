"""Conformance: each loan's recorded path replayed against the process version it ran on, and where it departed.

The replay is token-based (as in process mining's token replay): tokens sit on the sequence flows of the deployed
BPMN (engine/runtime/flowgraph.py reads it); each step the trail records as done consumes a token from a flow
leading to it and puts tokens on the flows leaving it. A step that finds no token was done without the steps the
design puts before it: *skipped* when none of them is ever done in the instance, *out of order* when one is done
later. Missing tokens are then created, so each departure is reported once and the replay goes on. An exclusive or
event-based gateway puts one token that any of its branches may take (the trail says which one did).

Besides the path: manual interventions (an instance moved to another version, an incident retried, a task handed
to someone else), deadlines missed (a task completed after its due time, or still open past it), and the same
person on both sides of a pair rule of the current policy (engine/audit/segregation.py's retroactive check).

pm4py (AGPL, a test dependency) is not used at run time: tests replay the same trails with pm4py's token replay on
the Petri net it converts from the same BPMN, and compare.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.search import EventView, event_view
from engine.audit.segregation import pair_violations
from engine.runtime.flowgraph import BPMN_NS, CONTAINERS, FlowGraph, flow_graph
from engine.store.models import AuditEvent, ProcessVersion

KINDS = ("skipped", "out_of_order", "late", "overdue", "intervention", "pair")


def N_(message: str) -> str:
    """Marks a template for the catalog; translated where the reader's language is known."""
    return message


KIND_LABELS = {"skipped": N_("Skipped"), "out_of_order": N_("Out of order"), "late": N_("Done late"),
               "overdue": N_("Still open past due"), "intervention": N_("Manual intervention"),
               "pair": N_("Pair rule")}
# What each deviation says (English templates; the CLI and the pages translate them).
MESSAGES = {
    "skipped": "%(step)s was done without %(expected)s before it.",
    "out_of_order": "%(step)s was done before %(expected)s.",
    "late": "%(step)s was due %(due)s and was done %(at)s by %(by)s, %(hours)s hours late.",
    "overdue": "%(step)s was due %(due)s and is still open, %(hours)s hours past due.",
    "intervention": "%(action)s by %(actor)s.",
    "migrated": "%(actor)s moved the instance from version %(from_version)s to version %(to_version)s.",
    "pair": "%(username)s did both %(first_duty)s and %(second_duty)s, which %(rule)s keeps apart.",
}
INTERVENTIONS = ("instance_migrated", "incident_retried", "task_reassigned")
CHOICE = "*"  # a token any branch of a gateway may take
XOR = {"exclusiveGateway", "eventBasedGateway"}


# -- the design -----------------------------------------------------------------------------------------
@dataclass
class Design:
    """One process version's flow graph, call activities wired to the processes they call (same file)."""

    graph: FlowGraph
    preds: dict[str, list[str]]
    names: dict[str, str]
    multi: set[str]  # multi-instance activities: several task starts, one completion of the whole
    calls: set[str]  # call activities (entered like subprocesses)
    boundary_of: dict[str, str]

    def fires_as(self, step: str) -> str:
        """The node a completion of `step` fires: a subprocess or call activity completes at its #done node."""
        return f"{step}#done" if step in self.calls or self.graph.kinds.get(step) in CONTAINERS else step


def design_of(bpmn_text: str, process_id: str) -> Design | None:
    root = etree.fromstring(bpmn_text.encode("utf-8"))
    processes = {p.get("id"): p for p in root.iter(f"{{{BPMN_NS}}}process")}
    if process_id not in processes:
        return None
    graph = flow_graph(processes[process_id])
    calls: set[str] = set()
    todo, done = [processes[process_id]], set()
    while todo:  # call activities of this process (and of what they call), wired like subprocesses
        element = todo.pop()
        for call in element.iter(f"{{{BPMN_NS}}}callActivity"):
            called = processes.get(call.get("calledElement"))
            node = call.get("id")
            if called is None or node in calls:
                continue
            calls.add(node)
            inner = flow_graph(called)
            for key in ("kinds", "elements", "attached"):
                getattr(graph, key).update(getattr(inner, key))
            for source, targets in inner.edges.items():
                graph.edges[source].extend(targets)
            for sink in inner.sinks:
                graph.edges[sink].append(f"{node}#done")
            outgoing = [t for t in graph.edges[node] if graph.attached.get(t) != node]
            graph.edges[f"{node}#done"].extend(outgoing)
            graph.edges[node] = [t for t in graph.edges[node] if t not in outgoing] + sorted(inner.starts)
            if called.get("id") not in done:
                done.add(called.get("id"))
                todo.append(called)
    preds: dict[str, list[str]] = defaultdict(list)
    for source, targets in graph.edges.items():
        for target in targets:
            if graph.attached.get(target) != source:  # a boundary event is not a step after its activity
                preds[target].append(source)
    names = {node: (el.get("name") or node) for node, el in graph.elements.items()}
    multi = {node for node, el in graph.elements.items()
             if el.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics") is not None}
    return Design(graph, dict(preds), names, multi, calls, dict(graph.attached))


# -- what is reported -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deviation:
    loan_ref: str
    kind: str  # one of KINDS
    process_id: str | None
    process_version: int | None
    instance_id: int | None
    step: str | None
    step_name: str | None
    at: datetime | None
    event_id: int | None  # the audit event that shows it
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceRun:
    instance_id: int
    process_id: str
    process_version: int
    completed: bool


@dataclass(frozen=True)
class LoanConformance:
    loan_ref: str
    finished: bool
    instances: tuple[InstanceRun, ...]
    deviations: tuple[Deviation, ...]


@dataclass
class VersionCount:
    process_id: str
    version: int
    instances: int = 0
    deviating: int = 0  # instances with at least one deviation
    kinds: Counter = field(default_factory=Counter)
    loans: list[str] = field(default_factory=list)  # loans with deviations on this version


@dataclass(frozen=True)
class ConformanceReport:
    loans: tuple[LoanConformance, ...]
    versions: tuple[VersionCount, ...]
    policy_version: str
    include_running: bool

    @property
    def deviating_loans(self) -> tuple[LoanConformance, ...]:
        return tuple(loan for loan in self.loans if loan.deviations)


# -- the replay -----------------------------------------------------------------------------------------
def _when(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class _Replay:
    """The token game of one process instance."""

    def __init__(self, loan_ref: str, instance_id: int, events: list[EventView], designs):
        self.loan_ref, self.instance_id, self.designs = loan_ref, instance_id, designs
        self.events = events
        self.tokens: Counter = Counter()
        self.active: Counter = Counter()
        self.deviations: list[Deviation] = []
        self.process_id, self.version = events[0].process_id, events[0].process_version
        self.design = designs(self.process_id, self.version)

    def run(self) -> list[Deviation]:
        if self.design is None:
            return []
        for n, event in enumerate(self.events):
            self.n = n
            step = event.step
            if event.action == "instance_migrated":
                self.version = event.process_version
                self.design = self.designs(self.process_id, self.version) or self.design
            elif event.action == "step_completed" and step:
                node = self.design.fires_as(step)
                if step in self.design.multi and self.active[step]:
                    self.active[step] = 0  # its start consumed the token when the first member's task opened
                else:
                    if node != step:
                        self.active[step] = max(0, self.active[step] - 1)
                    self._consume(node, event)
                self._produce(node)
            elif event.action == "task_started" and step:
                if step in self.design.multi and self.active[step]:
                    continue  # another member's share of one multi-instance step
                self._consume(step, event)
                self.active[step] += 1
            elif event.action == "task_completed" and step and step not in self.design.multi:
                self.active[step] = max(0, self.active[step] - 1)
                self._produce(step)
            elif event.action == "task_cancelled" and step and step not in self.design.multi:
                self.active[step] = max(0, self.active[step] - 1)
        return self.deviations

    def _take(self, source: str, target: str) -> bool:
        for key in ((source, target), (source, CHOICE)):
            if self.tokens[key] > 0:
                self.tokens[key] -= 1
                return True
        return False

    def _consume(self, node: str, event: EventView) -> None:
        graph = self.design.graph
        if node in graph.starts:
            return
        preds = self.design.preds.get(node, [])
        if node in self.design.boundary_of:  # fires while its activity runs
            activity = self.design.boundary_of[node]
            if not self.active[activity] and not self.active[self.design.fires_as(activity)]:
                self._missing(node, event, [activity])
            return
        entered = [p for p in preds if graph.kinds.get(p) in CONTAINERS or p in self.design.calls]
        if entered and node not in graph.attached and graph.kinds.get(node) == "startEvent":
            container = entered[0]
            self._consume(container, event)  # entering the subprocess (it is not recorded on its own)
            self.active[container] += 1
            return
        if graph.kinds.get(node) == "parallelGateway" and len(preds) > 1:
            lacking = [p for p in preds if not self._take(p, node)]
            if lacking:
                self._missing(node, event, lacking)
            return
        if any(self._take(p, node) for p in preds):
            if graph.kinds.get(node) == "inclusiveGateway":
                for p in preds:
                    self._take(p, node)
            return
        if preds:
            self._missing(node, event, preds)

    def _produce(self, node: str) -> None:
        graph = self.design.graph
        targets = [t for t in graph.edges.get(node, ()) if graph.attached.get(t) != node]
        if graph.kinds.get(node) in XOR and targets:
            self.tokens[(node, CHOICE)] += 1
            return
        if (graph.kinds.get(node) in CONTAINERS or node in self.design.calls) and not node.endswith("#done"):
            return  # entered through its start event, left through #done
        for target in targets:
            self.tokens[(node, target)] += 1

    def _missing(self, node: str, event: EventView, preds: list[str]) -> None:
        """A step done without a token before it: say which steps the design puts before it, and create them."""
        for p in preds:
            self.tokens[(p, node)] += 1
            self._take(p, node)
        steps = sorted({p.split("#")[0] for p in preds})
        later = {e.step for e in self.events[self.n + 1:]
                 if e.action in ("step_completed", "task_completed", "task_started")}
        kind = "out_of_order" if later & set(steps) else "skipped"
        step = node.split("#")[0]
        self.deviations.append(Deviation(
            self.loan_ref, kind, self.process_id, self.version, self.instance_id, step,
            event.step_name or self.design.names.get(step, step), event.occurred_at, event.id,
            {"expected_before": steps, "expected_names": [self.design.names.get(s, s) for s in steps]}))


def _deadlines(loan_ref: str, events: list[EventView], now: datetime | None, running: set[int]) -> list[Deviation]:
    """Tasks completed after their due time (or, with `now`, still open past it in a running instance)."""
    tasks: dict[str, dict] = {}
    for e in events:
        task_id = e.detail.get("task_id") if isinstance(e.detail, dict) else None
        if not task_id:
            continue
        entry = tasks.setdefault(task_id, {"due": None, "done": None, "started": None, "escalated": None})
        if e.action == "task_started":
            entry["started"], entry["due"] = e, _when(e.detail.get("due_at")) or entry["due"]
        elif e.action == "task_escalated" and e.detail.get("reason") == "overdue":
            entry["escalated"], entry["due"] = e, entry["due"] or _when(e.detail.get("due_at"))
        elif e.action == "task_completed":
            entry["done"] = e
        elif e.action == "task_cancelled":
            entry["cancelled"] = e
    found = []
    for task_id, t in tasks.items():
        shown = t["done"] or t["escalated"] or t["started"]
        if shown is None or t["due"] is None:
            continue
        if t["done"] is not None:
            if t["done"].occurred_at <= t["due"]:
                continue
            kind, at, by = "late", t["done"].occurred_at, t["done"].actor
        elif t.get("cancelled") is None and now is not None and now > t["due"] and shown.instance_id in running:
            kind, at, by = "overdue", None, None
        elif t["escalated"] is not None and t.get("cancelled") is None:
            kind, at, by = "overdue", None, None
        else:
            continue
        until = at or now or shown.occurred_at  # an escalation with no `now`: as late as the trail shows
        found.append(Deviation(loan_ref, kind, shown.process_id, shown.process_version, shown.instance_id, shown.step,
                               shown.step_name, at or t["due"], shown.id,
                               {"task_id": task_id, "due_at": t["due"], "by": by,
                                "late_by_hours": round((until - t["due"]).total_seconds() / 3600, 1)}))
    return found


def _interventions(loan_ref: str, events: list[EventView]) -> list[Deviation]:
    return [Deviation(loan_ref, "intervention", e.process_id, e.process_version, e.instance_id, e.step, e.step_name,
                      e.occurred_at, e.id, {"action": e.action, "actor": e.actor, "reason": e.reason,
                                            **{k: v for k, v in (e.detail or {}).items()
                                               if k in ("from_version", "to_version", "reset_steps", "incident",
                                                        "to_user", "from_user", "assigned_to")}})
            for e in events if e.action in INTERVENTIONS]


def check_loan(loan_ref: str, events: Iterable[EventView], designs, now: datetime | None = None,
               pairs: Iterable = ()) -> LoanConformance:
    """One loan's events (in chain order) replayed; `designs(process_id, version)` gives a Design or None;
    `pairs`: the loan's PairViolations; `now`: also report tasks still open past their due time."""
    events = [e for e in events if e.loan_ref == loan_ref]
    by_instance: dict[int, list[EventView]] = defaultdict(list)
    for e in events:
        if e.instance_id is not None and e.process_id:
            by_instance[e.instance_id].append(e)
    runs, deviations = [], []
    for instance_id, mine in by_instance.items():
        start = next((e for e in mine if e.action == "instance_started"), mine[0])
        completed = any(e.action == "instance_completed" for e in mine)
        last_version = next((e.process_version for e in reversed(mine) if e.action == "instance_migrated"),
                            start.process_version)
        runs.append(InstanceRun(instance_id, start.process_id, last_version, completed))
        deviations += _Replay(loan_ref, instance_id, mine, designs).run()
    running = {r.instance_id for r in runs if not r.completed}
    deviations += _deadlines(loan_ref, events, now, running)
    deviations += _interventions(loan_ref, events)
    for v in pairs:
        second = next((e for e in events if e.action == "task_completed" and e.actor == v.username
                       and (e.detail or {}).get("duty") == v.second_duty), None)
        deviations.append(Deviation(
            loan_ref, "pair", second.process_id if second else None, second.process_version if second else None,
            second.instance_id if second else None, second.step if second else None,
            second.step_name if second else None, v.second_at, second.id if second else None,
            {"rule": v.rule, "rule_name": v.rule_name, "username": v.username, "first_duty": v.first_duty,
             "first_at": v.first_at, "second_duty": v.second_duty}))
    deviations.sort(key=lambda d: (d.at or datetime.min.replace(tzinfo=timezone.utc), d.event_id or 0))
    return LoanConformance(loan_ref, bool(runs) and not running, tuple(sorted(runs, key=lambda r: r.instance_id)),
                           tuple(deviations))


class Designs:
    """Process versions' designs read from the deployed files, once each."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[tuple[str, int], Design | None] = {}

    def __call__(self, process_id: str | None, version: int | None) -> Design | None:
        key = (process_id, version)
        if key not in self.cache:
            row = self.session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                                   ProcessVersion.version == version))
            design = None
            if row is not None:
                for name, text in (row.files or {}).items():
                    if name.endswith(".bpmn") and f'id="{process_id}"' in text:
                        design = design_of(text, process_id)
                        if design is not None:
                            break
            self.cache[key] = design
        return self.cache[key]


def loan_events(session: Session, loan_ref: str) -> list[EventView]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.loan_ref == loan_ref).order_by(AuditEvent.id))
    return [event_view(r) for r in rows]


def conformance_report(session: Session, policy, now: datetime | None = None, include_running: bool = False,
                       loan_ref: str | None = None) -> ConformanceReport:
    """Every loan (or one), replayed: finished loans only unless `include_running` (then open tasks past their due
    time count too, as of `now`)."""
    designs = Designs(session)
    pairs: dict[str, list] = defaultdict(list)
    for v in pair_violations(session, policy):
        pairs[v.loan_ref].append(v)
    query = select(AuditEvent).where(AuditEvent.loan_ref.is_not(None)).order_by(AuditEvent.loan_ref, AuditEvent.id)
    if loan_ref:
        query = query.where(AuditEvent.loan_ref == loan_ref)
    loans, current, batch = [], None, []

    def flush():
        if current is not None:
            result = check_loan(current, batch, designs, now if include_running else None, pairs.get(current, ()))
            if result.instances and (result.finished or include_running):
                loans.append(result)

    for row in session.execute(query.execution_options(yield_per=2000)).scalars():
        if row.loan_ref != current:
            flush()
            current, batch = row.loan_ref, []
        batch.append(event_view(row))
    flush()
    versions: dict[tuple[str, int], VersionCount] = {}
    for loan in loans:
        for run in loan.instances:
            count = versions.setdefault((run.process_id, run.process_version),
                                        VersionCount(run.process_id, run.process_version))
            count.instances += 1
            mine = [d for d in loan.deviations if d.instance_id == run.instance_id]
            if mine:
                count.deviating += 1
                count.kinds.update(d.kind for d in mine)
                if loan.loan_ref not in count.loans:
                    count.loans.append(loan.loan_ref)
    return ConformanceReport(tuple(loans), tuple(sorted(versions.values(), key=lambda c: (c.process_id, c.version))),
                             policy.version, include_running)


def _shown(value) -> str:
    when = _when(value) if not isinstance(value, datetime) else value
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "-"


def describe(d: Deviation, names=None) -> tuple[str, dict]:
    """(English template, its parameters) saying what a deviation is; `names(step, text)` may rename steps."""
    def name(step, text=None):
        return names(step, text) if names else (text or step or "-")

    detail = d.detail
    params = {"step": name(d.step, d.step_name)}
    if d.kind in ("skipped", "out_of_order"):
        params["expected"] = ", ".join(name(s, t) for s, t in zip(detail.get("expected_before", ()),
                                                                  detail.get("expected_names", ())))
    elif d.kind in ("late", "overdue"):
        params.update(due=_shown(detail.get("due_at")), at=_shown(d.at), by=detail.get("by") or "-",
                      hours=detail.get("late_by_hours"))
    elif d.kind == "intervention" and detail.get("action") == "instance_migrated":
        params.update(actor=detail.get("actor") or "-", from_version=detail.get("from_version"),
                      to_version=detail.get("to_version"))
        return MESSAGES["migrated"], params
    elif d.kind == "intervention":
        params.update(action=detail.get("action"), actor=detail.get("actor") or "-")
    elif d.kind == "pair":
        params.update(username=detail.get("username"), first_duty=detail.get("first_duty"),
                      second_duty=detail.get("second_duty"), rule=detail.get("rule"))
    return MESSAGES[d.kind], params
