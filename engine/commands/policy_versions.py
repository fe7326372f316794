"""The policy goes through the same four eyes as the processes: a change may carry a new policy text; once another
designer approves it, it is stored here and every worker switches to it (checked every few seconds of the engine's
clock, at the start of a command)."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import DatabaseUnavailable
from engine.runtime.validation import N_, Problem, problem
from engine.store.models import AuditEvent, PolicyVersion
from policies import DEFAULT_POLICY, PolicyFormatError, parse_policy

POLICY_FILE = "policy.yaml"  # how a change names the policy it carries
CHECK_EVERY = timedelta(seconds=5)


def candidate(text: str, current, session) -> tuple[object | None, list[Problem]]:
    """The policy a change proposes, or the problems that keep it from being deployed."""
    try:
        policy = parse_policy(text, POLICY_FILE)
    except PolicyFormatError as exc:
        return None, [Problem(POLICY_FILE, None, None, str(exc))]
    if policy.sha256 == current.sha256:
        return policy, []
    used = set(session.scalars(select(PolicyVersion.version))) | {
        (detail or {}).get("version") for detail in session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "policy_deployed"))}
    if policy.version == current.version or policy.version in used:
        return None, [problem(POLICY_FILE, None, "version", N_("version %(version)s was deployed before with other "
                                                               "content; a changed policy needs a new version number"),
                              version=policy.version)]
    return policy, []


def record(unit, policy, text: str, designer: str, approver: str, change_id: int | None) -> None:
    """The approved policy becomes the newest version; every worker switches to it once it is committed."""
    unit.session.add(PolicyVersion(version=policy.version, sha256=policy.sha256, text=text, designed_by=designer,
                                   approved_by=approver, change_id=change_id, deployed_at=unit.clock.now()))
    unit.audit.record("policy_deployed", actor=approver, detail={
        "version": policy.version, "sha256": policy.sha256, "designed_by": designer, "approved_by": approver,
        "change": change_id, "previous": unit.policy.version})


def refresh(kernel, session) -> None:
    """Switch to a newer approved policy if another worker deployed one (one cheap read every few seconds)."""
    now = kernel.clock.now()
    checked = getattr(kernel, "policy_checked_at", None)
    if checked is not None and now - checked < CHECK_EVERY:
        return
    kernel.policy_checked_at = now
    newest = session.execute(select(PolicyVersion.id, PolicyVersion.sha256)
                             .order_by(PolicyVersion.id.desc()).limit(1)).first()
    if newest is None or newest.sha256 == kernel.policy.sha256:
        return
    text = session.scalar(select(PolicyVersion.text).where(PolicyVersion.id == newest.id))
    kernel.use_policy(parse_policy(text, POLICY_FILE))


def current_text(kernel, session) -> str | None:
    """The YAML of the policy in use: its approved version, else the policy file it was loaded from."""
    newest = session.scalar(select(PolicyVersion).where(PolicyVersion.sha256 == kernel.policy.sha256)
                            .order_by(PolicyVersion.id.desc()).limit(1))
    if newest is not None:
        return newest.text
    path = Path(kernel.settings.policy_path) if kernel.settings.policy_path else DEFAULT_POLICY
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data.decode("utf-8") if hashlib.sha256(data).hexdigest() == kernel.policy.sha256 else None


def load_newest(kernel) -> None:
    """At start, and after this process approved one: the newest approved policy wins over the file (before the
    schema exists there is none)."""
    kernel.policy_checked_at = None
    try:
        with kernel.db.reading() as session:
            refresh(kernel, session)
    except (SQLAlchemyError, DatabaseUnavailable):  # the worker waits for the database itself
        return
