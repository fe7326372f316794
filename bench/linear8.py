"""Task completion through the JSON API on an 8-step linear process: the figure to compare with other BPM engines.

The process: a start event, eight user tasks in a row, each in the lane of its role with its duty and a small
JSON-Schema form, an end event (bench/linear8/linear8.bpmn, deployed as a new version of `origination`, so each
loan started through the API runs it). Every step is driven as an API client would: find the open task on the
loan (GET /api/v1/loans/{ref}), complete it (POST /api/v1/tasks/{id}/complete) with the performer's bearer token.
Only the completion is timed. Printed: median and p95 completion, warm (the app's live workflow cache) and cold
(live_cache_mb=0: every command restores the workflow from its row, as several worker processes do), on SQLite
and optionally PostgreSQL. Figures only; nothing fails on a timing.

    python bench/linear8.py [--loans 40] [--postgres URL]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from engine.bootstrap import BUNDLED_BPMN, build_engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.simulation.staff import seed_team  # noqa: E402
from engine.store.db import sqlite_url  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402

PROCESS = HERE / "linear8"
# (task id, the person who does it): each a different person, so no pair rule is in the way.
PERFORMERS = {"step1": "cm_wang", "step2": "rev_chen", "step3": "cm_li", "step4": "coll_hu", "step5": "disb_xu",
              "step6": "plh_luo", "step7": "cro_gao", "step8": "plm_guo"}
APPLICATION = {"borrower": "Bench Linear Co., Ltd.", "product": "working_capital", "amount": 900000,
               "term_months": 12}
FORM = {"note": "Checked.", "outcome": "done", "score": 3}


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def prepare(url: str) -> None:
    engine = build_engine(url, clock=ManualClock())
    upgrade(engine.db)
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
    seed_team(engine, None)
    engine.deploy([PROCESS], actor="designer_zheng", approved_by="designer_wu", source="cli")
    engine.db.dispose()


def run(url: str, loans: int, cold: bool) -> list[float]:
    from webapp import create_app
    config = {"SECRET_KEY": "bench", "DATABASE_URL": url, "CLOCK": ManualClock(), "LOG_LEVEL": "WARNING"}
    app = create_app(config)
    engine = app.extensions["creditflow"]
    if cold:
        engine.workflows.live.resize(max_bytes=0)
    tokens = {user: engine.issue_token(user) for user in {*PERFORMERS.values(), "cm_wang"}}
    client = app.test_client()
    timings = []
    for _ in range(loans):
        created = client.post("/api/v1/loans", json=APPLICATION, headers=_auth(tokens["cm_wang"]))
        assert created.status_code == 201, created.get_json()
        ref = created.get_json()["reference"]
        for _step in range(len(PERFORMERS)):
            loan = client.get(f"/api/v1/loans/{ref}", headers=_auth(tokens["cm_wang"])).get_json()
            task = loan["open_tasks"][0]
            started = time.perf_counter()
            done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": FORM},
                               headers=_auth(tokens[PERFORMERS[task["step"]]]))
            timings.append((time.perf_counter() - started) * 1000)
            assert done.status_code == 200, done.get_json()
        assert client.get(f"/api/v1/loans/{ref}", headers=_auth(tokens["cm_wang"])).get_json()["open_tasks"] == []
    engine.db.dispose()
    return timings


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def report(label: str, url: str, loans: int) -> None:
    prepare(url)
    run(url, 3, cold=False)  # warm-up: imports, parsed spec, connection pool
    warm, cold = [], []
    for _round in range(2):  # interleaved halves, so both variants see the same machine
        warm += run(url, loans // 2, cold=False)
        cold += run(url, loans // 2, cold=True)
    for name, values in (("cold (restored from the row)", cold), ("warm (live cache)", warm)):
        print(f"{label:<11} {name:<30} completions {len(values):>4}  median {statistics.median(values):6.2f} ms"
              f"  p95 {percentile(values, 0.95):6.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=40)
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report("SQLite", sqlite_url(Path(tmp) / "linear8.sqlite"), args.loans)
    if args.postgres:
        from engine_steps import scratch_postgres
        with scratch_postgres(args.postgres) as url:
            report("PostgreSQL", url, args.loans)


if __name__ == "__main__":
    main()
