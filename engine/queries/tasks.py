"""A task page, and the form a submission is parsed against."""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException

from sqlalchemy.orm import Session

from engine.errors import NotAllowed, NotFound
from engine.kernel import Kernel
from engine.queries.inbox import item_view
from engine.runtime import execution
from engine.store.lookups import work_item
from engine.store.models import Loan, ProcessInstance
from engine.store.people import get_user
from engine.views import TaskFormView, TaskView


def task(session: Session, kernel: Kernel, username: str, item_id: int) -> TaskView:
    """A task page: only for whoever holds it or may take it (else NotAllowed, also for other branches)."""
    item = work_item(session, item_id)
    loan = session.get(Loan, item.loan_id)
    user = get_user(session, username)
    if item.claimed_by != username:
        decision = kernel.gate.decide(session, user, item, loan)
        if not decision.allowed:
            raise NotAllowed(decision.message_template, **decision.params)
    instance = session.get(ProcessInstance, item.instance_id)
    workflow, loaded = kernel.workflows.restore(instance)
    try:
        spiff_task = workflow.get_task_from_id(UUID(item.task_id))
    except TaskNotFoundException:  # another worker completed it after this reader found its row
        raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id) from None
    meta = loaded.user_tasks[spiff_task.task_spec.name]
    facts = {k: v for k, v in spiff_task.data.items() if k not in execution.PROCESS_PARAMETERS}
    return TaskView(item_view(item, loan), meta.form, meta.instructions, execution.plain_data(facts))


def task_form(session: Session, kernel: Kernel, item_id: int) -> TaskFormView:
    """What a submission is parsed against: the task's form (no policy check here: the completion that follows
    decides, and records a refusal as an event, whichever door it came through)."""
    item = work_item(session, item_id)
    loan = session.get(Loan, item.loan_id)
    loaded = kernel.workflows.loaded(session.get(ProcessInstance, item.instance_id).process_version)
    meta = next(m for m in loaded.user_tasks.values() if m.bpmn_id == item.bpmn_id)
    return TaskFormView(item.id, item.name, loan.reference, meta.form, item.process_id, item.bpmn_id)
