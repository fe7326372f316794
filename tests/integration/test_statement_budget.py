"""A budget of SQL statements per task completion, so that a regression on the hot path shows: the worker restores
the workflow from its row (nothing kept between commands), the parsed spec comes from memory, and the deployed
file bundle is never read with an instance."""
from __future__ import annotations

from engine.runtime.live import LiveWorkflows
from engine.simulation.documents import attach_required
from tests.integration.conftest import FORMS

# statements per completion on this path (SQLite's BEGIN included). On SQLite one statement brings the item, its
# instance, its loan, the person with their grants and the audit chain's head; PostgreSQL locks the instance first and
# reads the chain's head under the chain's advisory lock, and has no BEGIN statement. The locked item's row also says
# whether an incident is open, drafts are to be dropped, the person is on leave, holds another task on the loan, or the
# instance has another task open (each a statement when it is so); a task with required documents reads what is
# attached; a task opened for one named person (the business signature, the contract) and the approval fed back to the
# originator add their notification rows.
BUDGET = {"investigate": 10, "review": 12, "sign_business": 10, "sign_risk": 14}


def test_a_completion_stays_within_its_statement_budget(engine, driver, statements):
    engine.workflows.live = LiveWorkflows(size=0)  # as another worker process: restored from the row every time
    ref = driver.start()
    extra = 2 if engine.db.is_postgres else 0  # the instance locked first; the chain head read under its lock
    for step, user in (("investigate", "cm_wang"), ("review", "rev_chen"), ("sign_business", "cm_wang"),
                       ("sign_risk", "risk_liu")):
        item = driver.item(ref, step)
        attach_required(engine, user, item.id)
        statements.clear()
        engine.complete(user, item.id, FORMS[step], source="cli")
        assert len(statements) <= BUDGET[step] + extra, (step, statements)
        assert not [s for s in statements if "process_version.files" in s], step  # the bundle stays unread
        assert sum(s.startswith("INSERT INTO audit_event") for s in statements) == 1, step  # one batch
