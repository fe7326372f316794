"""A task form saved unfinished by the person working on it: kept as typed, per task and person, never a decision."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.commands import tasks
from engine.commands.unit import Unit, locked_item
from engine.errors import InvalidInput, NotAllowed
from engine.store.models import Loan, TaskDraft
from engine.store.people import get_user

MAX_DRAFT_CHARS = 64 * 1024  # what a form can hold, with room to spare; a draft is not a place to keep files


def save_draft(unit: Unit, actor: str, item_id: int, values: dict) -> None:
    """Keep what `actor` typed; the task becomes theirs (claimed) so nobody else works on it meanwhile."""
    item, instance = locked_item(unit, item_id)
    loan = unit.session.get(Loan, item.loan_id)
    if item.claimed_by and item.claimed_by != actor:
        raise NotAllowed("This task is claimed by %(user)s.", user=item.claimed_by)
    fields = next((m.form for m in unit.workflows.loaded(instance.process_version).user_tasks.values()
                   if m.bpmn_id == item.bpmn_id), {}).get("properties", {})
    kept = {name: _typed(value) for name, value in (values or {}).items() if name in fields}
    if len(json.dumps(kept, ensure_ascii=False)) > MAX_DRAFT_CHARS:
        raise InvalidInput("The draft is too long to save (at most %(limit)s characters).", limit=MAX_DRAFT_CHARS)
    if item.claimed_by is None:
        tasks.claim(unit, actor, item_id)  # the policy decides, as for a claim; recorded as a claim
    else:
        unit.gate.check_task(unit, get_user(unit.session, actor), item, loan, action="save_draft")
    now = unit.clock.now()
    draft = unit.session.scalar(select(TaskDraft).where(TaskDraft.work_item_id == item.id,
                                                        TaskDraft.username == actor))
    if draft is None:
        unit.session.add(TaskDraft(work_item_id=item.id, username=actor, values=kept, saved_at=now))
    else:
        draft.values, draft.saved_at = kept, now
    unit.audit.record("draft_saved", actor=actor, role=item.role, loan_ref=loan.reference,
                      process_id=item.process_id, instance_id=item.instance_id, step=item.bpmn_id,
                      step_name=item.name, detail={"task_id": item.task_id})  # what was typed is not a decision


def _typed(value):
    """Text as typed (a multi-select as a list of texts)."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return "" if value is None else str(value)
