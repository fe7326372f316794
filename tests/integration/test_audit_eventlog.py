"""The trail as an event log for process mining: OCEL 2.0 and XES files that pm4py reads back whole."""
from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from engine.audit.eventlog import event_log, ocel_document, trail_events
from engine.cli import main
from engine.cli.audit import register

from .test_audit_lifecycle import _small_loan_lifecycle

pm4py = pytest.importorskip("pm4py")
# pm4py suggests its optional fast readers and warns about its pandas use; neither is about our files
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning",
                                        "ignore::FutureWarning")
register(main)


@pytest.fixture
def lived(engine, driver, clock):
    """One loan through origination and post-loan, and a second one still at its investigation."""
    ref = _small_loan_lifecycle(engine, driver, clock)
    other = driver.start("cm_li")
    with engine.db.reading() as session:
        events = list(trail_events(session))
    return ref, other, events


def test_ocel_export_reads_back_with_every_object_and_event(lived, tmp_path):
    ref, other, events = lived
    doc = ocel_document(events)
    by_type = {}
    for obj in doc["objects"]:
        by_type.setdefault(obj["type"], set()).add(obj["id"])
    assert by_type["loan"] == {f"loan:{ref}", f"loan:{other}"}
    people = {e.actor for e in events if e.actor} | {e.on_behalf_of for e in events if e.on_behalf_of}
    assert {f"person:{p}" for p in people} <= by_type["person"]
    tasks = {e.detail["task_id"] for e in events if e.action == "task_started"}
    assert by_type["task"] == {f"task:{t}" for t in tasks}
    related = [e for e in events if e.loan_ref or e.actor or e.on_behalf_of]
    assert len(doc["events"]) == len(related)
    completed = next(e for e in doc["events"] if e["type"] == "task_completed:review")
    assert {r["qualifier"] for r in completed["relationships"]} == {"loan", "task", "actor"}

    path = tmp_path / "trail.jsonocel"
    path.write_text(event_log(events, "ocel"), encoding="utf-8")
    ocel = pm4py.read_ocel2_json(str(path))
    assert len(ocel.events) == len(related)
    assert len(ocel.objects) == sum(len(ids) for ids in by_type.values())
    assert set(ocel.objects["ocel:type"]) == set(by_type)
    assert (ocel.events["ocel:activity"] == "task_completed:review").sum() == 1
    e2o = ocel.relations
    review_task = completed["relationships"]
    assert set(e2o[e2o["ocel:eid"] == completed["id"]]["ocel:oid"]) == {r["objectId"] for r in review_task}


def test_the_trail_is_read_in_chain_order_and_can_be_cut(engine, lived):
    _ref, _other, events = lived
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    with engine.db.reading() as session:
        assert [e.id for e in trail_events(session, batch=3, limit=7)] == ids[:7]


def test_xes_export_reads_back_one_trace_per_loan(lived, tmp_path):
    ref, other, events = lived
    path = tmp_path / "trail.xes"
    path.write_text(event_log(events, "xes"), encoding="utf-8")
    log = pm4py.read_xes(str(path))
    on_loans = [e for e in events if e.loan_ref]
    assert len(log) == len(on_loans)
    assert set(log["case:concept:name"]) == {ref, other}
    mine = log[log["case:concept:name"] == ref]
    assert len(mine) == sum(1 for e in on_loans if e.loan_ref == ref)
    review = mine[(mine["concept:name"] == "review") & (mine["lifecycle:transition"] == "complete")]
    assert list(review["org:resource"]) == ["rev_chen"]
    assert list(mine["time:timestamp"]) == sorted(mine["time:timestamp"])


def test_cli_writes_the_whole_trail_and_its_hash(engine, lived, tmp_path, database_url):
    ref, _other, events = lived
    for fmt in ("ocel", "xes"):
        out = tmp_path / f"trail.{fmt}"
        result = CliRunner().invoke(main, ["--database", database_url, "audit", "export", "--format", fmt,
                                           "--output", str(out)])
        assert result.exit_code == 0, result.output
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert f"SHA-256 {digest}" in result.output
    doc = json.loads((tmp_path / "trail.ocel").read_text(encoding="utf-8"))
    assert {o["id"] for o in doc["objects"] if o["type"] == "loan"} == {f"loan:{ref}", f"loan:{_other}"}
    one = CliRunner().invoke(main, ["--database", database_url, "audit", "export", "--format", "xes", "--loan", ref])
    assert one.exit_code == 0 and one.output.count("<trace>") == 1
