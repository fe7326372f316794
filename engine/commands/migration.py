"""Running instances stay on their version; a process designer may move chosen ones to another version of the
same process where that is safe (every step they have done or are at exists unchanged there), with a reason."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.commands.flow import advance
from engine.commands.unit import Unit, open_unit, record_refusal
from engine.errors import EngineError, InvalidInput, NotAllowed, NotFound
from engine.kernel import Kernel
from engine.runtime import execution
from engine.store.lookups import loan_row
from engine.store.models import ProcessInstance, ProcessVersion
from engine.store.people import get_user

MAX_LOANS = 500


@dataclass(frozen=True)
class MigrationOutcome:
    loan_ref: str
    from_version: int | None
    to_version: int
    migrated: bool
    template: str = ""  # why not, as a message template with its parameters
    params: tuple = ()

    @property
    def reason(self) -> str:
        return self.template % dict(self.params) if self.params else self.template


def move_instance(unit: Unit, instance: ProcessInstance, loan, target: ProcessVersion, actor: str,
                  reason: str | None = None, fixing: bool = False) -> list[str]:
    """Carry one running instance over to `target`; refused (InvalidInput) unless it is safe. Returns the steps
    re-planned. `fixing`: an incident's retry on a fixed version, where the failed step itself is what changed."""
    workflow, _old = unit.workflows.restore(instance)
    new = unit.workflows.loaded(target)
    blockers = [] if fixing else execution.migration_blockers(workflow, new, unit.workflows.serializer.registry)
    if blockers:
        raise InvalidInput("Version %(version)s lacks or changes steps this instance has done or is at: %(steps)s.",
                           version=target.version, steps=", ".join(blockers))
    removed = execution.migrate(workflow, new, unit.workflows.serializer.registry)
    params = {k: unit.policy.params[k] for k in execution.PROCESS_PARAMETERS if k in unit.policy.params}
    for task in workflow.get_tasks():  # parameters a newer version reads, which older instances never got
        for name, value in params.items():
            task.data.setdefault(name, value)
    before = instance.process_version.version
    instance.process_version, instance.process_version_id = target, target.id
    unit.audit.record("instance_migrated", actor=actor, loan_ref=loan.reference, instance_id=instance.id,
                      process_id=target.process_id, process_version=target.version, reason=reason,
                      detail={"from_version": before, "to_version": target.version, "reset_steps": removed})
    advance(unit, instance, workflow, new, loan, execution.StepLog())
    return removed


def migrate_loans(kernel: Kernel, actor: str, process_id: str, version: int, loan_refs: list[str], reason: str,
                  source: str) -> list[MigrationOutcome]:
    """Each loan in its own transaction: one refusal (recorded in the audit trail) never undoes another's move."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why these loans move to another version; the reason is kept in the audit trail.")
    refs = list(dict.fromkeys(r.strip() for r in loan_refs if r and r.strip()))
    if not refs:
        raise InvalidInput("Name at least one loan to move.")
    if len(refs) > MAX_LOANS:
        raise InvalidInput("At most %(limit)s loans at a time.", limit=MAX_LOANS)
    with kernel.db.reading() as session:
        user = get_user(session, actor)
        if not user.active or not any(g.role == "process_designer" for g in user.grants):
            raise NotAllowed("Only a process designer may move running loans to another process version.")
        if session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == process_id,
                                                          ProcessVersion.version == version)) is None:
            raise NotFound("Process %(process)s has no version %(version)s.", process=process_id, version=version)
    return [_migrate_one(kernel, actor, process_id, version, ref, reason, source) for ref in refs]


def _migrate_one(kernel, actor, process_id, version, ref, reason, source) -> MigrationOutcome:
    current = None
    try:
        with open_unit(kernel, source, "migrate_instance") as unit:
            loan = loan_row(unit.session, ref)
            instance = unit.session.scalar(
                select(ProcessInstance).join(ProcessVersion, ProcessInstance.process_version_id == ProcessVersion.id)
                .where(ProcessInstance.loan_id == loan.id, ProcessInstance.status == "running",
                       ProcessVersion.process_id == process_id).with_for_update(of=ProcessInstance))
            if instance is None:
                raise InvalidInput("Loan %(loan)s has no running %(process)s.", loan=ref, process=process_id)
            current = instance.process_version.version
            if current == version:
                raise InvalidInput("Loan %(loan)s already runs version %(version)s.", loan=ref, version=version)
            target = unit.session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                                      ProcessVersion.version == version))
            move_instance(unit, instance, loan, target, actor, reason)
    except EngineError as exc:
        _record_refusal(kernel, source, actor, ref, process_id, current, version, exc)
        return MigrationOutcome(ref, current, version, False, exc.template, tuple(sorted(exc.params.items())))
    return MigrationOutcome(ref, current, version, True)


def _record_refusal(kernel, source, actor, ref, process_id, current, version, exc: EngineError) -> None:
    record_refusal(kernel, source, dict(actor=actor, loan_ref=None if isinstance(exc, NotFound) else ref,
                                        process_id=process_id, reason=str(exc),
                                        detail={"attempted": "migrate_instance", "from_version": current,
                                                "to_version": version, "template": exc.template,
                                                "params": {k: str(v) for k, v in exc.params.items()}}))
