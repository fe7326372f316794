"""Per-step cost of the engine against the honest floor, on SQLite and PostgreSQL.

The floor is the cheapest way to do the same durable work: per step, read the state row, restore the workflow
with the spec-free serializer (the spec from memory), complete the task, run the automatic steps, serialize
without the spec, update the row and commit. The headline is the engine *cold* (every step restores the workflow
from its row, as a deployment with several worker processes and hours between a loan's tasks does); the warm
figure (the workflow kept in this process) is printed beside it. The variants alternate loan by loan in one run,
so they see the same machine. Figures only: nothing here fails on a timing.

    python bench/engine_steps.py [--loans 30] [--stored 1000,10000] [--postgres URL]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import (Column, Integer, MetaData, Table, Text, create_engine, insert, select,  # noqa: E402
                        text)

from engine.application import validate_application  # noqa: E402
from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.models import Loan, ProcessInstance, WorkItem  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine.runtime.execution import PROCESS_PARAMETERS  # noqa: E402
from engine.runtime.live import LiveWorkflows  # noqa: E402
from engine.runtime.serialization import StateSerializer  # noqa: E402
from engine.simulation.documents import attach_required  # noqa: E402
from engine.simulation.driver import Simulation  # noqa: E402

SMALL_LOAN = {"borrower": "Bench Co.", "product": "working_capital", "amount": 1_500_000, "term_months": 12}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def floor(loans: int, sim: Simulation, params: dict, db) -> list[float]:
    """The honest floor: per step one row read, deserialize (spec-free), complete, serialize, update, commit."""
    engine = sim.engine
    loaded = _latest_loaded(engine)
    spec, subs = loaded.spec, loaded.subprocess_specs
    serializer = StateSerializer()
    script_engine = engine.kernel.script_engine
    forms = loaded.user_tasks
    timings = []
    for n in range(loans):
        wf = BpmnWorkflow(spec, subs, script_engine=script_engine)
        application = validate_application(dict(SMALL_LOAN))
        application["group_exposure"] = application["amount"]  # what the engine computes for a borrower with no identifier
        wf.task_tree.data.update({**params, **application, "branch": "BJ01", "loan_id": f"L-FLOOR-{n}",
                                  "originator": sim.customer_managers[0]})
        for t in wf.get_tasks():
            t.data.update(wf.task_tree.data)
        wf.do_engine_steps()
        with db.begin() as conn:
            row_id = conn.execute(FLOOR.insert().values(state=serializer.dumps(wf))).inserted_primary_key[0]
        while True:
            with db.begin() as conn:  # what the person types is ready before the step, as on our side
                wf = serializer.loads(conn.execute(select(FLOOR.c.state).where(FLOOR.c.id == row_id)).scalar_one(),
                                      spec, subs)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            data = sim.form_data(forms[ready[0].task_spec.name].form, _Item(SMALL_LOAN["amount"]))
            if "payment_amount" in data:  # what the engine adds after checking a payment: one drawdown, all of it
                data.update(currency="CNY", further_drawdown=False, drawdowns_paid=1, undrawn=0)
            started = time.perf_counter()
            with db.begin() as conn:
                state = conn.execute(select(FLOOR.c.state).where(FLOOR.c.id == row_id)).scalar_one()
                wf = serializer.loads(state, spec, subs)
                wf.script_engine = script_engine
                task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                task.data.update({**data, "completed_by": "bench_user"})
                task.run()
                wf.refresh_timers()
                wf.do_engine_steps()
                conn.execute(FLOOR.update().where(FLOOR.c.id == row_id).values(state=serializer.dumps(wf)))
            timings.append(time.perf_counter() - started)
    return timings


FLOOR = Table("bench_floor_state", MetaData(), Column("id", Integer, primary_key=True), Column("state", Text))


def _latest_loaded(engine):
    from engine.store.models import ProcessVersion
    with engine.db.reading() as session:
        return engine.workflows.loaded(session.scalar(select(ProcessVersion).where(
            ProcessVersion.process_id == "origination").order_by(ProcessVersion.version.desc())))


class StraightPath(Simulation):
    """The same path for every variant: each choice takes the first (approving) option."""

    def value(self, name: str, prop: dict, item):
        return prop["enum"][0] if "enum" in prop else super().value(name, prop, item)


class _Item:
    def __init__(self, amount):
        self.amount = amount
        self.loan_ref = None


def ours(engine, sim: Simulation, loans: int) -> list[float]:
    """(b) creditflow: each step is one transaction (policy, state, work items, audit) on SQLite."""
    timings = []
    for _n in range(loans):
        ref = engine.start_loan(sim.customer_managers[0], dict(SMALL_LOAN), source="cli")
        while True:
            items = [i for i in engine.loan_items(ref) if i.process_id == "origination"]
            if not items:
                break
            item = items[0]
            actor = item.candidate_user or random.choice(engine.candidates(item.id))
            form = engine.task(actor, item.id).form
            data = sim.form_data(form, item)
            if "payment_amount" in data:  # one drawdown of the whole approval, as the raw baseline does
                data.update(payment_amount=float(item.amount), further_drawdown=False, currency="CNY")
                if "counterparty_account" in form["properties"]:
                    data["counterparty_account"] = "6222000011112222"
            attach_required(engine, actor, item.id)  # outside the timed part
            started = time.perf_counter()
            engine.complete(actor, item.id, data, source="cli")
            timings.append(time.perf_counter() - started)
    return timings


def store_loans(engine, count: int) -> None:
    """Copy an existing loan, its instance and work item `count` times (bulk, outside the timed part)."""
    with engine.db.transaction() as session:
        loan = session.scalar(select(Loan).order_by(Loan.id))
        inst = session.scalar(select(ProcessInstance).where(ProcessInstance.loan_id == loan.id))
        base = session.scalar(select(Loan.id).order_by(Loan.id.desc())) or 0
        loans, insts, items = [], [], []
        for k in range(count):
            lid = base + k + 1
            loans.append(dict(id=lid, reference=f"L-BENCH-{lid:07d}", borrower=loan.borrower, product=loan.product,
                              amount=loan.amount, currency="CNY", branch=loan.branch, originator=loan.originator,
                              loan_type="new", stage="review", classification="normal", status="active",
                              application=loan.application, created_at=loan.created_at, updated_at=loan.updated_at))
            insts.append(dict(loan_id=lid, process_version_id=inst.process_version_id, status="running",
                              state=inst.state, created_at=inst.created_at, updated_at=inst.updated_at, version=1))
        session.execute(insert(Loan), loans)
        if session.bind.dialect.name == "postgresql":  # ids given explicitly: move the sequence past them
            session.execute(text("SELECT setval(pg_get_serial_sequence('loan', 'id'), (SELECT max(id) FROM loan))"))
        session.execute(insert(ProcessInstance), insts)
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.loan_id)
                               .where(ProcessInstance.loan_id > base)).all()
        for iid, lid in rows:
            items.append(dict(instance_id=iid, loan_id=lid, task_id=f"bench-{iid}", bpmn_id="review", name="Review",
                              process_id="origination", role="credit_reviewer", duty="review", stage="review",
                              branch=loan.branch, created_at=loan.created_at))
        session.execute(insert(WorkItem), items)


def report(label, timings):
    ms = [t * 1000 for t in timings]
    print(f"{label:<48} steps={len(ms):5d}  median={statistics.median(ms):7.2f} ms  p95={percentile(ms, 0.95):7.2f} ms")
    return statistics.median(ms)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=30)
    parser.add_argument("--stored", default="1000,10000")
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server "
                        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres); a scratch database is made")
    run_on_both(run_on, parser.parse_args(), "bench")


def run_on_both(run_on, args, name: str) -> None:
    """`run_on(label, url, args)` on a scratch SQLite file, then on a scratch PostgreSQL database when `--postgres`
    is given."""
    with tempfile.TemporaryDirectory() as tmp:
        run_on("SQLite", sqlite_url(Path(tmp) / f"{name}.sqlite"), args)
    if args.postgres:
        with scratch_postgres(args.postgres) as url:
            run_on("PostgreSQL", url, args)


@contextmanager
def scratch_postgres(admin_url: str):
    name = f"creditflow_bench_{int(time.time())}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_on(label: str, url: str, args) -> None:
    clock = ManualClock()
    engine = build_engine(url, clock=clock)
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    FLOOR.create(engine.db.engine, checkfirst=True)
    sim = StraightPath(engine, clock, seed=1)
    params = {k: engine.policy.params[k] for k in PROCESS_PARAMETERS if k in engine.policy.params}
    cold = build_engine(url, clock=clock)  # another process's engine: nothing kept between steps
    cold.workflows.live = LiveWorkflows(size=0)
    sims = {"cold": StraightPath(cold, clock, seed=2), "warm": sim}
    floor(2, sim, params, engine.db.engine)  # warm-up
    ours(engine, sim, 2)
    print(f"== {label}")
    measure(engine, sims, params, args.loans, "empty database")
    for stored in [int(n) for n in args.stored.split(",") if n]:
        have = engine.count(Loan)
        if stored > have:
            store_loans(engine, stored - have)
        measure(engine, sims, params, args.loans, f"{engine.count(Loan):,} loans stored")
    cold.db.dispose()
    engine.db.dispose()


def measure(engine, sims, params, loans: int, label: str) -> None:
    """Alternate loan by loan, so every variant sees the same machine conditions."""
    base, cold, warm = [], [], []
    for _n in range(loans):
        base += floor(1, sims["warm"], params, engine.db.engine)
        cold += ours(sims["cold"].engine, sims["cold"], 1)
        warm += ours(engine, sims["warm"], 1)
    print(f"-- {label}")
    a = report("floor: row read, restore, complete, save, commit", base)
    c = report("creditflow, cold (restored from the row)", cold)
    w = report("creditflow, warm (kept in this process)", warm)
    print(f"ratio cold/floor = {c / a:.2f}   (warm/floor = {w / a:.2f})")


if __name__ == "__main__":
    main()
