"""The compliance read side of the audit trail: search, loan traces, heatmaps, segregation, exports, checkpoints."""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from statistics import median

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .audit import _plain
from .models import AuditCheckpoint, AuditEvent, DutyRecord, Loan, ProcessVersion

MAX_PER_PAGE = 500
USER_TASK_ACTIONS = ("task_started", "task_completed")


# -- values handed out -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventFilter:
    """What an auditor searches by; every field is optional and they combine with AND."""

    loan_ref: str | None = None
    actor: str | None = None
    role: str | None = None
    process_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    rule: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class EventView:
    id: int
    occurred_at: datetime
    action: str
    outcome: str
    loan_ref: str | None
    process_id: str | None
    process_version: int | None
    instance_id: int | None
    step: str | None
    step_name: str | None
    actor: str | None
    role: str | None
    on_behalf_of: str | None
    source: str
    policy_version: str | None
    rule: str | None
    reason: str | None
    detail: dict
    prev_hash: str
    hash: str


EXPORT_FIELDS = tuple(f.name for f in fields(EventView))


@dataclass(frozen=True)
class EventPage:
    """One page, newest first; pass `next_after` as after_id for older events, `prev_before` as before_id for newer."""

    events: tuple[EventView, ...]
    next_after: int | None
    prev_before: int | None


def event_view(row: AuditEvent) -> EventView:
    return EventView(**{name: getattr(row, name) for name in EXPORT_FIELDS})


# -- search --------------------------------------------------------------------------------------------
def _conditions(f: EventFilter) -> list:
    columns = {"loan_ref": AuditEvent.loan_ref, "actor": AuditEvent.actor, "role": AuditEvent.role,
               "process_id": AuditEvent.process_id, "action": AuditEvent.action, "outcome": AuditEvent.outcome,
               "rule": AuditEvent.rule}
    conds = [column == getattr(f, name) for name, column in columns.items() if getattr(f, name)]
    if f.since:
        conds.append(AuditEvent.occurred_at >= f.since)
    if f.until:
        conds.append(AuditEvent.occurred_at < f.until)
    return conds


def _beyond(session: Session, event_id: int, older: bool):
    """Keyset condition on (occurred_at, id): strictly older (or newer) than the given event."""
    at = session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.id == event_id))
    if at is None:
        return None
    if older:  # the first term is an index range, the second only breaks ties
        return and_(AuditEvent.occurred_at <= at, or_(AuditEvent.occurred_at < at, AuditEvent.id < event_id))
    return and_(AuditEvent.occurred_at >= at, or_(AuditEvent.occurred_at > at, AuditEvent.id > event_id))


def search_events(session: Session, filters: EventFilter | None = None, after_id: int | None = None,
                  before_id: int | None = None, per_page: int = 50) -> EventPage:
    """Newest first, keyset-paginated so page 10,000 costs what page 1 does (uses the *_time indexes)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    conds = _conditions(filters or EventFilter())
    cursor = after_id if after_id is not None else before_id
    older = before_id is None
    if cursor is not None:
        beyond = _beyond(session, cursor, older)
        if beyond is None:
            return EventPage((), None, None)
        conds.append(beyond)
    order = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc()) if older else \
            (AuditEvent.occurred_at.asc(), AuditEvent.id.asc())
    rows = session.scalars(select(AuditEvent).where(*conds).order_by(*order).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not older:
        rows.reverse()
    events = tuple(event_view(r) for r in rows)
    if not events:
        return EventPage((), None, None)
    has_older = more if older else True
    has_newer = cursor is not None if older else more
    return EventPage(events, events[-1].id if has_older else None, events[0].id if has_newer else None)


def iter_events(session: Session, filters: EventFilter | None = None, limit: int | None = None,
                batch: int = 1000) -> Iterator[EventView]:
    """Every matching event, newest first, fetched page by page (for exports)."""
    after, yielded = None, 0
    while True:
        page = search_events(session, filters, after_id=after, per_page=batch)
        for event in page.events:
            if limit is not None and yielded >= limit:
                return
            yield event
            yielded += 1
        if page.next_after is None:
            return
        after = page.next_after
        session.expunge_all()


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


# -- segregation of duties -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RefusalGroup:
    key: str  # a rule id (or the refusal kind when no rule applied), or a user name
    count: int
    breakdown: tuple[tuple[str, int], ...]  # users for a rule group, rules for a user group; most first


@dataclass(frozen=True)
class PairViolation:
    """One person did two duties on one loan that the current policy keeps apart."""

    loan_ref: str
    rule: str
    rule_name: str
    username: str
    first_duty: str
    first_at: datetime
    second_duty: str
    second_at: datetime
    subject: str | None


@dataclass(frozen=True)
class SegregationReport:
    policy_version: str
    refusals: int
    by_rule: tuple[RefusalGroup, ...]
    by_user: tuple[RefusalGroup, ...]
    violations: tuple[PairViolation, ...]


def _grouped(pairs: Iterable[tuple[str, str]]) -> tuple[RefusalGroup, ...]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, other in pairs:
        table[key][other] += 1
    groups = [RefusalGroup(key, sum(inner.values()), tuple(sorted(inner.items(), key=lambda kv: (-kv[1], kv[0]))))
              for key, inner in table.items()]
    return tuple(sorted(groups, key=lambda g: (-g.count, g.key)))


def segregation_report(session: Session, policy) -> SegregationReport:
    """Every refusal grouped by rule and by user, and every loan where one person did two duties the policy now forbids."""
    kind = AuditEvent.detail["kind"].as_string()
    refusals = session.execute(select(AuditEvent.rule, kind, AuditEvent.actor)
                               .where(AuditEvent.action == "refused")).all()
    keyed = [(rule or f"({k or 'refused'})", actor or "-") for rule, k, actor in refusals]
    return SegregationReport(policy.version, len(keyed), _grouped(keyed), _grouped((u, r) for r, u in keyed),
                             tuple(pair_violations(session, policy)))


def pair_violations(session: Session, policy) -> Iterator[PairViolation]:
    """Check the duty record against the current pair rules, loan by loan (history made under older policies too)."""
    rows = session.execute(select(DutyRecord.loan_id, Loan.reference, Loan.originator, DutyRecord.username,
                                  DutyRecord.duty, DutyRecord.subject, DutyRecord.performed_at, DutyRecord.id)
                           .join(Loan, Loan.id == DutyRecord.loan_id)
                           .order_by(DutyRecord.loan_id, DutyRecord.performed_at, DutyRecord.id))
    loan_id, ref, originator, acts = None, None, None, []
    for row in rows:
        if row.loan_id != loan_id:
            if acts:
                yield from _loan_violations(policy, ref, originator, acts)
            loan_id, ref, originator, acts = row.loan_id, row.reference, row.originator, []
        acts.append((row.id, row.username, row.duty, row.subject, row.performed_at))
    if acts:
        yield from _loan_violations(policy, ref, originator, acts)


def _loan_violations(policy, loan_ref: str, originator: str, acts: list[tuple]) -> Iterator[PairViolation]:
    if not any(duty == "originate" and user == originator for _i, user, duty, _s, _t in acts):
        acts = [(0, originator, "originate", None, datetime(1970, 1, 1, tzinfo=timezone.utc)), *acts]
    by_user: dict[str, list[tuple]] = defaultdict(list)
    for act in acts:
        by_user[act[1]].append(act)
    for username, mine in by_user.items():
        if len(mine) < 2:
            continue
        for rule in policy.pairs:
            hit = _first_conflict(rule, mine)
            if hit:
                first, second = hit
                yield PairViolation(loan_ref, rule.id, rule.name, username, first[2], first[4], second[2], second[4],
                                    first[3] if first[3] == second[3] else None)


def _first_conflict(rule, acts: list[tuple]) -> tuple[tuple, tuple] | None:
    """The earliest two distinct acts on opposite sides of the rule, in its scope."""
    for i, later in enumerate(acts):
        for earlier in acts[:i]:
            opposite = (earlier[2] in rule.duties_a and later[2] in rule.duties_b) or \
                       (earlier[2] in rule.duties_b and later[2] in rule.duties_a)
            if not opposite:
                continue
            if rule.scope == "subject" and earlier[3] is not None and later[3] is not None and earlier[3] != later[3]:
                continue
            return earlier, later
    return None


# -- exports --------------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, datetime):
        return _plain(value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_START) else text


def export_chunks(events: Iterable[EventView], fmt: str) -> Iterator[str]:
    """The events as CSV or JSON text, a piece at a time (for streaming responses and files)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_FIELDS)
        for event in events:
            writer.writerow([_cell(getattr(event, name)) for name in EXPORT_FIELDS])
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    elif fmt == "json":
        yield "["
        for n, event in enumerate(events):
            yield ("," if n else "") + "\n" + json.dumps(_plain(asdict(event)), ensure_ascii=False, sort_keys=True)
        yield "\n]\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}; use csv or json")


def export_rows(events: Iterable[EventView], fmt: str) -> str:
    return "".join(export_chunks(events, fmt))


# -- checkpoints ---------------------------------------------------------------------------------------
def write_checkpoint(session: Session, clock) -> dict:
    """Record the chain head now; the returned dict is what to keep outside the database."""
    head = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    event_id, head_hash = (head.id, head.hash) if head else (0, "0" * 64)
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    row = AuditCheckpoint(event_id=event_id, head_hash=head_hash, created_at=clock.now())
    session.add(row)
    session.flush()
    return {"checkpoint": row.id, "event_id": event_id, "head_hash": head_hash, "events": count,
            "created_at": _plain(row.created_at)}


# Why a checkpoint does not match (English templates; the CLI translates them).
MESSAGES = {
    "missing": "it is missing (events were deleted after the checkpoint was taken)",
    "rewritten": "its hash differs from the checkpoint (the chain was rewritten up to this event)",
}


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    event_id: int
    reason: str | None = None


def verify_against_checkpoint(session: Session, checkpoint: dict) -> CheckpointCheck:
    """The event a checkpoint names must still exist with the same hash, or the chain was rebuilt."""
    event_id, expected = int(checkpoint["event_id"]), str(checkpoint["head_hash"])
    if event_id == 0:
        return CheckpointCheck(True, 0)
    actual = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == event_id))
    if actual is None:
        return CheckpointCheck(False, event_id, MESSAGES["missing"])
    if actual != expected:
        return CheckpointCheck(False, event_id, MESSAGES["rewritten"])
    return CheckpointCheck(True, event_id)
