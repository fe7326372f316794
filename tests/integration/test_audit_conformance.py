"""Conformance: a loan's recorded path replayed on the process version it ran on, its departures listed."""
from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from engine.audit.conformance import Designs, check_loan, conformance_report, loan_events
from engine.cli import main
from engine.cli.audit import register
from policies.rules import PairRule

from .test_audit_lifecycle import _small_loan_lifecycle
from .test_migration import redesign

register(main)


@pytest.fixture
def clean(engine, driver, clock):
    return _small_loan_lifecycle(engine, driver, clock)


def _check(engine, ref, events=None, **kwargs):
    with engine.db.reading() as session:
        return check_loan(ref, events if events is not None else loan_events(session, ref), Designs(session),
                          **kwargs)


def test_a_clean_loan_conforms_to_the_versions_it_ran_on(engine, engine_mode, clean):
    with engine.db.reading() as session:
        report = conformance_report(session, engine.policy)
    [loan] = report.loans
    assert loan.loan_ref == clean and loan.finished and loan.deviations == ()
    assert [(r.process_id, r.process_version, r.completed) for r in loan.instances] == [
        ("origination", 1, True), ("post_loan", 1, True)]
    assert [(v.process_id, v.version, v.instances, v.deviating) for v in report.versions] == [
        ("origination", 1, 1, 0), ("post_loan", 1, 1, 0)]


def test_a_step_whose_events_were_deleted_is_reported_skipped(engine, clean):
    with engine.db.reading() as session:
        events = loan_events(session, clean)
    planted = [e for e in events if e.step != "review"]  # a copy without the credit review's events
    [deviation] = _check(engine, clean, planted).deviations
    assert (deviation.kind, deviation.process_id, deviation.process_version, deviation.step) == (
        "skipped", "origination", 1, "review_outcome")
    assert deviation.detail["expected_before"] == ["review"]
    assert deviation.event_id == next(e.id for e in events if e.step == "review_outcome")


def test_a_step_recorded_after_the_steps_it_leads_to_is_out_of_order(engine, clean):
    with engine.db.reading() as session:
        events = loan_events(session, clean)
    review = [e for e in events if e.step == "review"]
    rest = [e for e in events if e.step != "review"]
    after = next(n for n, e in enumerate(rest) if e.action == "task_completed" and e.step == "sign_risk")
    planted = rest[:after + 1] + review + rest[after + 1:]  # the review recorded after the signatures
    [deviation] = _check(engine, clean, planted).deviations
    assert (deviation.kind, deviation.step, deviation.detail["expected_before"]) == (
        "out_of_order", "review_outcome", ["review"])


def test_missed_deadlines_done_late_or_still_open(engine, engine_mode, driver, clock):
    ref = driver.start()
    clock.advance(days=10)  # well past the investigation's due date
    driver.do(ref, "investigate", "cm_wang")
    clock.advance(days=10)
    with engine.db.reading() as session:
        finished_only = conformance_report(session, engine.policy, now=clock.now())
        report = conformance_report(session, engine.policy, now=clock.now(), include_running=True)
    assert finished_only.loans == ()  # the loan is still running
    [loan] = report.loans
    assert not loan.finished
    late = [(d.kind, d.step, d.detail["by"]) for d in loan.deviations]
    assert late == [("late", "investigate", "cm_wang"), ("overdue", "review", None)]
    investigate = loan.deviations[0]
    assert investigate.detail["due_at"] < investigate.at and investigate.detail["late_by_hours"] > 24
    [count] = report.versions
    assert (count.process_id, count.instances, count.deviating, count.kinds["late"], count.loans) == (
        "origination", 1, 1, 1, [ref])


def test_a_loan_moved_to_another_version_is_replayed_on_it(engine, driver, tmp_path):
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "review", "rev_chen")
    engine.deploy([redesign(tmp_path, 'name="拟定并签订合同"', 'name="拟定、审核并签订合同"')],
                  actor="designer_zheng", approved_by="designer_wu", source="cli")
    engine.migrate_loans("designer_zheng", "origination", 2, [ref], "Contract review wording")
    driver.do(ref, "sign_business", "cm_wang")
    driver.do(ref, "sign_risk", "risk_liu")
    with engine.db.reading() as session:
        report = conformance_report(session, engine.policy, include_running=True)
    [loan] = report.loans
    [moved] = loan.deviations
    assert (moved.kind, moved.process_version, moved.detail["action"], moved.detail["actor"]) == (
        "intervention", 2, "instance_migrated", "designer_zheng")
    assert (moved.detail["from_version"], moved.detail["to_version"]) == (1, 2)
    assert [(v.process_id, v.version, v.deviating) for v in report.versions] == [("origination", 2, 1)]


def test_the_same_person_on_both_sides_of_a_later_pair_rule(engine, clean):
    later = PairRule("SOD-99", "Approver does not inspect", "审批人不得参与检查", "test", ("sign_business",),
                     ("assist_inspection",), frozenset({"sign_business"}), frozenset({"assist_inspection"}), "loan")
    policy = dataclasses.replace(engine.policy, pairs=engine.policy.pairs + (later,))
    with engine.db.reading() as session:
        assert conformance_report(session, engine.policy).loans[0].deviations == ()
        [loan] = conformance_report(session, policy).loans
    [pair] = loan.deviations
    assert (pair.kind, pair.step, pair.process_id, pair.detail["rule"], pair.detail["username"]) == (
        "pair", "assist_inspection", "post_loan", "SOD-99", "cm_wang")


def test_cli_lists_deviations_per_version(engine, driver, clock, clean, database_url):
    ref = driver.start("cm_li")
    clock.advance(days=10)
    driver.do(ref, "investigate", "cm_li")
    runner = CliRunner()
    finished = runner.invoke(main, ["--database", database_url, "audit", "conformance"])
    assert finished.exit_code == 0, finished.output
    assert "origination 1" in finished.output and ref not in finished.output
    running = runner.invoke(main, ["--database", database_url, "audit", "conformance", "--running"])
    assert running.exit_code == 0, running.output
    assert "2 loan(s) checked" in running.output and ref in running.output and clean not in running.output
    assert "调查借款人 was due" in running.output  # done late, by the originator


def test_a_trail_without_due_dates_on_its_tasks_takes_them_from_the_escalations(engine, driver, clock):
    ref = driver.start()
    clock.advance(days=10)
    engine.tick()  # the investigation escalates as overdue
    driver.do(ref, "investigate", "cm_wang")
    with engine.db.reading() as session:
        events = loan_events(session, ref)
    assert any(e.action == "task_escalated" for e in events)
    older = [dataclasses.replace(e, detail={k: v for k, v in e.detail.items() if k != "due_at"})
             if e.action == "task_started" else e for e in events]  # as recorded before tasks carried due_at
    for trail in (events, older):
        late = [(d.kind, d.step, d.detail["by"]) for d in _check(engine, ref, trail).deviations]
        assert late == [("late", "investigate", "cm_wang")]


def test_a_task_handed_to_someone_else_is_an_intervention(engine, driver):
    ref = driver.start()
    item = driver.item(ref, "investigate")
    engine.reassign("head_qian", item.id, "cm_li", "cm_wang is on a site visit all week", source="cli")
    driver.do(ref, "investigate", "cm_li")
    [handed] = _check(engine, ref).deviations
    assert (handed.kind, handed.step, handed.detail["action"], handed.detail["actor"]) == (
        "intervention", "investigate", "task_reassigned", "head_qian")
    assert handed.detail["reason"] == "cm_wang is on a site visit all week"
