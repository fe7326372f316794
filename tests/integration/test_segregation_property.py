"""Property: whatever random people with random extra grants try, through the engine, on random loans,
no loan ends up with a duty pair done by one person, the two signatures of a dual signature always come from two
people, no signature exceeds the signer's limit, every refused attempt left the loan exactly as it was, and once
every deadline has passed no open task waits without someone allowed to do it or an escalation."""
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.clock import ManualClock
from engine.store.db import Database, sqlite_url
from engine.errors import EngineError
from engine.store.models import DutyRecord, Loan, RoleGrant, User
from engine.store.schema import upgrade
from engine.simulation.staff import standard_team

from ..conftest import START
from .conftest import FORMS, SMALL
from .test_atomicity import snapshot

TEAM = [m.username for m in standard_team() if m.username not in ("admin", "auditor_xie", "designer_zheng")]
LANE_ROLES = ["customer_manager", "credit_reviewer", "risk_manager", "disbursement_reviewer", "accounting_operator",
              "collateral_custodian", "post_loan_manager", "post_loan_head"]
AMOUNTS = [800_000, 1_500_000, 2_900_000, 6_000_000]

extra_grants = st.lists(st.tuples(st.sampled_from(TEAM), st.sampled_from(LANE_ROLES),
                                  st.sampled_from([None, 500_000, 2_000_000, 5_000_000])), min_size=3, max_size=14)
# (loan, which of the people holding the task's role tries it, claim or complete, whom a form names)
actions = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 50), st.sampled_from(["complete", "complete", "claim"]),
                             st.sampled_from(TEAM)), min_size=20, max_size=90)


def expand(policy, names):
    out = set()
    for name in names:
        out |= set(policy.groups.get(name, {name}))
    return out


def violations(engine, session):
    policy, found = engine.policy, []
    for loan in session.scalars(select(Loan)):
        acts = session.scalars(select(DutyRecord).where(DutyRecord.loan_id == loan.id)).all()
        people = {}
        for act in acts:
            for person in {act.username, act.on_behalf_of} - {None}:
                people.setdefault(person, []).append(act)
        acts_by_person = {p: {a.duty for a in person_acts} | ({"originate"} if p == loan.originator else set())
                          for p, person_acts in people.items()}
        for rule in policy.pairs:
            if rule.scope != "loan":
                continue
            a, b = expand(policy, rule.a), expand(policy, rule.b)
            for person, duties in acts_by_person.items():
                if duties & a and duties & b and not (duties & a == duties & b and len(duties & a) == 1):
                    found.append((loan.reference, rule.id, person, sorted(duties)))
        signers = [a.username for a in acts if a.bpmn_id in ("sign_business", "sign_risk")]
        if len(signers) != len(set(signers)):
            found.append((loan.reference, "SOD-13", signers))
        for act in acts:
            if act.bpmn_id == "sign_risk":
                grants = session.scalars(select(RoleGrant).join(User).where(
                    User.username == act.username, RoleGrant.role == "risk_manager")).all()
                exposure = max(loan.amount, Decimal(str(loan.application.get("group_exposure") or 0)))
                if not any(g.limit is not None and g.limit >= exposure for g in grants):
                    found.append((loan.reference, "limit", act.username, str(exposure)))
    return found


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grants=extra_grants, amounts=st.lists(st.sampled_from(AMOUNTS), min_size=3, max_size=3), steps=actions)
def test_random_people_never_break_a_pair_or_a_limit(grants, amounts, steps):
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "prop.sqlite")
        db = Database(url)
        upgrade(db)
        db.dispose()
        clock = ManualClock(START)
        engine = build_engine(url, clock=clock)
        try:
            engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
            engine.add_people(standard_team(), None)
            for username, role, limit in grants:
                engine.grant_role(username, role, "BJ01", Decimal(limit) if limit else None)
            refs = [engine.start_loan("cm_wang" if i % 2 else "cm_li", {**SMALL, "amount": amount}, source="cli")
                    for i, amount in enumerate(amounts)]
            for loan_index, chooser, action, picked in steps:
                ref = refs[loan_index]
                items = engine.loan_items(ref)
                if not items:
                    clock.advance(days=20)
                    engine.tick()
                    continue
                item = items[chooser % len(items)]
                holders = engine.users_with_role(item.role, "BJ01")
                user = item.candidate_user if item.candidate_user and chooser % 3 else holders[chooser % len(holders)]
                before = snapshot(engine, ref)
                data = {k: (picked if k == "post_loan_manager" else v) for k, v in FORMS.get(item.bpmn_id, {}).items()}
                if item.bpmn_id == "assign_post_loan_manager":
                    data = {"post_loan_manager": picked}
                try:
                    if action == "claim":
                        engine.claim(user, item.id)
                    else:
                        engine.complete(user, item.id, data)
                except EngineError:
                    assert snapshot(engine, ref) == before
            with engine.db.reading() as session:
                assert violations(engine, session) == []
            clock.advance(days=30)  # every deadline passes: nothing may wait in silence
            engine.tick()
            for ref in refs:
                for item in engine.loan_items(ref):
                    assert engine.candidates(item.id) or item.escalation, (ref, item.bpmn_id)
        finally:
            engine.db.dispose()
