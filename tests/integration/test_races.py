"""Eight real processes race on the same tasks on PostgreSQL: every claim and completion happens exactly once."""
from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from sqlalchemy import select

from engine.bootstrap import build_engine
from engine.errors import EngineError
from engine.store.models import AuditEvent, DutyRecord

from .conftest import FORMS

PROCESSES = 8
LOANS = 6
REVIEWERS = ("rev_chen", "rev_zhou")


def _race(url: str, items: list[int], barrier, results, worker: int) -> None:
    """One process: a fresh engine, then claim and complete every item as fast as it can."""
    engine = build_engine(url)
    reviewer = REVIEWERS[worker % 2]
    decision = "pass" if worker % 2 == 0 else "reject"
    outcome = Counter()
    barrier.wait(timeout=60)
    for item_id in items:
        for action in ("claim", "complete"):
            try:
                if action == "claim":
                    engine.claim(reviewer, item_id, source="api")
                else:
                    engine.complete(reviewer, item_id, {**FORMS["review"], "decision": decision,
                                                        "opinion": f"worker {worker}"}, source="api")
                outcome[f"{action}:ok"] += 1
            except EngineError as err:
                outcome[f"{action}:{err.code}"] += 1
            except Exception as err:  # noqa: BLE001 - reported to the parent, which fails the test
                outcome[f"{action}:crash:{type(err).__name__}"] += 1
    engine.db.dispose()
    results.put(dict(outcome))


@pytest.mark.postgres
def test_eight_processes_complete_each_task_exactly_once(engine, driver, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes the write lock at BEGIN; the race is PostgreSQL's")
    refs = [driver.start() for _ in range(LOANS)]
    for ref in refs:
        driver.do(ref, "investigate", "cm_wang")
    items = [driver.item(ref, "review").id for ref in refs]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_race, args=(database_url, items, barrier, results, n))
               for n in range(PROCESSES)]
    for process in workers:
        process.start()
    outcomes = Counter()
    for _ in workers:
        outcomes.update(results.get(timeout=120))
    for process in workers:
        process.join(timeout=30)
    assert not [k for k in outcomes if ":crash:" in k], outcomes
    assert outcomes["complete:ok"] == LOANS, outcomes

    with engine.db.reading() as session:
        completions = session.execute(select(AuditEvent.loan_ref, AuditEvent.detail).where(
            AuditEvent.action == "task_completed", AuditEvent.step == "review")).all()
        claims = Counter(session.scalars(select(AuditEvent.loan_ref).where(
            AuditEvent.action == "task_claimed", AuditEvent.step == "review")))
        reviews = Counter(session.scalars(select(DutyRecord.loan_id).where(DutyRecord.duty == "review")))
    assert Counter(e.loan_ref for e in completions) == {ref: 1 for ref in refs}
    assert all(count == 1 for count in claims.values()), claims
    assert sorted(reviews.values()) == [1] * LOANS
    for ref, detail in completions:  # the loan went the way its one recorded decision says
        if detail["after"]["decision"] == "pass":
            assert "sign_business" in driver.open_steps(ref)
        else:
            assert engine.loan(ref).status == "rejected"


def test_a_task_page_read_while_another_worker_completes_it_says_it_is_gone(engine, driver, monkeypatch):
    """A reader found the task's row, then another process completed the task before the reader restored the
    workflow: the page answers 'already completed' (NotFound), never a crash. PostgreSQL reads each statement
    afresh, so it happens there; SQLite's reader keeps its snapshot and shows the task as it was."""
    from engine.errors import NotFound
    from engine.queries import tasks as task_queries

    ref = driver.start()
    item = driver.item(ref, "investigate")
    read_user = task_queries.get_user

    def completed_meanwhile(session, username):  # between reading the row and restoring the workflow
        monkeypatch.setattr(task_queries, "get_user", read_user)
        driver.do(ref, "investigate", "cm_wang")
        return read_user(session, username)

    monkeypatch.setattr(task_queries, "get_user", completed_meanwhile)
    with engine.db.reading() as session:
        try:
            view = task_queries.task(session, engine.kernel, "cm_wang", item.id)
        except NotFound as err:
            assert "already completed" in err.template
        else:
            assert view.item.id == item.id and not engine.db.is_postgres
