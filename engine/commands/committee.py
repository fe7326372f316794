"""The chair closes a credit committee meeting with the members present, once the others' time to vote is over:
their votes are reported to the chair when overdue, and the tally counts only those who voted (the quorum rule
decides whether that is enough; without quorum the committee reconvenes, it never rejects)."""
from __future__ import annotations

from sqlalchemy import select
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import ParallelMultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from engine.commands.flow import advance
from engine.commands.unit import Unit, locked_item
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.runtime import execution
from engine.store.lookups import loan_row
from engine.store.models import DutyRecord, WorkItem
from engine.store.people import get_user

VOTE = "vote"


def close_meeting(unit: Unit, actor: str, loan_ref: str, reason: str) -> list[str]:
    """Close the meeting on this loan with those present; returns the members recorded absent."""
    if not (reason or "").strip():
        raise InvalidInput("Give the reason for closing the meeting without the missing votes.")
    loan = loan_row(unit.session, loan_ref)
    open_votes = unit.session.scalars(select(WorkItem).where(
        WorkItem.loan_id == loan.id, WorkItem.duty == VOTE).order_by(WorkItem.id)).all()
    if not open_votes:
        raise NotFound("No committee meeting is waiting for votes on loan %(loan)s.", loan=loan_ref)
    first, instance = locked_item(unit, open_votes[0].id)
    open_votes = unit.session.scalars(select(WorkItem).where(
        WorkItem.instance_id == instance.id, WorkItem.duty == VOTE).order_by(WorkItem.id)).all()
    chair = unit.session.scalar(select(DutyRecord.username).where(
        DutyRecord.instance_id == instance.id, DutyRecord.duty == "convene_committee")
        .order_by(DutyRecord.id.desc()).limit(1))
    user = get_user(unit.session, actor)
    if chair != user.username:
        raise NotAllowed("Only the chair who convened the meeting, %(chair)s, may close it.", chair=chair or "-")
    now = unit.clock.now()
    if any(v.candidate_user == actor for v in open_votes):
        raise InvalidInput("Cast your own vote first: the chair must be present for the meeting to have a quorum.")
    waiting = [v for v in open_votes if v.due_at is not None and v.due_at > now]
    if waiting:
        latest = max(v.due_at for v in waiting)
        raise InvalidInput("Members still have until %(due)s to vote; the meeting can close only after that.",
                           due=unit.policy.local_date(latest).isoformat())
    workflow, loaded = unit.workflows.checkout(unit, instance)
    meeting = next((t for t in workflow.get_tasks(state=TaskState.STARTED)
                    if isinstance(t.task_spec, ParallelMultiInstanceTask)
                    and t.task_spec.bpmn_id == first.bpmn_id), None)
    if meeting is None:
        raise NotFound("No committee meeting is waiting for votes on loan %(loan)s.", loan=loan_ref)
    absent = sorted(v.candidate_user for v in open_votes if v.candidate_user)
    members = list(meeting.data.get("committee_members") or [])
    meeting.data.update(convened_members=members, absent_members=absent,
                        committee_members=[m for m in members if m not in absent])
    for child in list(meeting.children):
        if child.task_spec.name == meeting.task_spec.task_spec and not child.has_state(TaskState.FINISHED_MASK):
            child.cancel()
    meeting._set_state(TaskState.READY)  # what Spiff does when a completion condition holds
    unit.audit.record("meeting_closed", actor=actor, role="committee_chair", loan_ref=loan.reference,
                      process_id=loaded.process_id, process_version=instance.process_version.version,
                      instance_id=instance.id, step=first.bpmn_id, step_name=first.name, reason=reason,
                      detail={"present": meeting.data["committee_members"], "absent": absent,
                              "votes_cast": len(meeting.data.get("votes") or [])})
    log = execution.StepLog()
    unit.current = instance.id
    execution.run_engine(workflow, log)
    advance(unit, instance, workflow, loaded, loan, log)
    return absent
