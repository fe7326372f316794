"""People: users, role grants, leave and delegations. Each change is an audit event."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from engine.commands.unit import Unit
from engine.errors import InvalidInput
from engine.i18n import LOCALES
from engine.store import people as users
from engine.store.models import User
from engine.store.people import get_user

# One address, no display name: local part, @, a domain with a dot.
EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


def add_user(unit: Unit, username: str, password: str | None, display_name: str, actor: str | None) -> None:
    users.add_user(unit.session, username, password, display_name, unit.clock.now())
    unit.audit.record("user_added", actor=actor, detail={"username": username, "display_name": display_name})


def add_people(unit: Unit, people, password: str | None, actor: str | None) -> list[str]:
    """Add several users with their grants (skips existing names); returns who was added."""
    added = []
    existing = set(unit.session.scalars(select(User.username)))
    for person in people:
        if person.username in existing:
            continue
        users.add_user(unit.session, person.username, password, person.display_name, unit.clock.now())
        unit.audit.record("user_added", actor=actor, detail={"username": person.username,
                                                             "display_name": person.display_name})
        for role, branch, limit in person.grants:
            users.grant_role(unit.session, person.username, role, branch, limit)
            unit.audit.record("role_granted", actor=actor, detail={
                "username": person.username, "role": role, "branch": branch, "limit": limit})
        added.append(person.username)
    return added


def grant_role(unit: Unit, username: str, role: str, branch: str | None, limit: Decimal | None,
               valid_from, valid_to, actor: str | None) -> list:
    """Grant a role; returns the pair rules the combination of roles now puts at risk (to warn about)."""
    held = {g.role for g in get_user(unit.session, username).grants}
    users.grant_role(unit.session, username, role, branch, limit, valid_from, valid_to)
    at_risk = unit.policy.pairs_at_risk(held, role)
    unit.audit.record("role_granted", actor=actor, detail={
        "username": username, "role": role, "branch": branch, "limit": limit,
        "valid_from": valid_from, "valid_to": valid_to, "pairs_at_risk": [p.id for p in at_risk]})
    return at_risk


def record_leave(unit: Unit, username: str, starts_on, ends_on, actor: str | None) -> None:
    users.add_leave(unit.session, username, starts_on, ends_on)
    unit.audit.record("leave_recorded", actor=actor, detail={"username": username, "from": starts_on,
                                                             "to": ends_on})


def delegate(unit: Unit, principal: str, stand_in: str, starts_on, ends_on, actor: str | None) -> None:
    users.add_delegation(unit.session, principal, stand_in, starts_on, ends_on)
    unit.audit.record("delegation_recorded", actor=actor, detail={
        "principal": principal, "stand_in": stand_in, "from": starts_on, "to": ends_on})


def set_contact(unit: Unit, username: str, email: str | None, locale: str | None, actor: str | None) -> None:
    """A user's e-mail address ("" clears it) and language for notifications; None leaves a value as it is."""
    user = get_user(unit.session, username)
    before = {"email": user.email, "locale": user.locale}
    if email is not None:
        email = email.strip()
        if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
            raise InvalidInput("'%(value)s' is not an e-mail address.", value=email,
                               field_templates={"email": ("Not an e-mail address.", {})})
        user.email = email or None
    if locale is not None:
        if locale not in LOCALES:
            raise InvalidInput("The language must be one of: %(choices)s.", choices=", ".join(LOCALES),
                               field_templates={"locale": ("Not a known language.", {})})
        user.locale = locale
    unit.audit.record("user_contact_changed", actor=actor, detail={
        "username": username, "before": before, "after": {"email": user.email, "locale": user.locale}})
