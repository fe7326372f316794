"""A task's id is never given to another task: bookmarks and retried completions cannot reach another loan."""
from __future__ import annotations

import pytest

from engine.errors import NotFound


def test_completed_task_ids_are_never_reused_and_a_retry_is_answered_as_such(engine, driver):
    first = driver.start()
    investigate = driver.do(first, "investigate", "cm_wang")
    review = driver.do(first, "review", "rev_chen", decision="reject")  # the loan ends: no work item is left
    assert engine.loan(first).status == "rejected" and driver.items(first) == []
    second = driver.start()
    assert driver.item(second, "investigate").id not in (investigate.id, review.id)
    with pytest.raises(NotFound, match="already completed"):  # a retried (bookmarked) completion
        engine.complete("rev_chen", review.id, {"opinion": "again", "decision": "pass"})
    assert engine.loan(first).status == "rejected" and driver.open_steps(second) == ["investigate"]
