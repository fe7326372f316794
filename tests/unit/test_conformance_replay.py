"""The conformance replay on our flow graph, checked against pm4py's token replay on the Petri net pm4py converts
from the same bundled BPMN: random paths through the design, then the same paths with a step dropped or moved."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from engine.audit.conformance import check_loan, design_of
from engine.audit.search import EventView
from engine.bootstrap import BUNDLED_BPMN

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def walk(design, rng: random.Random, limit: int = 80) -> list[str]:
    """A path tokens can take from the start to the ends: a branch chosen at random at each exclusive gateway, every
    branch of a parallel split taken, a parallel join passed once a token has come in on each of its flows, and the
    tokens moved in a random order (so parallel branches interleave)."""
    graph = design.graph
    incoming: dict[str, set] = {}
    for source, targets in graph.edges.items():
        for target in targets:
            if graph.attached.get(target) != source:
                incoming.setdefault(target, set()).add(source)
    tokens, waiting, path = [(None, sorted(graph.starts)[0])], {}, []
    while tokens and len(path) < limit:
        source, node = tokens.pop(rng.randrange(len(tokens)))
        parallel = graph.kinds.get(node) == "parallelGateway"
        if parallel and len(incoming.get(node, ())) > 1:
            arrived = waiting.setdefault(node, set())
            arrived.add(source)
            if arrived < incoming[node]:
                continue
            del waiting[node]
        path.append(node)
        ahead = [t for t in graph.edges.get(node, ()) if graph.attached.get(t) != node]
        if ahead:
            tokens += [(node, t) for t in ahead] if parallel else [(node, rng.choice(ahead))]
    return path


def recorded(design, process_id: str, steps: list[str]) -> list[EventView]:
    """The events the engine records for these steps: a user task opens and completes, other steps complete."""
    events = []

    def event(action, step):
        n = len(events) + 1
        events.append(EventView(n, T0 + timedelta(seconds=n), action, "done", "L-2026-000001", process_id, 1, 1,
                                step, design.names.get(step), None, None, None, "cli", None, None, None, {}, "", ""))

    event("instance_started", None)
    for step in steps:
        if design.graph.kinds[step] == "userTask":
            event("task_started", step)
            event("task_completed", step)
        else:
            event("step_completed", step)
    return events


def deviations(design, process_id, steps):
    return check_loan("L-2026-000001", recorded(design, process_id, steps), lambda _p, _v: design).deviations


def test_a_path_the_design_allows_has_no_deviation_and_a_dropped_step_is_skipped():
    design = design_of((BUNDLED_BPMN / "workout.bpmn").read_text(encoding="utf-8"), "workout")
    path = walk(design, random.Random(3))
    assert deviations(design, "workout", path) == ()
    dropped = path.index("approve_workout")
    [found] = deviations(design, "workout", path[:dropped] + path[dropped + 1:])
    assert (found.kind, found.detail["expected_before"]) == ("skipped", ["approve_workout"])


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("process_id", ["risk_warning", "classification", "workout"])
def test_our_replay_agrees_with_pm4py_token_replay(process_id):
    pm4py = pytest.importorskip("pm4py")
    import pandas as pd

    path = BUNDLED_BPMN / f"{process_id}.bpmn"
    design = design_of(path.read_text(encoding="utf-8"), process_id)
    net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(path)))
    labels = {t.name: t.label for t in net.transitions if t.label}  # pm4py sees the tasks; gateways are silent

    def pm4py_fits(steps) -> bool:
        seen = [labels[s] for s in steps if s in labels]
        frame = pd.DataFrame({"case:concept:name": "L-2026-000001", "concept:name": seen,
                              "time:timestamp": [T0 + timedelta(seconds=n) for n in range(len(seen))]})
        [result] = pm4py.conformance_diagnostics_token_based_replay(frame, net, im, fm)
        return result["trace_is_fit"]

    rng, unfit = random.Random(16), 0
    for _n in range(30):
        steps = walk(design, rng)
        assert deviations(design, process_id, steps) == () and pm4py_fits(steps), steps
        k = rng.choice([i for i, s in enumerate(steps) if s in labels])
        if rng.random() < 0.5:
            changed = steps[:k] + steps[k + 1:]  # a task's events left out
        else:
            changed = steps[:k] + steps[k + 1:k + 3] + [steps[k]] + steps[k + 3:]  # recorded two steps later
        if not pm4py_fits(changed):  # what pm4py, seeing only the tasks, finds wrong, we find too
            unfit += 1
            assert deviations(design, process_id, changed), changed
    assert unfit >= 5  # the check above was not vacuous
