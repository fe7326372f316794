"""How fast is the inbox with 100,000 loans stored? Prints median and p95 of GET / and friends (no assertions).

    python bench/inbox_100k.py [--loans 100000] [--runs 40]

Loans, process instances and work items are bulk-inserted with SQLAlchemy Core into a fresh SQLite file (the
inbox reads only work_item and loan rows, so instance state is left empty); then the Flask test client signs in
and times the pages a credit officer opens all day.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.models import Loan, ProcessInstance, ProcessVersion, WorkItem  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine.simulation.staff import BRANCH, seed_team  # noqa: E402

PASSWORD = "bench-pass-2026"
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
# (bpmn id, name, role, duty, stage, assigned to the originator?) as the bundled origination process has them
STEPS = [("investigate", "调查借款人", "customer_manager", "investigate", "investigation", True),
         ("review", "审查授信材料", "credit_reviewer", "review", "review", False),
         ("sign_business", "审批签字(业务)", "customer_manager", "sign_business", "approval", True),
         ("sign_risk", "审批签字(风险)", "risk_manager", "approve", "approval", False),
         ("register_collateral", "押品登记", "collateral_custodian", "register_collateral", "contract", False),
         ("review_disbursement", "审核放款条件", "disbursement_reviewer", "review_disbursement",
          "disbursement", False)]
BRANCHES = [BRANCH] + [f"B{n:03d}" for n in range(1, 40)]  # most loans belong to other branches


def populate(url: str, count: int) -> None:
    engine = build_engine(url, clock=ManualClock(NOW))
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    seed_team(engine, PASSWORD)
    managers = engine.users_with_role("customer_manager", BRANCH)
    rng = random.Random(5)
    with engine.db.transaction() as session:
        version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == "origination"))
        conn = session.connection()
        for start in range(0, count, 5000):
            loans, instances, items = [], [], []
            for n in range(start + 1, min(count, start + 5000) + 1):
                branch = BRANCH if rng.random() < 0.05 else rng.choice(BRANCHES[1:])
                originator = rng.choice(managers) if branch == BRANCH else f"cm_{branch.lower()}"
                created = NOW - timedelta(hours=rng.randint(1, 24 * 90))
                step = rng.choice(STEPS) if rng.random() < 0.6 else None
                loans.append(dict(id=n, reference=f"L-2026-{n:06d}", borrower=f"Borrower {n} Co., Ltd.",
                                  product="working_capital", amount=Decimal(rng.randrange(200_000, 9_000_000, 10_000)),
                                  currency="CNY", branch=branch, originator=originator, loan_type="new",
                                  stage=step[4] if step else "post_loan", classification="normal",
                                  status="active" if step else "disbursed", application={}, created_at=created,
                                  updated_at=created))
                instances.append(dict(id=n, loan_id=n, process_version_id=version_id,
                                      status="running", state="", created_at=created, updated_at=created, version=1))
                if step:
                    bpmn_id, name, role, duty, stage, assigned = step
                    items.append(dict(instance_id=n, loan_id=n, task_id=f"00000000-0000-0000-0000-{n:012d}",
                                      bpmn_id=bpmn_id, name=name, process_id="origination", role=role, duty=duty,
                                      stage=stage, branch=branch, candidate_user=originator if assigned else None,
                                      claimed_by=None, created_at=created,
                                      due_at=created + timedelta(days=3)))
            conn.execute(insert(Loan.__table__), loans)
            conn.execute(insert(ProcessInstance.__table__), instances)
            if items:
                conn.execute(insert(WorkItem.__table__), items)
    engine.db.dispose()


def timed(client, path: str, runs: int) -> tuple[float, float, int]:
    client.get(path)  # warm up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)], len(response.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    from webapp import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = sqlite_url(Path(folder) / "bench.sqlite")
        started = time.perf_counter()
        populate(url, args.loans)
        print(f"stored {args.loans:,} loans with their work items in {time.perf_counter() - started:.1f} s")
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "CLOCK": ManualClock(NOW)})
        engine = app.extensions["creditflow"]
        print(f"work items: {engine.count(WorkItem):,}")
        for username, paths in (("cm_wang", ["/", "/?kind=available", "/?kind=done", "/?overdue=1"]),
                                ("rev_chen", ["/?kind=available", "/?kind=available&stage=review"])):
            client = app.test_client()
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/auth/login").text)
            client.post("/auth/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
            for path in paths:
                median, p95, size = timed(client, path, args.runs)
                print(f"GET {path:<36} as {username:<9} median {median:7.1f} ms   p95 {p95:7.1f} ms   ({size:,} bytes)")
        engine.db.dispose()


if __name__ == "__main__":
    main()
