"""Policy and people over time, for compliance: the policy versions with their text and what changed between two,
and one person's grants, leave and delegations as a timeline (from the tables and the audit events)."""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.store.models import AuditEvent, Delegation, Leave, PolicyVersion, RoleGrant, User
from policies import DEFAULT_POLICY, PolicyFormatError, parse_policy

BUNDLED = "bundled"  # how the policy file shipped with the release is named among the versions
PEOPLE_ACTIONS = ("user_added", "role_granted", "leave_recorded", "delegation_recorded", "origination_blocked",
                  "origination_unblocked", "token_issued", "token_revoked", "user_contact_changed")


# -- policy versions -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyVersionView:
    version: str
    sha256: str
    designed_by: str | None  # nobody for the bundled file
    approved_by: str | None
    change_id: int | None
    deployed_at: datetime | None
    text: str
    bundled: bool
    current: bool


@dataclass(frozen=True)
class PolicyDiff:
    """What changed between two versions: a line diff of the YAML and the keys added, removed or changed."""

    old: PolicyVersionView
    new: PolicyVersionView
    lines: tuple[str, ...]  # unified diff
    duties: tuple[tuple[str, str], ...]  # (duty id, added | removed | changed)
    pairs: tuple[tuple[str, str], ...]  # (rule id, ...)
    parameters: tuple[tuple[str, str, object, object], ...]  # (name, kind, before, after)


def _bundled(session: Session, policy_path: str | None) -> PolicyVersionView | None:
    path = Path(policy_path) if policy_path else DEFAULT_POLICY
    try:
        text = path.read_bytes().decode("utf-8")
        policy = parse_policy(text, path.name)
    except (OSError, UnicodeDecodeError, PolicyFormatError):
        return None
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    first = session.scalar(select(AuditEvent.occurred_at).where(
        AuditEvent.action == "policy_deployed", AuditEvent.policy_version == policy.version)
        .order_by(AuditEvent.id).limit(1))
    return PolicyVersionView(policy.version, sha, None, None, None, first, text, True, False)


def policy_versions(session: Session, policy_path: str | None, current_sha256: str) -> list[PolicyVersionView]:
    """Oldest first: the policy file the bank started from, then every version approved through a change."""
    rows = session.scalars(select(PolicyVersion).order_by(PolicyVersion.id)).all()
    found = [PolicyVersionView(r.version, r.sha256, r.designed_by, r.approved_by, r.change_id, r.deployed_at, r.text,
                               False, False) for r in rows]
    bundled = _bundled(session, policy_path)
    if bundled is not None and all(v.version != bundled.version for v in found):
        found.insert(0, bundled)
    current = next((i for i in range(len(found) - 1, -1, -1) if found[i].sha256 == current_sha256), None)
    if current is not None:
        found[current] = PolicyVersionView(**{**found[current].__dict__, "current": True})
    return found


def _keys(data, name: str) -> dict:
    value = data.get(name) if isinstance(data, dict) else None
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(v.get("id")): v for v in value if isinstance(v, dict)}
    return {}


def _compare(old: dict, new: dict) -> list[tuple[str, str]]:
    return [(key, "added" if key not in old else "removed" if key not in new else "changed")
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def policy_diff(old: PolicyVersionView, new: PolicyVersionView) -> PolicyDiff:
    lines = tuple(line.rstrip("\n") for line in difflib.unified_diff(
        old.text.splitlines(), new.text.splitlines(), f"policy {old.version}", f"policy {new.version}", lineterm=""))
    try:
        before, after = yaml.safe_load(old.text) or {}, yaml.safe_load(new.text) or {}
    except yaml.YAMLError:
        before, after = {}, {}
    params_old, params_new = _keys(before, "parameters"), _keys(after, "parameters")
    parameters = tuple((key, kind, params_old.get(key), params_new.get(key))
                       for key, kind in _compare(params_old, params_new))
    return PolicyDiff(old, new, lines, tuple(_compare(_keys(before, "duties"), _keys(after, "duties"))),
                      tuple(_compare(_keys(before, "incompatible"), _keys(after, "incompatible"))), parameters)


# -- people --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a person's standing: `kind` is an audit action (role_granted, leave_recorded,
    delegation_recorded ...) or `grant_held` for a grant the tables hold with no event recording it."""

    at: datetime | None
    kind: str
    actor: str | None
    event_id: int | None
    role: str | None = None
    branch: str | None = None
    limit: str | None = None
    starts_on: date | str | None = None
    ends_on: date | str | None = None
    other: str | None = None  # the principal or stand-in of a delegation
    acting_for: bool = False  # this person stands in for `other`
    detail: dict | None = None


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    active: bool
    created_at: datetime | None
    grants: tuple[tuple[str, str | None, str | None, date | None, date | None], ...]  # held now
    leave: tuple[tuple[date, date], ...]
    delegations: tuple[tuple[str, str, date, date], ...]  # (principal, stand-in, from, to)
    timeline: tuple[TimelineEntry, ...]


def display_names(session: Session) -> dict[str, str]:
    """Every user's name as the bank writes it (the username where none was given)."""
    return {name: shown or name for name, shown in session.execute(select(User.username, User.display_name))}


def _about(detail: dict, username: str) -> bool:
    return username in {detail.get("username"), detail.get("principal"), detail.get("stand_in")}


def _text(value) -> str | None:
    return None if value in (None, "") else str(value)


def person(session: Session, username: str) -> Person | None:
    """A person's standing now and its history, oldest first (events where they are the subject)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    names = {u.id: u.username for u in session.scalars(select(User))}
    grants = tuple((g.role, g.branch, _text(g.limit), g.valid_from, g.valid_to)
                   for g in session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)
                                            .order_by(RoleGrant.id)))
    leave = tuple((r.starts_on, r.ends_on) for r in session.scalars(
        select(Leave).where(Leave.user_id == user.id).order_by(Leave.starts_on)))
    delegations = tuple((names.get(d.principal_id, "?"), names.get(d.stand_in_id, "?"), d.starts_on, d.ends_on)
                        for d in session.scalars(select(Delegation).where(or_(
                            Delegation.principal_id == user.id, Delegation.stand_in_id == user.id))
                            .order_by(Delegation.starts_on)))
    events = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(PEOPLE_ACTIONS))
                             .order_by(AuditEvent.id)).all()
    timeline: list[TimelineEntry] = []
    recorded_grants = set()
    for e in events:
        detail = e.detail if isinstance(e.detail, dict) else {}
        if not _about(detail, username):
            continue
        if e.action == "role_granted":
            recorded_grants.add((detail.get("role"), detail.get("branch")))
            timeline.append(TimelineEntry(e.occurred_at, e.action, e.actor, e.id, role=detail.get("role"),
                                          branch=detail.get("branch"), limit=_text(detail.get("limit")),
                                          starts_on=detail.get("valid_from"), ends_on=detail.get("valid_to"),
                                          detail=detail))
        elif e.action == "delegation_recorded":
            stands_in = detail.get("stand_in") == username
            timeline.append(TimelineEntry(e.occurred_at, e.action, e.actor, e.id, starts_on=detail.get("from"),
                                          ends_on=detail.get("to"), acting_for=stands_in, detail=detail,
                                          other=detail.get("principal") if stands_in else detail.get("stand_in")))
        elif e.action == "leave_recorded":
            timeline.append(TimelineEntry(e.occurred_at, e.action, e.actor, e.id, starts_on=detail.get("from"),
                                          ends_on=detail.get("to"), detail=detail))
        else:
            timeline.append(TimelineEntry(e.occurred_at, e.action, e.actor, e.id, detail=detail))
    # grants given before grants were audited (or straight in the database) still show, undated
    held = [TimelineEntry(None, "grant_held", None, None, role=role, branch=branch, limit=limit, starts_on=valid_from,
                          ends_on=valid_to) for role, branch, limit, valid_from, valid_to in grants
            if (role, branch) not in recorded_grants]
    return Person(user.username, user.display_name or user.username, user.active, user.created_at, grants, leave,
                  delegations, tuple(held + timeline))
