"""A loan's whole life leaves the trail compliance needs: every step, person, rule, datum and source, in order."""
from __future__ import annotations

import pytest

from engine.audit.chain import verify_chain
from engine.audit.search import EventFilter, iter_events
from engine.audit.trace import heatmap, loan_trace
from engine.audit.segregation import segregation_report
from engine.access import PolicyDenied

from .conftest import FORMS


def _small_loan_lifecycle(engine, driver, clock) -> str:
    """Dual signature with one refusal, disbursement, post-loan with a timer, an inspection, repayment, archive."""
    engine.grant_role("cm_wang", "risk_manager", "BJ01", limit=5_000_000)  # a customer manager with a risk grant
    ref = driver.start()
    driver.do(ref, "investigate", "cm_wang")
    review = driver.item(ref, "review")
    engine.claim("rev_zhou", review.id, source="cli")
    engine.release("rev_zhou", review.id, source="cli")
    engine.claim("rev_chen", review.id, source="cli")
    driver.do(ref, "review", "rev_chen")
    driver.do(ref, "sign_business", "cm_wang")  # the originator's business signature
    with pytest.raises(PolicyDenied):
        driver.do(ref, "sign_risk", "cm_wang")  # the investigator may not approve (SOD-01)
    driver.do(ref, "sign_risk", "risk_liu")
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    clock.advance(days=15, minutes=1)
    assert engine.tick() == 1
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="watch")
    assert engine.send_message(ref, "loan_repaid", {"repaid_on": "2027-06-30"}, actor="acct_ma") == 1
    driver.do(ref, "review_closure", "plh_luo")
    driver.do(ref, "archive_file", "plm_guo")
    return ref


@pytest.fixture
def trail(engine, driver, clock):
    ref = _small_loan_lifecycle(engine, driver, clock)
    with engine.db.reading() as session:
        return ref, loan_trace(session, ref)


def _index(events, action, step=None):
    return next(n for n, e in enumerate(events) if e.action == action and (step is None or e.step == step))


def test_the_people_and_their_tasks_in_order(trail):
    _ref, trace = trail
    people = [(e.action, e.step, e.actor, e.role) for e in trace.events
              if e.action in ("loan_created", "task_completed", "refused")]
    assert people == [
        ("loan_created", None, "cm_wang", "customer_manager"),
        ("task_completed", "investigate", "cm_wang", "customer_manager"),
        ("task_completed", "review", "rev_chen", "credit_reviewer"),
        ("task_completed", "sign_business", "cm_wang", "customer_manager"),
        ("refused", "sign_risk", "cm_wang", "risk_manager"),
        ("task_completed", "sign_risk", "risk_liu", "risk_manager"),
        ("task_completed", "prepare_contract", "cm_wang", "customer_manager"),
        ("task_completed", "register_collateral", "coll_hu", "collateral_custodian"),
        ("task_completed", "review_disbursement", "disb_xu", "disbursement_reviewer"),
        ("task_completed", "execute_payment", "acct_ma", "accounting_operator"),
        ("task_completed", "assign_post_loan_manager", "plh_luo", "post_loan_head"),
        ("task_completed", "lead_inspection", "plm_guo", "post_loan_manager"),
        ("task_completed", "assist_inspection", "cm_wang", "customer_manager"),
        ("task_completed", "review_inspection_report", "plh_luo", "post_loan_head"),
        ("task_completed", "review_closure", "plh_luo", "post_loan_head"),
        ("task_completed", "archive_file", "plm_guo", "post_loan_manager"),
    ]


def test_claims_and_releases_are_events(trail):
    _ref, trace = trail
    taken = [(e.action, e.actor, e.role, e.step) for e in trace.events if e.action in ("task_claimed", "task_released")]
    assert taken == [("task_claimed", "rev_zhou", "credit_reviewer", "review"),
                     ("task_released", "rev_zhou", "credit_reviewer", "review"),
                     ("task_claimed", "rev_chen", "credit_reviewer", "review")]


def test_every_task_is_started_before_it_is_completed_with_its_lane_role(trail):
    _ref, trace = trail
    events = trace.events
    for n, e in enumerate(events):
        if e.action == "task_completed":
            started = [s for s in events[:n] if s.action == "task_started" and s.step == e.step
                       and s.instance_id == e.instance_id]
            assert started and started[-1].role == e.role and started[-1].detail["task_id"]


def test_every_form_is_recorded_before_and_after_field_by_field(trail):
    _ref, trace = trail
    completed = [e for e in trace.events if e.action == "task_completed"]
    assert len(completed) == 14
    for e in completed:
        submitted = FORMS[e.step] if e.step != "assign_post_loan_manager" else {"post_loan_manager": "plm_guo"}
        expected = {**submitted, **({"disposition": "watch"} if e.step == "review_inspection_report" else {})}
        assert set(e.detail["before"]) == set(e.detail["after"]) == set(expected), e.step
        assert {k: str(v) for k, v in e.detail["after"].items()} == {k: str(v) for k, v in expected.items()}, e.step
        assert e.detail["duty"]
    investigate = completed[0]
    assert investigate.detail["before"] == {"findings": None, "repayment_source": None, "recommendation": None}
    review_report = next(e for e in completed if e.step == "review_inspection_report")
    assert (review_report.detail["before"]["disposition"], review_report.detail["after"]["disposition"]) == \
        (None, "watch")


def test_a_reclassification_is_proposed_approved_and_changes_the_loan(engine, driver, clock):
    ref = driver.start()
    driver.through_approval_dual(ref)
    driver.through_disbursement(ref)
    driver.do(ref, "assign_post_loan_manager", "plh_luo", post_loan_manager="plm_guo")
    clock.advance(days=15, minutes=1)
    assert engine.tick() == 1
    driver.do(ref, "lead_inspection", "plm_guo")
    driver.do(ref, "assist_inspection", "cm_wang")
    driver.do(ref, "review_inspection_report", "plh_luo", disposition="reclassify", classification="special_mention",
              remarks="Sales fell by 40%.")
    driver.do(ref, "approve_classification", "cro_gao", approval="approve", classification="special_mention",
              approval_reason="Agreed.")
    with engine.db.reading() as session:
        events = loan_trace(session, ref).events
    proposed = _index(events, "message_thrown", "classification_proposed")
    started = next(n for n, e in enumerate(events) if e.action == "instance_started" and e.process_id == "classification")
    floor = _index(events, "step_completed", "determine_floor")
    approved = _index(events, "task_completed", "approve_classification")
    updated = _index(events, "loan_updated")
    assert _index(events, "task_completed", "review_inspection_report") < proposed < started < floor < approved < updated
    assert events[floor].detail["kind"] == "decision" and events[floor].detail["inputs"]["days_overdue"] == 0
    change = events[updated]
    assert (change.actor, change.step, change.process_id) == ("cro_gao", "approve_classification", "classification")
    assert change.detail == {"field": "classification", "before": "normal", "after": "special_mention"}
    assert engine.loan(ref).classification == "special_mention"
    caught = _index(events, "step_completed", "classification_changed")
    assert caught > updated and events[caught].process_id == "post_loan"


def test_decision_tables_record_their_inputs_and_result(trail):
    _ref, trace = trail
    events = trace.events
    tier = events[_index(events, "step_completed", "decide_tier")]
    assert tier.detail["kind"] == "decision" and tier.actor is None
    assert tier.detail["inputs"] == {"loan_type": "new", "group_exposure": "1500000"}
    assert tier.detail["changed"] == {"approval_tier": "dual_signature"}
    assert _index(events, "task_completed", "review") < _index(events, "step_completed", "decide_tier") < \
        _index(events, "task_started", "sign_business")
    payment = events[_index(events, "step_completed", "decide_payment_mode")]
    assert payment.detail["kind"] == "decision" and payment.detail["changed"] == {"entrusted_payment": False}
    assert payment.detail["inputs"]["amount"] == "1500000"


def test_gateways_and_scripts_are_steps_too(trail):
    _ref, trace = trail
    kinds = {e.step: e.detail.get("kind") for e in trace.events if e.action == "step_completed"}
    assert kinds["review_outcome"] == "ExclusiveGateway"
    assert kinds["contract_split"] == kinds["contract_join"] == "ParallelGateway"
    assert kinds["plan_inspections"] == "ScriptTask"
    script = next(e for e in trace.events if e.step == "plan_inspections")
    assert script.detail["changed"]["first_inspection_days"] == 15


def test_timers_fire_as_the_timer_source(trail):
    _ref, trace = trail
    events = trace.events
    fired = events[_index(events, "step_completed", "first_inspection_due")]
    assert (fired.detail["kind"], fired.source, fired.actor) == ("timer", "timer", None)
    after_tick = events[_index(events, "step_completed", "first_inspection_due"):_index(events, "task_completed",
                                                                                         "lead_inspection")]
    assert {e.source for e in after_tick} == {"timer"}
    assert {e.step for e in after_tick if e.action == "task_started"} == {"lead_inspection", "assist_inspection"}


def test_messages_between_processes_and_from_outside(trail):
    _ref, trace = trail
    events = trace.events
    thrown = _index(events, "message_thrown", "loan_disbursed")
    started = _index(events, "instance_started")
    post_loan = next(n for n, e in enumerate(events) if e.action == "instance_started" and e.process_id == "post_loan")
    assert started < thrown < post_loan
    assert events[post_loan].detail == {"message": "loan_disbursed"}
    received = events[_index(events, "message_received", "loan_repaid")]
    assert received.detail["payload"] == {"repaid_on": "2027-06-30"}
    caught = events[_index(events, "step_completed", "loan_repaid")]
    assert caught.instance_id == events[post_loan].instance_id


def test_the_refusal_names_rule_policy_version_and_the_conflicting_duty(engine, trail):
    _ref, trace = trail
    [refused] = [e for e in trace.events if e.action == "refused"]
    assert (refused.outcome, refused.rule, refused.policy_version) == ("denied", "SOD-01", engine.policy.version)
    assert refused.actor == "cm_wang" and refused.step == "sign_risk" and "SOD-01" in refused.reason
    assert refused.detail["attempted"] == "complete" and refused.detail["kind"] == "DutyConflict"
    assert refused.detail["conflicting"]["duty"] == "investigate"
    assert refused.detail["conflicting"]["user"] == "cm_wang"


def test_both_instances_start_and_end_with_what_became_of_the_loan(trail):
    _ref, trace = trail
    ends = [(e.process_id, e.step, e.detail.get("loan_status")) for e in trace.events
            if e.action == "instance_completed"]
    assert ends == [("origination", "disbursed", "disbursed"), ("post_loan", "archived", "closed")]
    assert [(i.process_id, i.completed, i.current) for i in trace.instances] == [
        ("origination", True, ()), ("post_loan", True, ())]
    origination = {s.step: s for s in trace.instances[0].steps}
    assert [p[0] for p in origination["sign_business"].performers] == ["cm_wang"]
    assert origination["decide_tier"].kind == "automatic"


def test_every_event_carries_time_source_and_policy_version(engine, trail):
    _ref, trace = trail
    for e in trace.events:
        assert e.occurred_at.tzinfo is not None and e.source in ("cli", "timer")
        assert e.policy_version == engine.policy.version
        if e.instance_id is not None:
            assert e.process_id in ("origination", "post_loan"), e


def test_every_event_on_an_instance_names_the_process_version(engine, trail):
    _ref, trace = trail
    missing = sorted({e.action for e in trace.events if (e.instance_id is not None or e.action == "loan_updated")
                      and (e.process_version is None or e.instance_id is None)})
    assert missing == []


def test_a_task_withdrawn_by_a_timer_is_recorded(engine, driver, clock):
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    members = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")
    for member in members:
        driver.do(ref, "committee_vote", member)
    clock.advance(hours=25)  # the chair lets the veto window pass
    assert engine.tick() == 1
    with engine.db.reading() as session:
        trace = loan_trace(session, ref)
    assert "chair_veto" not in trace.instances[0].current
    withdrawn = [e for e in trace.events if e.action == "task_cancelled"]
    assert [(e.step, e.role, e.actor) for e in withdrawn] == [("chair_veto", "committee_chair", None)]
    assert withdrawn[0].detail["task_id"] and withdrawn[0].process_version == 1


def test_committee_votes_are_by_name_and_the_heatmap_counts_them_once_per_instance(engine, driver, clock):
    ref = driver.start(amount=8_000_000)
    driver.do(ref, "investigate", "cm_wang")
    driver.do(ref, "assist_investigation", "cm_li")
    driver.do(ref, "review", "rev_chen")
    members = ["member1", "member2", "member3", "member4", "member5", "chair_huang"]
    driver.do(ref, "convene_committee", "chair_huang", committee_members=members, meeting_date="2026-11-10")
    for n, member in enumerate(members):
        clock.advance(hours=n + 1)
        driver.do(ref, "committee_vote", member)
    with engine.db.reading() as session:
        trace = loan_trace(session, ref)
        hm = heatmap(session, "origination", 1)
    votes = [e for e in trace.events if e.action == "task_completed" and e.step == "committee_vote"]
    assert sorted(e.actor for e in votes) == sorted(members)
    tally = next(e for e in trace.events if e.step == "tally_votes")
    assert tally.detail["changed"]["committee_result"]["outcome"] == "approved"
    vote = next(s for s in hm.steps if s.step == "committee_vote")
    assert (vote.kind, vote.instances, vote.completions) == ("user", 1, 6)
    waits = sorted(3600 * sum(range(1, n + 2)) for n in range(6))  # all six started together
    assert vote.median_seconds == (waits[2] + waits[3]) / 2
    steps = {s.step: s for s in trace.instances[0].steps}
    assert steps["committee_vote"].times == 6 and len(steps["committee_vote"].performers) == 6


def test_people_sign_ins_and_deployments_are_in_the_trail(engine, driver):
    assert engine.sign_in("nobody", "guess") is None
    with engine.db.reading() as session:
        actions = [e.action for e in iter_events(session)]
        deployed = list(iter_events(session, EventFilter(action="process_deployed")))
    assert {"process_deployed", "policy_deployed", "user_added", "role_granted", "sign_in_failed"} <= set(actions)
    assert {e.process_id for e in deployed} >= {"origination", "post_loan"}
    assert all(len(e.detail["sha256"]) == 64 and e.process_version == 1 for e in deployed)


def test_the_trail_of_a_real_lifecycle_verifies_and_has_no_violations(engine, trail):
    with engine.db.reading() as session:
        checked, broken = verify_chain(session)
        report = segregation_report(session, engine.policy)
    assert broken is None and checked > 100
    assert report.violations == ()
    assert [(g.key, g.count) for g in report.by_rule] == [("SOD-01", 1)]
