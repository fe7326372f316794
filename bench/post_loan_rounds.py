"""Is a loan's post-loan work flat over its life? One loan, many inspection rounds: the cost of completing an
inspection task and the size of the post-loan state, round by round, restored from the row each time (as a
worker process that did not do the previous step). Figures only: nothing here fails on a timing.

    python bench/post_loan_rounds.py [--rounds 60] [--postgres URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.runtime.live import LiveWorkflows  # noqa: E402
from engine.simulation.documents import attach_required  # noqa: E402
from engine.simulation.driver import Simulation, Summary  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.models import ProcessInstance, ProcessVersion  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402


class Rounds(Simulation):
    """Every choice takes the first (uneventful) option; each inspection task completion is timed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.figures: list[tuple[float, int]] = []  # (ms, state bytes after)

    def value(self, name: str, prop: dict, item):
        return prop["enum"][0] if "enum" in prop else super().value(name, prop, item)

    def work(self, item, summary: Summary) -> bool:
        if item.bpmn_id != "lead_inspection":
            return super().work(item, summary)
        actor = item.candidate_user or self.engine.candidates(item.id)[0]
        data = self.form_data(self.engine.task(actor, item.id).form, item)
        attach_required(self.engine, actor, item.id)
        started = time.perf_counter()
        self.engine.complete(actor, item.id, data, source="cli")
        elapsed = (time.perf_counter() - started) * 1000
        self.figures.append((elapsed, state_size(self.engine)))
        summary.tasks += 1
        self.clock.advance(hours=2)
        return True


def state_size(engine) -> int:
    with engine.db.reading() as session:
        return session.scalar(select(func.max(func.length(ProcessInstance.state))).join(ProcessVersion)
                              .where(ProcessVersion.process_id == "post_loan")) or 0


def run_on(label: str, url: str, rounds: int) -> None:
    clock = ManualClock()
    engine = build_engine(url, clock=clock)
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    engine.workflows.live = LiveWorkflows(size=0)
    sim = Rounds(engine, clock, seed=3, inspections=rounds)
    sim.drive(engine.start_loan(sim.customer_managers[0], {
        "borrower": "Rounds Co.", "product": "working_capital", "amount": 1_500_000, "term_months": 120},
        source="cli"), Summary())
    figures = sim.figures
    print(f"== {label}: {len(figures)} inspection rounds, lead_inspection completion restored from the row")
    for n in sorted({1, 2, 5, 10, 20, 30, 40, 50, 60, len(figures)}):
        if n <= len(figures):
            window = [ms for ms, _size in figures[max(0, n - 3):n]]
            print(f"round {n:3d}: {statistics.median(window):7.2f} ms (median of rounds {max(1, n - 2)}-{n})   "
                  f"state {figures[n - 1][1] / 1024:8.1f} KB")
    window = max(3, min(10, len(figures) // 6))  # one sample per round: the ends compared over several rounds
    first = statistics.median(ms for ms, _s in figures[:window])
    last = statistics.median(ms for ms, _s in figures[-window:])
    print(f"last/first = {last / first:.2f}   (medians of the first and the last {window} rounds: "
          f"{first:.2f} and {last:.2f} ms)")
    engine.db.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_on("SQLite", sqlite_url(Path(tmp) / "rounds.sqlite"), args.rounds)
    if args.postgres:
        from engine_steps import scratch_postgres
        with scratch_postgres(args.postgres) as url:
            run_on("PostgreSQL", url, args.rounds)


if __name__ == "__main__":
    main()
