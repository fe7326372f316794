"""Deployed processes: versions, their files, and how their duties and lanes meet the policy."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.kernel import Kernel
from engine.store.models import ProcessVersion


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
