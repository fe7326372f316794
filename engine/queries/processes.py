"""Deployed processes: versions, their files, and how their duties and lanes meet the policy."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.kernel import Kernel
from engine.runtime.diff_bpmn import read_diagram
from engine.store.models import ProcessInstance, ProcessVersion
from engine.views import ProcessEntry, StepView, VersionEntry


def deployed(session: Session) -> list[tuple[str, int, datetime]]:
    rows = session.execute(select(ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.deployed_at)
                           .order_by(ProcessVersion.process_id, ProcessVersion.version)).all()
    return [tuple(r) for r in rows]


def process_files(session: Session, version_id: int) -> dict[str, str]:
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound("No process version %(id)s.", id=version_id)
    return dict(version.files)


def duties_in_use(session: Session, kernel: Kernel) -> dict[str, set[str]]:
    """Duty -> lane roles, over the newest version of every deployed process."""
    newest: dict[str, ProcessVersion] = {}
    for version in session.scalars(select(ProcessVersion).order_by(ProcessVersion.version)):
        newest[version.process_id] = version
    used: dict[str, set[str]] = {}
    for version in newest.values():
        for meta in kernel.workflows.loaded(version).user_tasks.values():
            used.setdefault(meta.duty, set()).add(meta.role)
    return used


def policy_problems(session: Session, kernel: Kernel) -> list[str]:
    """Where the deployed diagrams and the policy disagree: unknown duties, lanes the policy never allows."""
    policy = kernel.policy
    used = duties_in_use(session, kernel)
    problems = policy.check_against_bpmn(set(used), kernel.gate.lane_roles)
    for duty, roles in sorted(used.items()):
        spec = policy.duty_specs.get(duty)
        for role in sorted(roles - set(spec.roles if spec else roles)):
            problems.append(f"BPMN puts duty {duty!r} in lane {role!r}, but policy {policy.version} "
                            f"assigns it to {', '.join(spec.roles)}")
    return problems


def library(session: Session) -> list[ProcessEntry]:
    """Every process with its versions, newest first, and the instances not finished on each version."""
    running = dict(session.execute(
        select(ProcessInstance.process_version_id, func.count()).where(ProcessInstance.status != "completed")
        .group_by(ProcessInstance.process_version_id)).all())
    rows = session.execute(select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.version,
                                  ProcessVersion.name, ProcessVersion.designed_by, ProcessVersion.approved_by,
                                  ProcessVersion.deployed_at)
                           .order_by(ProcessVersion.process_id, ProcessVersion.version.desc())).all()
    versions: dict[str, list[VersionEntry]] = {}
    for row in rows:
        versions.setdefault(row.process_id, []).append(VersionEntry(*row, running=running.get(row.id, 0)))
    return [ProcessEntry(pid, entries[0].name, tuple(entries)) for pid, entries in versions.items()]


def _version(session: Session, process_id: str, version: int) -> ProcessVersion:
    found = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                        ProcessVersion.version == version))
    if found is None:
        raise NotFound("No version %(version)s of process %(process)s.", version=version, process=process_id)
    return found


def version_entry(session: Session, process_id: str, version: int) -> VersionEntry:
    for entry in library(session):
        for each in entry.versions if entry.process_id == process_id else ():
            if each.version == version:
                return each
    raise NotFound("No version %(version)s of process %(process)s.", version=version, process=process_id)


def version_files(session: Session, process_id: str, version: int) -> dict[str, str]:
    """The files a version was deployed with (BPMN, DMN, forms, catalogs), name -> text."""
    return dict(_version(session, process_id, version).files)


def version_steps(session: Session, kernel: Kernel, process_id: str, version: int) -> list[StepView]:
    """The user tasks of a version, in the order the diagram declares them."""
    row = _version(session, process_id, version)
    loaded = kernel.workflows.loaded(row)
    order = {node_id: i for name, text in row.files.items() if name.endswith(".bpmn")
             for i, node_id in enumerate(read_diagram(text, None).nodes)}
    metas = sorted(loaded.user_tasks.values(), key=lambda meta: order.get(meta.bpmn_id, len(order)))
    return [StepView(meta.bpmn_id, meta.name, meta.role, meta.duty, meta.stage, meta.form.get("title", ""),
                     meta.form.get("x-title-zh", ""), meta.due, meta.assignee)
            for meta in metas]
