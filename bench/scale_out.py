"""Throughput with K worker processes on one PostgreSQL: does it rise with K up to the core count?

Each worker is a separate process with its own engine (its own caches, as a gunicorn worker), starting its own
loans and completing their origination tasks through the engine API for a fixed time. Printed per K: task
completions per second, p50/p95 latency, conflicts (a command that lost a race and was refused cleanly), and
the check that nothing was doubled or lost (every completion is one audit event and one duty record).
With `--http`, the same again as a deployment runs it: gunicorn with K workers serving the web app, and K client
processes completing the tasks through `POST /api/v1/tasks/{id}/complete` with each performer's bearer token (the
clients pick the performer and the form data with their own engine, outside the timed part).
Figures only: nothing here fails on a timing.

    python bench/scale_out.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--k 1,2,4,8] [--http]
                              [--shared 40]
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select  # noqa: E402

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.errors import ConcurrentChange, NotAllowed, NotFound  # noqa: E402
from engine.simulation.documents import attach_required  # noqa: E402
from engine.store.models import AuditEvent, DutyRecord  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine_steps import SMALL_LOAN, StraightPath, scratch_postgres  # noqa: E402


class Api:
    """A keep-alive HTTP client for the JSON API; `complete` returns the status code."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def complete(self, token: str, item_id: int, data: dict) -> int:
        body = json.dumps({"data": data})
        self.conn.request("POST", f"/api/v1/tasks/{item_id}/complete", body=body,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = self.conn.getresponse()
        response.read()
        return response.status


def worker(url: str, seconds: float, seed: int, out, port: int | None = None, tokens: dict | None = None,
           shared: list[str] | None = None) -> None:
    """Own loans: start one, complete its tasks in turn, start the next. Shared loans: one task on each loan of a
    common list in turn, so the K workers collide on the same loans (a loser is refused cleanly: a conflict)."""
    os.environ.setdefault("CREDITFLOW_LOG_LEVEL", "WARNING")
    import logging
    logging.getLogger("creditflow").setLevel(logging.WARNING)
    clock = ManualClock()
    engine = build_engine(url, clock=clock)
    sim = StraightPath(engine, clock, seed=seed)
    api = Api(port) if port else None
    latencies, conflicts = [], 0
    deadline = time.perf_counter() + seconds
    turn = seed
    ref = None
    while time.perf_counter() < deadline:
        if shared is not None:
            turn += 1
            ref = shared[turn % len(shared)]
        elif ref is None:
            ref = engine.start_loan(sim.customer_managers[seed % len(sim.customer_managers)], dict(SMALL_LOAN),
                                    source="cli")
        items = [i for i in engine.loan_items(ref) if i.process_id == "origination"]
        if not items:
            ref = None
            continue
        item = items[0]
        try:
            actor = item.candidate_user or engine.candidates(item.id)[0]
            data = sim.form_data(engine.task(actor, item.id).form, item)
            if "payment_amount" in data:
                data.update(payment_amount=float(item.amount), further_drawdown=False, currency="CNY")
                if "counterparty_account" in data:
                    data["counterparty_account"] = "6222000011112222"
            attach_required(engine, actor, item.id)  # outside the timed part
        except (ConcurrentChange, NotFound, NotAllowed, IndexError):  # someone else moved this loan meanwhile
            conflicts += 1
            continue
        started = time.perf_counter()
        if api is not None:
            status = api.complete(tokens[actor], item.id, data)
            if status in (403, 404, 409):
                conflicts += 1
                continue
            assert status == 200, (status, item.bpmn_id)
        else:
            try:
                engine.complete(actor, item.id, data, source="cli")
            except (ConcurrentChange, NotFound, NotAllowed):
                conflicts += 1
                continue
        latencies.append(time.perf_counter() - started)
    engine.db.dispose()
    out.put((latencies, conflicts))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn(url: str, k: int, port: int) -> subprocess.Popen:
    """The web app under gunicorn with K workers, ready when /healthz answers."""
    env = {**os.environ, "CREDITFLOW_DATABASE_URL": url, "CREDITFLOW_SECRET_KEY": "bench-secret",
           "CREDITFLOW_LOG_LEVEL": "WARNING", "CREDITFLOW_INSTANCE_PATH": "/tmp/creditflow-bench-instance"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(k), "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "webapp.wsgi:app"], env=env,
                              cwd=str(Path(__file__).resolve().parent.parent))
    for _ in range(200):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz")


def run(url: str, k: int, seconds: float, http_mode: bool = False, shared_loans: int = 0) -> None:
    engine = build_engine(url)
    shared = None
    if shared_loans:
        sim = StraightPath(engine, ManualClock(), seed=0)
        shared = [engine.start_loan(sim.customer_managers[n % len(sim.customer_managers)], dict(SMALL_LOAN),
                                    source="cli") for n in range(shared_loans)]
    with engine.db.reading() as session:
        events_before = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed"))
        duties_before = session.scalar(select(func.count()).select_from(DutyRecord).where(DutyRecord.duty != "originate"))
    port, server, tokens = None, None, None
    if http_mode:
        tokens = {name: engine.issue_token(name) for name in engine.usernames()}
        port = free_port()
        server = gunicorn(url, k, port)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, seconds, n + 1, out, port, tokens, shared)) for n in range(k)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    if server is not None:
        server.terminate()
        server.wait(timeout=30)
    latencies = [ms * 1000 for lat, _c in results for ms in lat]
    conflicts = sum(c for _l, c in results)
    with engine.db.reading() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "task_completed")) - events_before
        duties = session.scalar(select(func.count()).select_from(DutyRecord).where(DutyRecord.duty != "originate")) - duties_before
    engine.db.dispose()
    done = len(latencies)
    label = ("gunicorn " if http_mode else "") + ("shared " if shared else "own ")
    print(f"{label:<16}K={k}: {done / seconds:7.1f} completions/s   p50 {statistics.median(latencies):6.1f} ms   "
          f"p95 {sorted(latencies)[int(0.95 * done)]:6.1f} ms   conflicts {conflicts}   "
          f"audit {events} / duty records {duties} for {done} completions"
          f"{'' if events == done == duties else '  MISMATCH'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, metavar="URL", help="a PostgreSQL server (a scratch database)")
    parser.add_argument("--k", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--http", action="store_true", help="also through gunicorn and HTTP clients")
    parser.add_argument("--shared", type=int, default=0, metavar="N",
                        help="also with every worker taking turns on the same N loans (contention)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; own loans, origination tasks, {args.seconds:g} s per run")
    with scratch_postgres(args.postgres) as url:
        engine = build_engine(url)
        upgrade(engine.db)
        engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
        StraightPath(engine, ManualClock(), seed=0)  # the staff
        engine.db.dispose()
        for k in [int(n) for n in args.k.split(",")]:
            run(url, k, args.seconds)
        if args.http:
            for k in [int(n) for n in args.k.split(",")]:
                run(url, k, args.seconds, http_mode=True)
        if args.shared:
            for k in [int(n) for n in args.k.split(",")]:
                run(url, k, args.seconds, shared_loans=args.shared)


if __name__ == "__main__":
    main()
