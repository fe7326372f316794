"""The compliance read side: search with keyset pages, a loan's trace, heatmaps, the segregation report, exports."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.audit.search import EventFilter, iter_events, search_events
from engine.audit.exports import export_rows
from engine.audit.trace import heatmap, loan_trace
from engine.audit.segregation import segregation_report
from engine.bootstrap import build_engine
from engine.cli import main
from engine.cli.audit import register
from engine.store.models import AuditEvent, DutyRecord, Loan
from policies import default_policy

register(main)


@pytest.fixture
def eng(database_url, clock):
    engine = build_engine(database_url, clock=clock)
    yield engine
    engine.db.dispose()


def record(eng, action, **fields):
    """Append one event through the engine's own audit log, in a command transaction."""
    with eng.command(fields.pop("source", "web")) as ctx:
        event = ctx.audit.record(action, **fields)
    with eng.db.reading() as session:
        return session.scalar(select(AuditEvent.id).where(AuditEvent.hash == event["hash"]))


def _walk(eng, filters, per_page):
    """Every page of a search, following next_after; returns the pages' ids."""
    pages, after = [], None
    with eng.db.reading() as session:
        while True:
            page = search_events(session, filters, after_id=after, per_page=per_page)
            pages.append([e.id for e in page.events])
            if page.next_after is None:
                return pages
            after = page.next_after


@pytest.fixture
def busy(eng, clock):
    """Sixty events on three loans by three people, several sharing a timestamp."""
    people = ["cm_wang", "rev_chen", "risk_liu"]
    ids = []
    for n in range(60):
        if n % 4:
            clock.advance(minutes=7)
        ids.append(record(eng, ["task_completed", "task_claimed", "refused"][n % 3], loan_ref=f"L-2026-00000{n % 3 + 1}",
                          actor=people[n % 3 if n % 5 else 0], role="customer_manager" if n % 2 else "credit_reviewer",
                          outcome="denied" if n % 3 == 2 else "done", rule="SOD-01" if n % 3 == 2 else None,
                          process_id="origination", step=f"step_{n % 4}"))
    return ids


def test_search_pages_walk_every_match_once_newest_first(eng, busy):
    pages = _walk(eng, EventFilter(), per_page=7)
    flat = [i for page in pages for i in page]
    assert flat == list(reversed(busy))  # ties on occurred_at are broken by id
    assert all(len(p) == 7 for p in pages[:-1]) and len(pages) == 9


def test_search_pages_back_and_forth(eng, busy):
    with eng.db.reading() as session:
        first = search_events(session, EventFilter(loan_ref="L-2026-000002"), per_page=5)
        second = search_events(session, EventFilter(loan_ref="L-2026-000002"), after_id=first.next_after, per_page=5)
        back = search_events(session, EventFilter(loan_ref="L-2026-000002"), before_id=second.prev_before, per_page=5)
    assert first.prev_before is None and second.prev_before == second.events[0].id
    assert [e.id for e in back.events] == [e.id for e in first.events]
    assert back.prev_before is None and back.next_after == first.next_after


@pytest.mark.parametrize("filters, expected", [
    (EventFilter(loan_ref="L-2026-000001"), lambda e: e.loan_ref == "L-2026-000001"),
    (EventFilter(actor="rev_chen"), lambda e: e.actor == "rev_chen"),
    (EventFilter(role="credit_reviewer", action="refused"),
     lambda e: e.role == "credit_reviewer" and e.action == "refused"),
    (EventFilter(outcome="denied", rule="SOD-01"), lambda e: e.outcome == "denied"),
    (EventFilter(process_id="origination", actor="cm_wang", action="task_completed"),
     lambda e: e.actor == "cm_wang" and e.action == "task_completed"),
])
def test_search_filters_combine(eng, busy, filters, expected):
    with eng.db.reading() as session:
        everything = list(iter_events(session))
        found = list(iter_events(session, filters, batch=4))
    assert found and [e.id for e in found] == [e.id for e in everything if expected(e)]


def test_search_by_date_range_includes_the_start_and_excludes_the_end(eng, busy, clock):
    with eng.db.reading() as session:
        everything = list(iter_events(session))
        since, until = everything[40].occurred_at, everything[10].occurred_at
        found = list(iter_events(session, EventFilter(since=since, until=until)))
    assert [e.id for e in found] == [e.id for e in everything if since <= e.occurred_at < until]
    assert found[-1].occurred_at == since and all(e.occurred_at < until for e in found)


def test_a_search_after_an_unknown_event_is_empty(eng, busy):
    with eng.db.reading() as session:
        page = search_events(session, after_id=10_000)
    assert page.events == () and page.next_after is None


# -- a loan's trace -----------------------------------------------------------------------------------------
def _instance(eng, clock, loan, instance_id, version=1, vote_minutes=(30, 90), review_hours=2, finish=True):
    """The events one origination instance writes: start, a review, a gateway, two parallel votes, the end."""
    common = dict(loan_ref=loan, process_id="origination", process_version=version, instance_id=instance_id)
    record(eng, "instance_started", **common)
    record(eng, "step_completed", step="start", step_name="Application received", detail={"kind": "StartEvent"},
           **common)
    record(eng, "task_started", step="review", step_name="Review", role="credit_reviewer",
           detail={"task_id": f"r{instance_id}"}, **common)
    clock.advance(hours=review_hours)
    record(eng, "task_completed", step="review", step_name="Review", actor="rev_chen", role="credit_reviewer",
           detail={"before": {"opinion": None}, "after": {"opinion": "approve"}}, **common)
    record(eng, "step_completed", step="decide_tier", step_name="Approval tier", source="web",
           detail={"kind": "decision", "inputs": {"amount": "8000000"}, "changed": {"approval_tier": "branch"}},
           **common)
    for n in (1, 2):
        record(eng, "task_started", step="vote", step_name="Vote", role="committee_member",
               detail={"task_id": f"v{instance_id}-{n}"}, **common)
    for n, minutes in zip((2, 1), vote_minutes):
        clock.advance(minutes=minutes)
        record(eng, "task_completed", step="vote", step_name="Vote", actor=f"member{n}", role="committee_member",
               on_behalf_of="chair_huang" if n == 2 else None, detail={"task_id": f"v{instance_id}-{n}"}, **common)
    if finish:
        record(eng, "step_completed", step="approved", step_name="Approved", detail={"kind": "end"}, **common)
        record(eng, "instance_completed", step="approved", **common)
    else:
        record(eng, "task_started", step="contract", step_name="Prepare contract", role="customer_manager",
               detail={"task_id": f"c{instance_id}"}, **common)


def test_a_loan_trace_shows_the_path_and_who_did_each_step(eng, clock):
    record(eng, "loan_created", loan_ref="L-2026-000001", actor="cm_wang", role="customer_manager")
    _instance(eng, clock, "L-2026-000001", 1, finish=False)
    _instance(eng, clock, "L-2026-000002", 2)
    with eng.db.reading() as session:
        trace = loan_trace(session, "L-2026-000001")
    assert {e.loan_ref for e in trace.events} == {"L-2026-000001"}
    assert trace.events[0].action == "loan_created"
    [instance] = trace.instances
    assert (instance.instance_id, instance.process_id, instance.completed) == (1, "origination", False)
    steps = {s.step: s for s in instance.steps}
    assert list(steps) == ["start", "review", "decide_tier", "vote"]
    assert steps["decide_tier"].kind == "automatic" and steps["decide_tier"].performers == ()
    assert [p[:3] for p in steps["vote"].performers] == [("member2", "committee_member", "chair_huang"),
                                                         ("member1", "committee_member", None)]
    assert steps["review"].performers[0][0] == "rev_chen"
    assert instance.current == ("contract",)


# -- heatmap ----------------------------------------------------------------------------------------------
def test_heatmap_counts_instances_per_step_and_medians_user_tasks(eng, clock):
    _instance(eng, clock, "L-2026-000001", 1, review_hours=1, vote_minutes=(10, 20))
    _instance(eng, clock, "L-2026-000002", 2, review_hours=3, vote_minutes=(30, 40))
    _instance(eng, clock, "L-2026-000003", 3, review_hours=8, vote_minutes=(50, 60), finish=False)
    _instance(eng, clock, "L-2026-000004", 4, version=2, review_hours=100)
    with eng.db.reading() as session:
        hm = heatmap(session, "origination", 1)
    steps = {s.step: s for s in hm.steps}
    assert hm.instances_started == 3 and hm.busiest == 3
    assert (steps["review"].kind, steps["review"].instances, steps["review"].median_seconds) == ("user", 3, 3 * 3600)
    assert (steps["approved"].kind, steps["approved"].instances, steps["approved"].median_seconds) == ("automatic", 2, None)
    assert steps["decide_tier"].kind == "automatic" and steps["decide_tier"].completions == 3
    # votes are matched to their own start by task id: member2 first (vote 2), member1 after both waits
    vote = steps["vote"]
    assert (vote.instances, vote.completions) == (3, 6)
    durations = sorted([10, 30, 30, 70, 50, 110])  # minutes from the shared start to each vote
    assert vote.median_seconds == 60 * (durations[2] + durations[3]) / 2


def test_heatmap_pairs_completions_without_a_task_id_with_the_oldest_open_start(eng, clock):
    common = dict(loan_ref="L-2026-000001", process_id="post_loan", process_version=1, instance_id=9)
    record(eng, "instance_started", **common)
    record(eng, "task_started", step="inspect", detail={"task_id": "a"}, **common)
    clock.advance(hours=1)
    record(eng, "task_started", step="inspect", detail={"task_id": "b"}, **common)
    clock.advance(hours=1)
    record(eng, "task_completed", step="inspect", actor="plm_guo", **common)  # 2 h after the first start
    clock.advance(hours=4)
    record(eng, "task_completed", step="inspect", actor="plm_lin", **common)  # 5 h after the second
    with eng.db.reading() as session:
        [stat] = heatmap(session, "post_loan", 1).steps
    assert stat.median_seconds == 3.5 * 3600


# -- segregation --------------------------------------------------------------------------------------------
def _loan(session, ref, originator="cm_wang", when=None):
    loan = Loan(reference=ref, borrower="Test Co.", product="working_capital", amount=Decimal("8000000"),
                branch="BJ01", originator=originator, created_at=when, updated_at=when)
    session.add(loan)
    session.flush()
    return loan


def test_segregation_report_groups_refusals_and_finds_old_violations(eng, clock):
    now = clock.now()
    with eng.db.transaction() as session:
        clean = _loan(session, "L-2026-000001", when=now)
        old = _loan(session, "L-2026-000002", when=now)
        warned = _loan(session, "L-2026-000003", when=now)

        def act(loan, user, duty, hours, subject=None):
            session.add(DutyRecord(loan_id=loan.id, username=user, duty=duty, process_id="origination",
                                   subject=subject, performed_at=now + timedelta(hours=hours)))

        act(clean, "cm_wang", "originate", 0)
        act(clean, "cm_wang", "investigate", 1)
        act(clean, "rev_chen", "review", 2)
        act(clean, "cm_wang", "assist_inspection", 3)  # allowed: the originator assists inspections
        # made under an older policy that had no SOD-11 and a weaker SOD-03
        act(old, "cm_wang", "investigate", 1)
        act(old, "cm_wang", "register_collateral", 2)
        act(old, "risk_liu", "approve", 3)
        act(old, "risk_liu", "review_disbursement", 4)
        # warnings are kept apart per subject: different warnings are fine, the same one is not
        act(warned, "plm_guo", "raise_warning", 1, subject="W-1")
        act(warned, "plm_guo", "decide_warning", 2, subject="W-2")
        act(warned, "cro_gao", "raise_warning", 3, subject="W-3")
        act(warned, "cro_gao", "decide_warning", 4, subject="W-3")
    for actor, rule in [("cm_wang", "SOD-01"), ("cm_wang", "SOD-01"), ("rev_chen", "SOD-01"), ("cm_wang", "SOD-11")]:
        eng._record_refusal("web", {"actor": actor, "rule": rule, "loan_ref": "L-2026-000001",
                                    "detail": {"kind": "DutyConflict"}})
    eng._record_refusal("web", {"actor": "member1", "rule": None, "detail": {"kind": "NotAssigned"}})
    record(eng, "sign_in_failed", actor="mallory", outcome="denied")

    with eng.db.reading() as session:
        report = segregation_report(session, default_policy())
    assert report.refusals == 5
    assert [(g.key, g.count, g.breakdown) for g in report.by_rule] == [
        ("SOD-01", 3, (("cm_wang", 2), ("rev_chen", 1))), ("(NotAssigned)", 1, (("member1", 1),)),
        ("SOD-11", 1, (("cm_wang", 1),))]
    assert [(g.key, g.count) for g in report.by_user] == [("cm_wang", 3), ("member1", 1), ("rev_chen", 1)]
    found = {(v.loan_ref, v.rule, v.username, v.first_duty, v.second_duty) for v in report.violations}
    assert found == {
        ("L-2026-000002", "SOD-11", "cm_wang", "investigate", "register_collateral"),
        ("L-2026-000002", "SOD-03", "risk_liu", "approve", "review_disbursement"),
        ("L-2026-000003", "SOD-09", "cro_gao", "raise_warning", "decide_warning"),
    }
    sod11 = next(v for v in report.violations if v.rule == "SOD-11")
    assert sod11.rule_name and sod11.first_at < sod11.second_at


def test_the_implied_originator_counts_when_no_originate_duty_was_recorded(eng, clock):
    with eng.db.transaction() as session:
        loan = _loan(session, "L-2026-000009", originator="cm_li", when=clock.now())
        session.add(DutyRecord(loan_id=loan.id, username="cm_li", duty="lead_inspection", process_id="post_loan",
                               performed_at=clock.now()))
    with eng.db.reading() as session:
        report = segregation_report(session, default_policy())
    assert [(v.rule, v.first_duty, v.second_duty) for v in report.violations] == [
        ("SOD-05", "originate", "lead_inspection")]


# -- exports ----------------------------------------------------------------------------------------------
def test_exports_keep_every_field_and_defuse_spreadsheet_formulas(eng, clock):
    record(eng, "task_completed", loan_ref="L-2026-000001", actor="cm_wang", role="customer_manager",
           reason="=HYPERLINK(\"http://evil\")", detail={"before": {"amount": None}, "after": {"amount": "12.50"},
                                                         "note": "王客户经理"})
    with eng.db.reading() as session:
        events = list(iter_events(session))
    rows = list(csv.DictReader(io.StringIO(export_rows(events, "csv"))))
    assert len(rows) == 1
    assert rows[0]["reason"] == "'=HYPERLINK(\"http://evil\")"
    assert json.loads(rows[0]["detail"])["note"] == "王客户经理"
    assert rows[0]["occurred_at"].endswith("Z") and len(rows[0]["hash"]) == 64
    [item] = json.loads(export_rows(events, "json"))
    assert item["reason"] == "=HYPERLINK(\"http://evil\")"  # JSON is the exact record
    assert item["detail"]["after"] == {"amount": "12.50"} and item["hash"] == events[0].hash
    with pytest.raises(ValueError):
        export_rows(events, "xml")


def test_cli_export_of_a_loan_is_oldest_first(eng, clock, tmp_path):
    for n in range(3):
        record(eng, "task_completed", loan_ref="L-2026-000001", actor="cm_wang", step=f"s{n}")
        clock.advance(minutes=1)
    record(eng, "task_completed", loan_ref="L-2026-000002", actor="cm_wang")
    out = tmp_path / "trace.json"
    result = CliRunner().invoke(main, ["--database", eng.db.url, "audit", "export", "--loan", "L-2026-000001",
                                       "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert [e["step"] for e in json.loads(out.read_text(encoding="utf-8"))] == ["s0", "s1", "s2"]
    result = CliRunner().invoke(main, ["--database", eng.db.url, "audit", "export", "--loan", "L-2026-000001"])
    assert result.exit_code == 0 and result.stdout.startswith("id,occurred_at,action")
    assert len(result.stdout.strip().splitlines()) == 4
    result = CliRunner().invoke(main, ["--database", eng.db.url, "audit", "export", "--loan", "L-2099-000001"])
    assert result.exit_code == 1 and "No events" in result.stderr
