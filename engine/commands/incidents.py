"""A person retries an incident now, optionally on the newest deployed version of its process."""
from __future__ import annotations

from engine.commands.migration import move_instance
from engine.commands.messages import retry_message
from engine.commands.timers import fire_timers
from engine.commands.unit import Unit, open_unit
from engine.store.lookups import latest_version
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.kernel import Kernel
from engine.roles import INCIDENT_ROLES
from engine.store.models import Incident, Loan, ProcessInstance
from engine.store.people import get_user


def retry_incident(kernel: Kernel, incident_id: int, actor: str, to_latest: bool, source: str) -> None:
    """Only an administrator or a process designer retries; a failed task completion is retried by completing
    the task again."""
    with open_unit(kernel, source, "retry_incident") as unit:
        user = get_user(unit.session, actor)
        if not any(g.role in INCIDENT_ROLES for g in user.grants):
            raise NotAllowed("Only an administrator or a process designer may retry an incident.")
        incident = unit.session.get(Incident, incident_id)
        if incident is None:
            raise NotFound("No incident %(id)s.", id=incident_id)
        if incident.status != "open":
            raise InvalidInput("Incident %(id)s is already resolved.", id=incident_id)
        if incident.kind == "task":
            raise InvalidInput("A failed task completion is retried by completing the task again; "
                               "it closes by itself when the step goes through.")
        if incident.kind == "unserved":
            raise InvalidInput("Nobody may perform this task: grant the role to someone the rules allow, or have "
                               "a supervisor reassign it; the incident closes when the task is done.")
        instance = unit.session.get(ProcessInstance, incident.instance_id)
        loan = unit.session.get(Loan, instance.loan_id)
        if to_latest:
            _move_to_latest(unit, instance, loan, actor)
        incident.next_attempt_at = kernel.clock.now()
        unit.audit.record("incident_retried", actor=actor, loan_ref=loan.reference, instance_id=instance.id,
                          process_id=instance.process_version.process_id,
                          process_version=instance.process_version.version, step=incident.step,
                          detail={"incident": incident.id, "to_latest": to_latest})
        kind = incident.kind
    if kind == "timer":
        fire_timers(kernel, incident.instance_id)
    else:
        retry_message(kernel, incident)


def _move_to_latest(unit: Unit, instance: ProcessInstance, loan: Loan, actor: str) -> None:
    """Carry a running instance over to the newest version of its process (a fixed redesign)."""
    latest = latest_version(unit.session, instance.process_version.process_id)
    if latest.id == instance.process_version_id:
        raise InvalidInput("%(process)s has no version newer than %(version)s; deploy the fixed design first.",
                           process=latest.process_id, version=latest.version)
    move_instance(unit, instance, loan, latest, actor, fixing=True)
    if instance.status == "running":
        instance.next_timer_due = unit.clock.now()  # the retry that follows runs what the migration re-planned
