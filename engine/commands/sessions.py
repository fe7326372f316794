"""Signing in and out, and API tokens: every attempt, good or bad, is an audit event."""
from __future__ import annotations

from engine.commands.unit import Unit, open_unit
from engine.errors import NotFound, TooManyAttempts
from engine.kernel import Kernel
from engine.store import people as users
from engine.store import sign_in_throttle
from engine.store.models import ApiToken, User
from engine.store.people import get_user


def sign_in(kernel: Kernel, username: str, password: str, source: str, free_attempts: int,
            max_lock_seconds: int):
    """Check a password; returns a UserView, or None for a wrong one.

    After `free_attempts` consecutive failures the user name must wait (doubling per further failure, at most
    `max_lock_seconds`); an attempt in that time is recorded and raises TooManyAttempts without looking at the
    password."""
    with open_unit(kernel, source, "sign_in") as unit:
        sign_in_throttle.take_turn(unit.session, username)
        wait = sign_in_throttle.wait_seconds(unit.session, username, kernel.clock.now(), free_attempts,
                                             max_lock_seconds)
        if not wait:
            user = users.authenticate(unit.session, username, password)
            unit.audit.record("signed_in" if user else "sign_in_failed", actor=username,
                              outcome="done" if user else "denied")
            return users.user_view(user, kernel.policy.local_date(kernel.clock.now())) if user else None
        unit.audit.record("sign_in_failed", actor=username, outcome="denied", rule=TooManyAttempts.code,
                          detail={"wait_seconds": wait})
    raise TooManyAttempts("Too many failed sign-ins for %(username)s; try again in %(seconds)s seconds.",
                          username=username, seconds=wait)


def sign_out(unit: Unit, username: str) -> None:
    """End every session of this user: a cookie copied before sign-out opens nothing afterwards."""
    user = get_user(unit.session, username)
    user.session_version = (user.session_version or 0) + 1
    unit.audit.record("signed_out", actor=username)


def issue_token(unit: Unit, username: str, actor: str | None) -> str:
    token, row = users.issue_token(unit.session, username, unit.clock.now(), unit.kernel.settings.token_valid_days)
    unit.audit.record("token_issued", actor=actor, detail={"username": username, "token_id": row.id,
                                                           "expires_at": row.expires_at})
    return token


def revoke_token(unit: Unit, token_id: int, actor: str | None) -> None:
    row = unit.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("No API token %(id)s.", id=token_id)
    row.revoked = True
    unit.audit.record("token_revoked", actor=actor, detail={"token_id": token_id,
                                                            "username": unit.session.get(User, row.user_id).username})
