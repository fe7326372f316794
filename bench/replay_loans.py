"""How long does a what-if replay take? N synthetic loans through the whole lifecycle (committees, payments,
post-loan inspections, repayment), then replayed through the deployed files (which must change nothing) and
through a candidate that lowers the dual-signature ceiling to CNY 1m. Figures only: nothing fails on a timing.

    python bench/replay_loans.py [--loans 100] [--postgres URL]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402
from policies.loader import DEFAULT_POLICY  # noqa: E402

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.runtime.specs import collect_files  # noqa: E402
from engine.simulation.driver import Simulation  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402

DUAL = "<text>&lt;= 3000000</text>"  # new loans, and the loan types that go one tier up


def candidate() -> tuple[dict[str, str], str]:
    files = {f.name: f.data.decode("utf-8") for f in collect_files([BUNDLED_BPMN])}
    files["approval_tier.dmn"] = files["approval_tier.dmn"].replace(DUAL, DUAL.replace("3000000", "1000000"))
    policy = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    policy["parameters"]["tier_ceiling_dual_signature"] = 1_000_000
    policy["version"] = "bench.dual-1m"
    return files, yaml.safe_dump(policy, allow_unicode=True)


def run_on(label: str, url: str, loans: int) -> None:
    clock = ManualClock()
    engine = build_engine(url, clock=clock)
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN])
    summary = Simulation(engine, clock, seed=7, inspections=1).run(loans)
    print(f"== {label}: {summary.loans} loans, {summary.tasks} task completions, {summary.timers} timer firings")
    deployed = {f.name: f.data.decode("utf-8") for f in collect_files([BUNDLED_BPMN])}
    for name, files, policy in (("deployed files", deployed, None), ("dual signature up to 1m", *candidate())):
        started = time.perf_counter()
        report = engine.replay(files, policy)
        seconds = time.perf_counter() - started
        print(f"{name:24s} {seconds:6.2f} s ({1000 * seconds / max(report.total, 1):6.1f} ms a loan): "
              f"{report.same} of {report.total} the same, {report.counts}")
    engine.db.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100)
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_on("SQLite", sqlite_url(Path(tmp) / "replay.sqlite"), args.loans)
    if args.postgres:
        from engine_steps import scratch_postgres
        with scratch_postgres(args.postgres) as url:
            run_on("PostgreSQL", url, args.loans)


if __name__ == "__main__":
    main()
