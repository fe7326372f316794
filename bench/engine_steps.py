"""Per-step cost: raw SpiffWorkflow (serialize/deserialize per step, in memory) vs creditflow on SQLite.

Runs the same loans both ways in one run and prints medians, p95 and the ratio;
then repeats the engine measurement with 1,000 and 10,000 loans already stored.
Figures only: nothing here fails on a timing.

    python bench/engine_steps.py [--loans 30] [--stored 1000,10000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from engine.application import validate_application  # noqa: E402
from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.models import Loan, ProcessInstance, WorkItem  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine.runtime.live import LiveWorkflows  # noqa: E402
from engine.runtime.serialization import StateSerializer  # noqa: E402
from engine.simulation.driver import Simulation  # noqa: E402

SMALL_LOAN = {"borrower": "Bench Co.", "product": "working_capital", "amount": 1_500_000, "term_months": 12}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def raw_spiff(loans: int, sim: Simulation, params: dict) -> list[float]:
    """(a) stock SpiffWorkflow: parse once, then per step deserialize, complete, run engine, serialize."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files_by_glob(str(BUNDLED_BPMN / "*.bpmn"))
    parser.add_dmn_files_by_glob(str(BUNDLED_BPMN / "*.dmn"))
    spec, subs = parser.get_spec("origination"), parser.get_subprocess_specs("origination")
    serializer = StateSerializer().full_serializer()
    kernel = sim.engine.kernel
    script_engine = PythonScriptEngine(environment=TaskDataEnvironment({
        "tally_votes": lambda *a: {}, "today": kernel.today, "date_after": kernel.date_after,
        "remind_at": kernel.remind_at}))
    forms = sim.engine.workflows.specs.get("origination", *_latest(sim.engine)).user_tasks
    timings = []
    for n in range(loans):
        wf = BpmnWorkflow(spec, subs, script_engine=script_engine)
        application = validate_application(dict(SMALL_LOAN))
        application["group_exposure"] = application["amount"]  # what the engine computes for a borrower with no identifier
        wf.task_tree.data.update({**params, **application, "branch": "BJ01", "loan_id": f"L-RAW-{n}",
                                  "originator": sim.customer_managers[0]})
        for t in wf.get_tasks():
            t.data.update(wf.task_tree.data)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        while True:
            started = time.perf_counter()
            wf = serializer.deserialize_json(state)
            wf.script_engine = script_engine
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            task = ready[0]
            data = sim.form_data(forms[task.task_spec.name].form, _Item(SMALL_LOAN["amount"]))
            if "payment_amount" in data:  # what the engine adds after checking a payment: one drawdown, all of it
                data.update(currency="CNY", further_drawdown=False, drawdowns_paid=1, undrawn=0)
            task.data.update({**data, "completed_by": "bench_user"})
            task.run()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
            timings.append(time.perf_counter() - started)
    return timings


class _Item:
    def __init__(self, amount):
        self.amount = amount
        self.loan_ref = None


def _latest(engine):
    with engine.db.reading() as session:
        from engine.store.models import ProcessVersion
        v = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "origination")
                           .order_by(ProcessVersion.version.desc()))
        return v.sha256, v.files


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
    parser.add_argument("--cold", action="store_true",
                        help="restore every workflow from its row (as a new worker process would)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock()
        engine = build_engine(sqlite_url(Path(tmp) / "bench.sqlite"), clock=clock)
        if args.cold:
            engine.workflows.live = LiveWorkflows(size=0)
        upgrade(engine.db)
        engine.deploy([BUNDLED_BPMN])
        sim = Simulation(engine, clock, seed=1)
        params = {k: engine.policy.params[k] for k in ("dual_investigation_threshold", "first_inspection_days_small",
                                                       "first_inspection_days_other", "chair_veto_hours")}
        raw_spiff(3, sim, params)  # warm-up
        ours(engine, sim, 3)
        measure(engine, sim, params, args.loans, "empty database")
        for stored in [int(n) for n in args.stored.split(",") if n]:
            have = engine.count(Loan)
            if stored > have:
                store_loans(engine, stored - have)
            measure(engine, sim, params, args.loans, f"{engine.count(Loan):,} loans stored")


def measure(engine, sim, params, loans: int, label: str) -> None:
    """Alternate loan by loan, so both sides see the same machine conditions."""
    raw, eng = [], []
    for _n in range(loans):
        raw += raw_spiff(1, sim, params)
        eng += ours(engine, sim, 1)
    print(f"-- {label}")
    a = report("(a) raw SpiffWorkflow, serialize per step", raw)
    b = report("(b) creditflow engine on SQLite", eng)
    print(f"ratio b/a = {b / a:.2f}")


if __name__ == "__main__":
    main()
