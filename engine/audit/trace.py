"""A loan's trace through its processes, and the heatmap of a process version: what compliance reads."""
from __future__ import annotations


from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.search import USER_TASK_ACTIONS, EventView, event_view
from engine.store.models import AuditEvent, ProcessVersion


# -- a loan's trace -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepTrace:
    """One element of a process on the path taken, and who performed it (nobody for automatic steps)."""

    step: str
    name: str
    kind: str  # user | automatic
    times: int
    performers: tuple[tuple[str, str | None, str | None, datetime], ...]  # (actor, role, on_behalf_of, at)


@dataclass(frozen=True)
class InstanceTrace:
    instance_id: int
    process_id: str
    process_version: int
    version_id: int | None
    started_at: datetime
    completed: bool
    steps: tuple[StepTrace, ...]
    current: tuple[str, ...]  # user tasks started and not completed


@dataclass(frozen=True)
class LoanTrace:
    loan_ref: str
    events: tuple[EventView, ...]  # in the order they were chained
    instances: tuple[InstanceTrace, ...]


def loan_trace(session: Session, loan_ref: str) -> LoanTrace:
    """Everything recorded about one loan, plus the path each process instance took and who did each step."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.loan_ref == loan_ref)
                           .order_by(AuditEvent.occurred_at, AuditEvent.id)).all()
    events = tuple(event_view(r) for r in rows)
    versions = {(v.process_id, v.version): v.id for v in session.scalars(select(ProcessVersion))}
    started: dict[int, EventView] = {}
    steps: dict[int, dict[str, dict]] = defaultdict(dict)
    open_tasks: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    completed: set[int] = set()
    for e in events:
        if e.instance_id is None:
            continue
        if e.action == "instance_started":
            started[e.instance_id] = e
        elif e.action == "instance_completed":
            completed.add(e.instance_id)
        elif e.action == "task_started":
            open_tasks[e.instance_id][e.step] += 1
        elif e.action == "task_cancelled":
            open_tasks[e.instance_id][e.step] -= 1
        elif e.action in ("task_completed", "step_completed") and e.step:
            user = e.action == "task_completed"
            entry = steps[e.instance_id].setdefault(e.step, {"name": e.step_name or e.step, "times": 0,
                                                             "kind": "user" if user else "automatic",
                                                             "performers": []})
            if user:
                entry["kind"] = "user"
                open_tasks[e.instance_id][e.step] -= 1
                entry["performers"].append((e.actor, e.role, e.on_behalf_of, e.occurred_at))
            if user or entry["kind"] == "automatic":  # a multi-instance task also completes as a whole
                entry["times"] += 1
    instances = []
    for instance_id, start in started.items():
        instances.append(InstanceTrace(
            instance_id, start.process_id, start.process_version, versions.get((start.process_id, start.process_version)),
            start.occurred_at, instance_id in completed,
            tuple(StepTrace(step, s["name"], s["kind"], s["times"], tuple(s["performers"]))
                  for step, s in steps[instance_id].items()),
            tuple(step for step, n in open_tasks[instance_id].items() if n > 0)))
    return LoanTrace(loan_ref, events, tuple(instances))


# -- process heatmap ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepStat:
    step: str
    name: str
    kind: str  # user | automatic
    instances: int  # distinct instances that completed the step at least once
    completions: int
    median_seconds: float | None  # user tasks: task started -> task completed


@dataclass(frozen=True)
class Heatmap:
    process_id: str
    version: int
    version_id: int | None
    instances_started: int
    steps: tuple[StepStat, ...]

    @property
    def busiest(self) -> int:
        return max((s.instances for s in self.steps), default=0)


def process_versions(session: Session) -> list[tuple[str, int, str, int]]:
    """(process id, version, name, version id) of every deployment, for choosing a heatmap."""
    return [(v.process_id, v.version, v.name or v.process_id, v.id) for v in session.scalars(
        select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version))]


def instances_started(session: Session) -> dict[tuple[str, int], int]:
    """How many instances each process version has started, from the trail."""
    rows = session.execute(select(AuditEvent.process_id, AuditEvent.process_version, func.count())
                           .where(AuditEvent.action == "instance_started")
                           .group_by(AuditEvent.process_id, AuditEvent.process_version))
    return {(pid, version): n for pid, version, n in rows}


def heatmap(session: Session, process_id: str, version: int) -> Heatmap:
    """How many instances of one process version passed each element, and how long people spent on user tasks.

    Counting is done by the database; a user task's k-th completion in an instance is paired with its k-th start.
    """
    of_version = (AuditEvent.process_id == process_id, AuditEvent.process_version == version)
    counts = session.execute(
        select(AuditEvent.step, AuditEvent.action, func.count(AuditEvent.instance_id.distinct()), func.count(),
               func.min(AuditEvent.step_name))
        .where(*of_version, AuditEvent.action.in_(("step_completed", "task_completed")))
        .group_by(AuditEvent.step, AuditEvent.action)).all()
    durations = _task_durations(session, of_version)
    merged: dict[str, dict] = {}
    for step, action, instances, completions, name in sorted(counts, key=lambda r: r[1] != "task_completed"):
        if step in merged:  # a multi-instance user task also completes as a whole: count the people's tasks
            continue
        merged[step] = {"name": name or step, "kind": "user" if action == "task_completed" else "automatic",
                        "instances": instances, "completions": completions}
    stats = tuple(StepStat(step, e["name"], e["kind"], e["instances"], e["completions"],
                           median(durations[step]) if durations.get(step) else None)
                  for step, e in sorted(merged.items(), key=lambda kv: (-kv[1]["instances"], kv[0])))
    started = session.scalar(select(func.count()).where(*of_version, AuditEvent.action == "instance_started"))
    version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == process_id,
                                                                ProcessVersion.version == version))
    return Heatmap(process_id, version, version_id, started, stats)


def _task_durations(session: Session, of_version) -> dict[str, list[float]]:
    """Seconds from start to completion of every completed user task, per step (k-th start with k-th completion)."""
    if session.get_bind().dialect.name == "postgresql":
        epoch = func.extract("epoch", AuditEvent.occurred_at)
    else:
        epoch = func.julianday(AuditEvent.occurred_at) * 86400.0
    rows = session.execute(select(AuditEvent.instance_id, AuditEvent.step, AuditEvent.action, epoch)
                           .where(*of_version, AuditEvent.action.in_(USER_TASK_ACTIONS))
                           .order_by(AuditEvent.instance_id, AuditEvent.step, AuditEvent.id))
    durations: dict[str, list[float]] = defaultdict(list)
    key, waiting = None, deque()
    for instance_id, step, action, at in rows:
        if (instance_id, step) != key:
            key, waiting = (instance_id, step), deque()
        if action == "task_started":
            waiting.append(float(at))
        elif waiting:
            durations[step].append(round(float(at) - waiting.popleft(), 3))  # julianday is exact to about 10 µs
    return durations
