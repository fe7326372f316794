"""What the worker's periodic-review pass costs with many disbursed loans stored: the first tick after they arrive
(every loan looked at once, each given its next read day) and the ticks after it (only the loans whose day has
come are read). Figures only; nothing here fails on a timing.

    python bench/tick_reviews.py [--loans 100000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.commands.reviews import periodic_reviews  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.models import Loan  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(NOW)
        engine = build_engine(sqlite_url(Path(folder) / "tick.sqlite"), clock=clock)
        upgrade(engine.db)
        engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
        with engine.db.transaction() as session:  # disbursed over the last 80 days: none due for a review yet
            session.execute(insert(Loan.__table__), [dict(
                id=n, reference=f"L-2026-{n:06d}", borrower=f"Borrower {n}", product="working_capital",
                amount=1_000_000, currency="CNY", branch="BJ01", originator="cm_wang", loan_type="new",
                stage="post_loan", classification="normal", status="disbursed", application={},
                created_at=NOW - timedelta(days=n % 80 + 1), updated_at=NOW,
                disbursed_at=NOW - timedelta(days=n % 80 + 1)) for n in range(1, args.loans + 1)])
        print(f"{args.loans:,} disbursed loans stored (SQLite)")
        for label in ("first tick: every loan looked at once", "next tick: none due", "a day later"):
            started = time.perf_counter()
            opened = periodic_reviews(engine.kernel)
            print(f"{label:<40} {time.perf_counter() - started:8.3f} s   reviews opened {opened}")
            clock.advance(days=1) if label.startswith("next") else None
        engine.db.dispose()


if __name__ == "__main__":
    main()
