"""What the audit trail costs per engine step: the same loans with audit on, and with AuditLog.record a no-op.

    python bench/audit_overhead.py [--loans 30] [--rounds 2] [--seed 7]

Each round runs both modes on fresh SQLite files with the same seed, so both do exactly the same work
(whole lifecycles: origination, post-loan inspections moved on by timers, repayment message, archive).
Every engine command is timed; figures only, nothing here fails on a timing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.audit.chain import AuditLog  # noqa: E402
from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.models import AuditEvent  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from engine.simulation.driver import Simulation, Summary  # noqa: E402
from engine.runtime.specs import SpecCache  # noqa: E402

TIMED = ("start_loan", "complete", "tick", "send_message")


class NoAudit(AuditLog):
    """The bench's stand-in: records nothing, reads no chain head."""

    def record(self, action, **_fields):
        return None


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(mode: str, loans: int, seed: int, specs: SpecCache, folder: Path) -> tuple[dict[str, list[float]], int]:
    """One mode on a fresh database; returns seconds per command kind and how many audit events were written."""
    clock = ManualClock()
    engine = build_engine(sqlite_url(folder / f"{mode}.sqlite"), clock=clock)
    engine.workflows.specs = specs
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    if mode == "off":
        engine.kernel.audit_log = lambda session, source: NoAudit(session, source, None, clock)
    sim = Simulation(engine, clock, seed=seed, inspections=2)
    timings: dict[str, list[float]] = defaultdict(list)
    for name in TIMED:
        original = getattr(engine, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                timings[_name].append(time.perf_counter() - started)
        setattr(engine, name, timed)
    summary = Summary()
    for _n in range(loans):
        sim.one_loan(summary)
    events = engine.count(AuditEvent)
    engine.db.dispose()
    return timings, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    specs = SpecCache()
    totals: dict[str, dict[str, list[float]]] = {"on": defaultdict(list), "off": defaultdict(list)}
    events = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        run("on", 2, args.seed, specs, warm)  # parse the specs and warm the imports outside the figures
        for r in range(args.rounds):
            for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
                folder = Path(tmp) / f"{mode}{r}"
                folder.mkdir()
                timings, events[mode] = run(mode, args.loans, args.seed, specs, folder)
                for kind, values in timings.items():
                    totals[mode][kind].extend(values)
    print(f"{args.loans} loans x {args.rounds} rounds per mode, SQLite; audit events written with audit on: "
          f"{events['on']:,} per round")
    print(f"{'command':14} {'mode':4} {'steps':>6} {'median ms':>10} {'p95 ms':>8}")
    for kind in TIMED:
        for mode in ("on", "off"):
            ms = [t * 1000 for t in totals[mode][kind]]
            if ms:
                print(f"{kind:14} {mode:4} {len(ms):6d} {statistics.median(ms):10.2f} {percentile(ms, 0.95):8.2f}")
        on, off = totals["on"][kind], totals["off"][kind]
        if on and off:
            print(f"{'':14} ratio on/off: median {statistics.median(on) / statistics.median(off):.3f}, "
                  f"p95 {percentile(on, 0.95) / percentile(off, 0.95):.3f}")
    all_on = [t for v in totals["on"].values() for t in v]
    all_off = [t for v in totals["off"].values() for t in v]
    print(f"all commands: total {sum(all_on):.2f} s with audit, {sum(all_off):.2f} s without; "
          f"ratio {sum(all_on) / sum(all_off):.3f}; median ratio "
          f"{statistics.median(all_on) / statistics.median(all_off):.3f}")


if __name__ == "__main__":
    main()
