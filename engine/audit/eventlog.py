"""The audit trail as an event log for process mining: OCEL 2.0 (JSON) and XES (IEEE 1849).

OCEL 2.0: every event of the trail relates to the objects it touched: the loan, the task (one work item, by its
task id), the people (who acted, on whose behalf) and the decision it belongs to (a classification, a risk warning,
a workout, a committee meeting). Events that touch none of these (e.g. a sign-in failure by an unknown name) are
left out, as an object-centric log has nowhere to put them. XES: one trace per loan, its events oldest first, the
step as concept:name with its lifecycle transition, the actor as org:resource.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from sqlalchemy import select

from engine.audit.chain import _plain
from engine.audit.search import EventFilter, EventView, _conditions, event_view
from engine.store.models import AuditEvent

FORMATS = {"ocel": ("application/json", "jsonocel"), "xes": ("application/xml", "xes")}

# Decisions as objects: an instance of these processes is one decision on a loan ...
DECISION_PROCESSES = {"classification": "classification", "risk_warning": "warning", "workout": "workout"}
# ... and so is a committee meeting, made of these steps of the origination instance.
COMMITTEE_STEPS = {"convene_committee", "committee_vote", "chair_veto", "chair_veto_timeout", "committee_outcome",
                   "veto_outcome"}
# Trail action -> XES lifecycle transition (standard lifecycle model); other actions are their own activity.
LIFECYCLE = {"task_started": "schedule", "task_claimed": "assign", "task_reassigned": "reassign",
             "task_released": "withdraw", "task_completed": "complete", "step_completed": "complete",
             "task_cancelled": "ate_abort"}
EVENT_ATTRIBUTES = (("audit_id", "integer"), ("action", "string"), ("step", "string"), ("step_name", "string"),
                    ("outcome", "string"), ("role", "string"), ("source", "string"), ("process_id", "string"),
                    ("process_version", "integer"), ("rule", "string"), ("reason", "string"),
                    ("policy_version", "string"), ("hash", "string"))
OBJECT_ATTRIBUTES = {
    "loan": (("reference", "string"),),
    "task": (("step", "string"), ("step_name", "string"), ("process_id", "string"), ("loan", "string")),
    "person": (("username", "string"),),
    "decision": (("kind", "string"), ("process_id", "string"), ("loan", "string")),
}


def activity(event: EventView) -> str:
    """The OCEL event type: the action, and the step it happened on."""
    return f"{event.action}:{event.step}" if event.step else event.action


def decision_of(event: EventView) -> tuple[str, str] | None:
    """(object id, kind) of the decision an event belongs to, if any."""
    if event.instance_id is None:
        return None
    kind = DECISION_PROCESSES.get(event.process_id or "")
    if kind:
        return f"decision:{kind}:{event.instance_id}", kind
    if event.action == "meeting_closed" or (event.step in COMMITTEE_STEPS and event.process_id == "origination"):
        return f"decision:committee:{event.instance_id}", "committee"
    return None


@dataclass
class _Object:
    id: str
    type: str
    time: str
    attributes: dict
    relationships: dict  # object id -> qualifier


def _value(value):
    if value is None:
        return None
    return value if isinstance(value, (int, str)) else str(value)


def ocel_document(events: Iterable[EventView]) -> dict:
    """The OCEL 2.0 JSON document of these events (oldest first)."""
    objects: dict[str, _Object] = {}
    out_events, event_types = [], {}

    def obj(oid: str, otype: str, at: str, **attributes) -> str:
        if oid not in objects:
            objects[oid] = _Object(oid, otype, at, {k: v for k, v in attributes.items() if v is not None}, {})
        return oid

    for event in events:
        at = _plain(event.occurred_at)
        related: dict[str, str] = {}
        loan = obj(f"loan:{event.loan_ref}", "loan", at, reference=event.loan_ref) if event.loan_ref else None
        if loan:
            related[loan] = "loan"
        task_id = event.detail.get("task_id") if isinstance(event.detail, dict) else None
        if task_id:
            task = obj(f"task:{task_id}", "task", at, step=event.step, step_name=event.step_name,
                       process_id=event.process_id, loan=event.loan_ref)
            related[task] = "task"
            if loan:
                objects[task].relationships[loan] = "of loan"
        if event.actor:
            related[obj(f"person:{event.actor}", "person", at, username=event.actor)] = "actor"
        if event.on_behalf_of:
            related.setdefault(obj(f"person:{event.on_behalf_of}", "person", at, username=event.on_behalf_of),
                               "on behalf of")
        for key in ("assigned_to", "to_user"):
            person = event.detail.get(key) if isinstance(event.detail, dict) else None
            if isinstance(person, str) and person:
                related.setdefault(obj(f"person:{person}", "person", at, username=person), key.replace("_", " "))
        decision = decision_of(event)
        if decision:
            oid = obj(decision[0], "decision", at, kind=decision[1], process_id=event.process_id, loan=event.loan_ref)
            related[oid] = "decision"
            if loan:
                objects[oid].relationships[loan] = "on loan"
        if not related:
            continue
        kind = activity(event)
        event_types.setdefault(kind, None)
        values = {name: _value(getattr(event, name) if name != "audit_id" else event.id)
                  for name, _type in EVENT_ATTRIBUTES}
        out_events.append({
            "id": f"e{event.id}", "type": kind, "time": at,
            "attributes": [{"name": k, "value": v} for k, v in values.items() if v is not None],
            "relationships": [{"objectId": oid, "qualifier": q} for oid, q in related.items()],
        })
    return {
        "objectTypes": [{"name": name, "attributes": [{"name": a, "type": t} for a, t in attrs]}
                        for name, attrs in OBJECT_ATTRIBUTES.items()],
        "eventTypes": [{"name": name, "attributes": [{"name": a, "type": t} for a, t in EVENT_ATTRIBUTES]}
                       for name in sorted(event_types)],
        "objects": [{"id": o.id, "type": o.type,
                     "attributes": [{"name": k, "time": o.time, "value": v} for k, v in o.attributes.items()],
                     "relationships": [{"objectId": target, "qualifier": q} for target, q in o.relationships.items()]}
                    for o in objects.values()],
        "events": out_events,
    }


def ocel_text(events: Iterable[EventView]) -> str:
    return json.dumps(ocel_document(events), ensure_ascii=False, separators=(",", ":")) + "\n"


# -- XES --------------------------------------------------------------------------------------------------
_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
 <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
 <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
 <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
 <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
 <global scope="trace">
  <string key="concept:name" value="__INVALID__"/>
 </global>
 <global scope="event">
  <string key="concept:name" value="__INVALID__"/>
  <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
  <string key="lifecycle:transition" value="complete"/>
 </global>
 <classifier name="Activity" keys="concept:name"/>
 <classifier name="Activity and transition" keys="concept:name lifecycle:transition"/>
 <string key="concept:name" value="creditflow audit trail"/>
"""


def _xes_time(value) -> str:
    text = _plain(value)  # 2026-11-02T01:00:00.000000Z
    return text[:23] + "+00:00"


def _attr(kind: str, key: str, value) -> str:
    return f"   <{kind} key={quoteattr(key)} value={quoteattr(str(value))}/>\n"


def xes_chunks(events: Iterable[EventView]):
    """XES text, one trace per loan (events about no loan are left out), a trace at a time. `events` oldest first."""
    traces: dict[str, list[EventView]] = {}
    for event in events:
        if event.loan_ref:
            traces.setdefault(event.loan_ref, []).append(event)
    yield _XES_HEAD
    for loan_ref, mine in traces.items():
        parts = [f" <trace>\n  <string key=\"concept:name\" value={quoteattr(loan_ref)}/>\n"]
        for event in mine:
            lifecycle = LIFECYCLE.get(event.action)
            name = event.step if lifecycle and event.step else event.action
            parts.append("  <event>\n")
            parts.append(_attr("string", "concept:name", name))
            parts.append(_attr("date", "time:timestamp", _xes_time(event.occurred_at)))
            parts.append(_attr("string", "lifecycle:transition", lifecycle or "complete"))
            if event.actor:
                parts.append(_attr("string", "org:resource", event.actor))
            if event.role:
                parts.append(_attr("string", "org:role", event.role))
            parts.append(_attr("int", "creditflow:audit_id", event.id))
            parts.append(_attr("string", "creditflow:action", event.action))
            for key in ("step", "step_name", "process_id", "outcome", "on_behalf_of", "rule"):
                value = getattr(event, key)
                if value is not None:
                    parts.append(_attr("string", f"creditflow:{key}", value))
            if event.process_version is not None:
                parts.append(_attr("int", "creditflow:process_version", event.process_version))
            parts.append("  </event>\n")
        parts.append(" </trace>\n")
        yield "".join(parts)
    yield "</log>\n"


def xes_text(events: Iterable[EventView]) -> str:
    return "".join(xes_chunks(events))


def event_log(events: Iterable[EventView], fmt: str) -> str:
    """The whole file in one format (`ocel` or `xes`); events oldest first."""
    if fmt == "ocel":
        return ocel_text(events)
    if fmt == "xes":
        return xes_text(events)
    raise ValueError(f"unknown event log format {fmt!r}; use ocel or xes")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def trail_events(session, filters=None, batch: int = 1000, limit: int | None = None):
    """Matching events in the order they were chained (oldest first), a batch at a time; the first `limit` only."""
    conds = _conditions(filters or EventFilter())
    after, left = 0, limit
    while True:
        if left is not None:
            if left <= 0:
                return
            batch = min(batch, left)
            left -= batch
        rows = session.scalars(select(AuditEvent).where(*conds, AuditEvent.id > after)
                               .order_by(AuditEvent.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield event_view(row)
        after = rows[-1].id
        session.expunge_all()
