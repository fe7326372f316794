"""`creditflow demo --no-serve`: database, processes, one user per role, a dozen loans at different stages."""
from __future__ import annotations

import re

from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.bootstrap import build_engine
from engine.store.db import sqlite_url
from engine.store.models import AuditEvent, WorkItem
from webapp.cli import DEMO_PASSWORD, main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One seeded demo database for the module (seeding takes seconds): its URL and the first run's output."""
    url = sqlite_url(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    result = CliRunner().invoke(main, ["--database", url, "demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    return url, result.output


@pytest.fixture
def engine(demo):
    eng = build_engine(demo[0])
    yield eng
    eng.db.dispose()


def test_demo_seeds_a_bank_with_work_in_every_inbox(demo, engine):
    output = demo[1]
    assert DEMO_PASSWORD in output and "cm_wang" in output and "risk_liu" in output
    refs = [line.split()[0] for line in output.splitlines() if line.strip().startswith("L-")]
    assert len(refs) == 12
    loans = [engine.loan(ref) for ref in refs]
    stages = {loan.stage for loan in loans}
    assert {"investigation", "review", "approval", "contract", "disbursement"} <= stages
    assert any(loan.status == "rejected" for loan in loans)
    disbursed = [loan for loan in loans if loan.status == "disbursed"]
    assert disbursed and any(i.process_id == "post_loan" and i.status == "running" for i in disbursed[0].instances)
    for user in ("cm_wang", "rev_chen", "risk_liu"):
        mine, available = engine.inbox(user, "mine")[1], engine.inbox(user, "available")[1]
        assert mine + available > 0, user
    first = re.search(r"Sign in first as (\w+): a customer manager with tasks waiting", output).group(1)
    assert engine.inbox(first, "mine")[1] > 0 and first in engine.users_with_role("customer_manager")
    assert engine.sign_in(first, DEMO_PASSWORD) is not None


def test_seeded_history_lies_in_the_past_so_real_work_comes_after_it(engine):
    engine.sign_in("rev_chen", DEMO_PASSWORD)  # a real action, on the real clock
    now = datetime.now(timezone.utc)
    with engine.db.reading() as session:
        events = session.execute(select(AuditEvent.occurred_at, AuditEvent.action).order_by(AuditEvent.id)).all()
        created = session.scalars(select(WorkItem.created_at)).all()
    assert created and max(created) <= now
    assert max(e.occurred_at for e in events) <= now
    times = [e.occurred_at for e in events]
    assert times == sorted(times), "the audit trail goes back in time"
    assert events[-1].action == "signed_in"
    assert events[0].action in ("policy_deployed", "process_deployed")  # processes deployed where the history starts


def test_a_second_run_seeds_nothing_and_says_again_who_to_sign_in_as(demo):
    url, first = demo
    again = CliRunner().invoke(main, ["--database", url, "demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "nothing was seeded" in again.output and "L-20" not in again.output
    assert "--password" in again.output and DEMO_PASSWORD in again.output

    def roles(output):
        return [line for line in output.splitlines() if re.match(r"  [a-z_]+ +\w", line)]  # role, then its people
    assert roles(again.output) == roles(first)
    assert any(line.split()[:2] == ["customer_manager", "cm_li,"] for line in roles(again.output))
    sentence = re.search(r"Sign in first as \w+: a customer manager with tasks waiting\.", first).group(0)
    assert again.output.rstrip().endswith(sentence)


def test_the_demo_feed_brings_in_a_portfolio_with_loans_past_due(demo, engine):
    assert "CB-2025-0112" in demo[1] and "CB-2026-0031" in demo[1]
    late = engine.loan("CB-2025-0112")
    assert late.account.days_past_due == 95 and late.stage == "collection"
    running = {i.process_id for i in late.instances if i.status == "running"}
    assert {"post_loan", "collection", "classification", "risk_warning"} <= running
    current = engine.loan("CB-2026-0031")
    assert {i.process_id for i in current.instances if i.status == "running"} == {"post_loan"}
    refs = [line.split()[0] for line in demo[1].splitlines() if line.strip().startswith("L-")]
    ours = [engine.loan(ref) for ref in refs if engine.loan(ref).status == "disbursed"]
    assert ours and all(loan.account is not None and loan.account.days_past_due == 0 for loan in ours)
