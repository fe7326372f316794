"""How fast the auditor's searches are on a million audit events (SQLite by default). Prints figures, asserts nothing.

    python bench/audit_search_1m.py [--events 1000000] [--database URL] [--keep]

Builds a fresh database, bulk-inserts a realistic, correctly hash-chained trail with Core executemany
(about 50,000 loans, 20 events each, interleaved in time), then times each query several times.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from engine.audit.chain import (CHAINED_FIELDS, GENESIS, _plain, event_hash, resume_point,  # noqa: E402
                                verify_chain, walk_chain)
from engine.audit.search import EventFilter, search_events  # noqa: E402
from engine.audit.trace import heatmap, loan_trace  # noqa: E402
from engine.audit.segregation import segregation_report  # noqa: E402
from engine.store.db import Database, sqlite_url  # noqa: E402
from engine.store.models import AuditEvent  # noqa: E402
from engine.store.schema import upgrade  # noqa: E402
from policies import default_policy  # noqa: E402

START = datetime(2025, 1, 1, 1, 0, tzinfo=timezone.utc)
CMS = ["cm_wang", "cm_li", "cm_zhao", "cm_sun"]
# (action, step, role, who): the life of one loan, 20 events
SCRIPT = [
    ("loan_created", None, "customer_manager", "cm"),
    ("instance_started", None, None, None),
    ("step_completed", "start", None, None),
    ("task_started", "investigate", "customer_manager", None),
    ("task_completed", "investigate", "customer_manager", "cm"),
    ("task_started", "review", "credit_reviewer", None),
    ("task_claimed", "review", "credit_reviewer", "rev"),
    ("task_completed", "review", "credit_reviewer", "rev"),
    ("step_completed", "decide_tier", None, None),
    ("step_completed", "tier_gateway", None, None),
    ("task_started", "sign_business", "customer_manager", None),
    ("task_completed", "sign_business", "customer_manager", "cm2"),
    ("task_started", "sign_risk", "risk_manager", None),
    ("maybe_refused", "sign_risk", "risk_manager", "risk"),
    ("task_completed", "sign_risk", "risk_manager", "risk"),
    ("task_started", "review_disbursement", "disbursement_reviewer", None),
    ("task_completed", "review_disbursement", "disbursement_reviewer", "disb"),
    ("step_completed", "disbursed", None, None),
    ("instance_completed", "disbursed", None, None),
    ("message_thrown", "loan_disbursed", None, None),
]
PEOPLE = {"rev": ["rev_chen", "rev_zhou"], "risk": ["risk_liu", "risk_yang"], "disb": ["disb_xu"]}


def generate(total: int, seed: int = 7):
    """Events in chain order: a pool of loans in flight, each advancing one event at a time."""
    rng = random.Random(seed)
    now, next_loan, instance = START, 0, 0
    active: list[dict] = []
    for _n in range(total):
        while len(active) < 200:
            next_loan += 1
            instance += 1
            cm = rng.choice(CMS)
            active.append({"ref": f"L-{2025 + next_loan // 30000}-{next_loan:06d}", "cm": cm, "pos": 0,
                           "cm2": rng.choice([c for c in CMS if c != cm]), "instance": instance})
        loan = rng.choice(active)
        action, step, role, who = SCRIPT[loan["pos"]]
        loan["pos"] += 1
        if loan["pos"] == len(SCRIPT):
            active.remove(loan)
        now += timedelta(seconds=rng.randint(0, 60))
        actor = loan.get(who) or (rng.choice(PEOPLE[who]) if who in PEOPLE else None)
        outcome, rule, reason, detail = "done", None, None, {}
        if action == "maybe_refused":
            if rng.random() < 0.05:
                action, outcome, rule = "refused", "denied", rng.choice(["SOD-01", "SOD-03", "LIMIT-01"])
                reason, actor, detail = "Refused by policy", rng.choice(CMS), {"kind": "DutyConflict"}
            else:
                action = "task_claimed"
        elif action == "task_completed":
            detail = {"duty": step, "before": {"opinion": None}, "after": {"opinion": "approve", "note": "ok"}}
        elif action == "task_started":
            detail = {"duty": step, "task_id": f"{loan['instance']}-{step}"}
        elif action == "step_completed" and step == "decide_tier":
            detail = {"kind": "decision", "inputs": {"amount": "2500000"}, "changed": {"approval_tier": "dual_signature"}}
        yield {"occurred_at": now, "action": action, "outcome": outcome, "loan_ref": loan["ref"],
               "process_id": "origination" if action != "loan_created" else None,
               "process_version": 1 + (loan["instance"] > 25_000) if action != "loan_created" else None,
               "instance_id": loan["instance"] if action != "loan_created" else None, "step": step,
               "step_name": step.replace("_", " ").title() if step else None, "actor": actor, "role": role,
               "on_behalf_of": None, "source": "web", "policy_version": "2026.1", "rule": rule, "reason": reason,
               "detail": detail}


def fill(db: Database, total: int, batch: int = 10_000) -> float:
    started = time.perf_counter()
    prev, rows = GENESIS, []
    with db.engine.begin() as conn:
        for values in generate(total):
            values["detail"] = _plain(values["detail"])
            values["prev_hash"] = prev
            values["hash"] = prev = event_hash(prev, SimpleNamespace(**{k: values[k] for k in CHAINED_FIELDS}))
            rows.append(values)
            if len(rows) == batch:
                conn.execute(insert(AuditEvent), rows)
                rows = []
        if rows:
            conn.execute(insert(AuditEvent), rows)
    return time.perf_counter() - started


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _i in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: a temporary SQLite file)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="cf-audit-bench-")
    url = args.database or sqlite_url(Path(tmp) / "audit.sqlite")
    db = Database(url)
    upgrade(db)
    print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
    print(f"inserting {args.events:,} chained events ...", flush=True)
    seconds = fill(db, args.events)
    print(f"  {seconds:.1f} s ({args.events / seconds:,.0f} events/s, hashes included)")

    with db.reading() as session:
        newest = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        middle = session.get(AuditEvent, args.events // 2)
        loan = middle.loan_ref
        day = middle.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
        cases = [
            ("newest first, no filter", EventFilter(), None),
            ("no filter, page after the middle event", EventFilter(), middle.id),
            ("loan", EventFilter(loan_ref=loan), None),
            ("actor", EventFilter(actor="rev_zhou"), None),
            ("actor, deep page", EventFilter(actor="rev_zhou"), middle.id),
            ("actor + action", EventFilter(actor="cm_li", action="task_completed"), None),
            ("action refused (5% of one step)", EventFilter(action="refused"), None),
            ("action refused, deep page", EventFilter(action="refused"), middle.id),
            ("rule SOD-03 (no index)", EventFilter(rule="SOD-03"), None),
            ("outcome denied (no index)", EventFilter(outcome="denied"), None),
            ("role (no index)", EventFilter(role="disbursement_reviewer"), None),
            ("process + action", EventFilter(process_id="origination", action="task_started"), None),
            ("one day", EventFilter(since=day, until=day + timedelta(days=1)), None),
            ("one day + actor", EventFilter(actor="cm_wang", since=day, until=day + timedelta(days=1)), None),
            ("user who never acted", EventFilter(actor="auditor_xie"), None),
            ("role nobody acts in (full scan)", EventFilter(role="admin"), None),
        ]
        print(f"\n{'search (50 per page)':45} {'ms':>8}  rows")
        for label, filters, after in cases:
            ms, page = timed(lambda f=filters, a=after: search_events(session, f, after_id=a, per_page=50))
            session.expunge_all()
            print(f"{label:45} {ms:8.1f}  {len(page.events)}")
        print()
        ms, trace = timed(lambda: loan_trace(session, loan))
        print(f"{'loan trace (' + loan + ')':45} {ms:8.1f}  {len(trace.events)} events")
        ms, hm = timed(lambda: heatmap(session, "origination", 1), repeat=1)
        print(f"{'heatmap, origination v1':45} {ms:8.1f}  {hm.instances_started:,} instances, {len(hm.steps)} steps")
        ms, report = timed(lambda: segregation_report(session, default_policy()), repeat=1)
        print(f"{'segregation report (refusals part)':45} {ms:8.1f}  {report.refusals:,} refusals")
        session.expunge_all()
        started = time.perf_counter()
        checked, broken = verify_chain(session)
        print(f"{'verify the whole chain':45} {(time.perf_counter() - started) * 1000:8.0f}  "
              f"{checked:,} events, {'intact' if broken is None else broken}")
        # the daily incremental verification: from a checkpoint a day's events (1%) before the head
        head = session.scalar(select(func.max(AuditEvent.id)))
        point = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.id <= head - max(1, checked // 100)))
        session.expunge_all()
        started = time.perf_counter()
        walk = walk_chain(session, start=resume_point(session, point))
        print(f"{'verify incrementally (last 1% of the chain)':45} {(time.perf_counter() - started) * 1000:8.0f}  "
              f"{walk.checked:,} events, {'intact' if walk.broken is None else walk.broken}")
        del newest
    db.dispose()
    if args.database is None and not args.keep:
        for f in Path(tmp).iterdir():
            f.unlink()
        Path(tmp).rmdir()
    elif args.database is None:
        print(f"kept {url}")


if __name__ == "__main__":
    main()
