"""What the accountability desk costs with many loans in the register: the register's list (every loan's summary)
and the two export digests the desk page shows (every loan's full register), against the floor of reading the same
rows (the loans, their task completions, their duty records) with one statement each and building nothing.
Each loan carries six accountable duties and their completions. Figures only; nothing here fails on a timing.

    python bench/register_desk.py [--loans 1000] [--runs 5] [--postgres URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, insert, select  # noqa: E402

from engine.bootstrap import build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.queries.register import BAD_CLASSES  # noqa: E402
from engine.store.models import AuditEvent, DutyRecord, Loan  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine_steps import run_on_both  # noqa: E402

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
DUTIES = (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"), ("approve", "risk_liu"),
          ("execute_payment", "acct_ma"), ("lead_inspection", "plm_guo"))


def seed(engine, loans: int) -> None:
    """`loans` substandard loans, each with its six duty records and their task completions (bulk, untimed)."""
    with engine.db.transaction() as session:
        session.execute(insert(Loan.__table__), [dict(
            reference=f"L-2026-{n:06d}", borrower=f"Borrower {n}", product="working_capital", amount=1_000_000,
            currency="CNY", branch="BJ01", originator="cm_wang", loan_type="new", stage="post_loan",
            classification="substandard", status="disbursed", application={}, created_at=NOW, updated_at=NOW,
            disbursed_at=NOW) for n in range(1, loans + 1)])
        ids = {ref: loan_id for ref, loan_id in session.execute(select(Loan.reference, Loan.id))}
        records, events = [], []
        for ref, loan_id in ids.items():
            for k, (duty, user) in enumerate(DUTIES):
                at = NOW - timedelta(days=60 - k)
                records.append(dict(loan_id=loan_id, instance_id=None, username=user, duty=duty,
                                    process_id="origination", bpmn_id=duty, subject="s", performed_at=at))
                events.append(dict(occurred_at=at, action="task_completed", outcome="done", loan_ref=ref,
                                   process_id="origination", step=duty, step_name=duty, actor=user, role="r",
                                   source="cli", detail={"duty": duty, "after": {"decision": "approve",
                                                                                 "reason": "Within my limit."}},
                                   prev_hash="0" * 64, hash="0" * 64))
        session.execute(insert(DutyRecord.__table__), records)
        session.execute(insert(AuditEvent.__table__), events)


def floor(engine) -> None:
    """The same rows, one statement each, nothing built."""
    with engine.db.reading() as session:
        refs = list(session.scalars(select(Loan.reference).where(Loan.classification.in_(BAD_CLASSES))))
        session.execute(select(Loan).where(Loan.reference.in_(refs))).all()
        session.execute(select(AuditEvent.__table__).where(AuditEvent.action == "task_completed")).all()
        session.execute(select(DutyRecord.__table__)).all()


def timed(label: str, action, runs: int, statements: list) -> float:
    samples, counts = [], []
    for _ in range(runs):
        statements.clear()
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
        counts.append(len(statements))
    median = statistics.median(samples) * 1000
    print(f"{label:<44} median {median:8.1f} ms   {counts[-1]:6d} statements")
    return median


def run_on(label: str, url: str, args) -> None:
    engine = build_engine(url, clock=ManualClock(NOW))
    upgrade(engine.db)
    seed(engine, args.loans)
    statements: list[str] = []
    event.listen(engine.db.engine, "before_cursor_execute", lambda *_a: statements.append(""))
    print(f"== {label}: {args.loans:,} loans in the register, {len(DUTIES)} duties each")
    base = timed("floor: the same rows, one statement each", lambda: floor(engine), args.runs, statements)
    listed = timed("register list (every loan's summary)", engine.register_loans, args.runs, statements)
    digests = timed("both export digests (every loan's register)",
                    lambda: engine.register_digests(("csv", "json")), args.runs, statements)
    print(f"ratio list/floor = {listed / base:.2f}   digests/floor = {digests / base:.2f}")
    engine.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server (a scratch database is made)")
    run_on_both(run_on, parser.parse_args(), "register")


if __name__ == "__main__":
    main()
