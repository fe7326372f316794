"""Throughput with K worker processes on one PostgreSQL: does it rise with K up to the core count?

Each worker is a separate process with its own engine (its own caches, as a gunicorn worker), starting its own
loans and completing their origination tasks through the engine API for a fixed time. Printed per K: task
completions per second, p50/p95 latency, conflicts (a command that lost a race and was refused cleanly), and
the check that nothing was doubled or lost (every completion is one audit event and one duty record).
Figures only: nothing here fails on a timing.

    python bench/scale_out.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--k 1,2,4,8]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select  # noqa: E402

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.errors import ConcurrentChange  # noqa: E402
from engine.simulation.documents import attach_required  # noqa: E402
from engine.store.models import AuditEvent, DutyRecord  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine_steps import SMALL_LOAN, StraightPath, scratch_postgres  # noqa: E402


def worker(url: str, seconds: float, seed: int, out) -> None:
    os.environ.setdefault("CREDITFLOW_LOG_LEVEL", "WARNING")
    import logging
    logging.getLogger("creditflow").setLevel(logging.WARNING)
    clock = ManualClock()
    engine = build_engine(url, clock=clock)
    sim = StraightPath(engine, clock, seed=seed)
    latencies, conflicts = [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        ref = engine.start_loan(sim.customer_managers[seed % len(sim.customer_managers)], dict(SMALL_LOAN),
                                source="cli")
        while time.perf_counter() < deadline:
            items = [i for i in engine.loan_items(ref) if i.process_id == "origination"]
            if not items:
                break
            item = items[0]
            actor = item.candidate_user or engine.candidates(item.id)[0]
            data = sim.form_data(engine.task(actor, item.id).form, item)
            if "payment_amount" in data:
                data.update(payment_amount=float(item.amount), further_drawdown=False, currency="CNY")
                if "counterparty_account" in data:
                    data["counterparty_account"] = "6222000011112222"
            try:
                attach_required(engine, actor, item.id)  # outside the timed part
            except ConcurrentChange:
                conflicts += 1
                continue
            started = time.perf_counter()
            try:
                engine.complete(actor, item.id, data, source="cli")
            except ConcurrentChange:
                conflicts += 1
                continue
            latencies.append(time.perf_counter() - started)
    engine.db.dispose()
    out.put((latencies, conflicts))


def run(url: str, k: int, seconds: float) -> None:
    engine = build_engine(url)
    with engine.db.reading() as session:
        events_before = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed"))
        duties_before = session.scalar(select(func.count()).select_from(DutyRecord).where(DutyRecord.duty != "originate"))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, seconds, n + 1, out)) for n in range(k)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = [ms * 1000 for lat, _c in results for ms in lat]
    conflicts = sum(c for _l, c in results)
    with engine.db.reading() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed")) - events_before
        duties = session.scalar(select(func.count()).select_from(DutyRecord).where(DutyRecord.duty != "originate")) - duties_before
    engine.db.dispose()
    done = len(latencies)
    print(f"K={k}: {done / seconds:7.1f} completions/s   p50 {statistics.median(latencies):6.1f} ms   "
          f"p95 {sorted(latencies)[int(0.95 * done)]:6.1f} ms   conflicts {conflicts}   "
          f"audit {events} / duty records {duties} for {done} completions"
          f"{'' if events == done == duties else '  MISMATCH'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, metavar="URL", help="a PostgreSQL server (a scratch database)")
    parser.add_argument("--k", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; own loans, origination tasks, {args.seconds:g} s per run")
    with scratch_postgres(args.postgres) as url:
        engine = build_engine(url)
        upgrade(engine.db)
        engine.deploy([BUNDLED_BPMN])
        StraightPath(engine, ManualClock(), seed=0)  # the staff
        engine.db.dispose()
        for k in [int(n) for n in args.k.split(",")]:
            run(url, k, args.seconds)


if __name__ == "__main__":
    main()
