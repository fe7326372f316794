"""People: accounts, role grants, leave, delegation and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from engine.errors import InvalidInput, NotFound
from engine.roles import visible_branches
from engine.store.models import ApiToken, Delegation, Leave, RoleGrant, User
from engine.roles import ROLES


@dataclass(frozen=True)
class GrantView:
    role: str
    branch: str | None
    limit: Decimal | None
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    active: bool
    origination_blocked: bool
    grants: tuple[GrantView, ...]
    session_version: int = 0  # a web session signed in under an older version is void

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def reads_branch(self, branch: str, head_office: str = "HO") -> bool:
        """A loan's file (and its documents) is open to people with a grant in its branch, at head office, or
        bank-wide; an administrator's grant opens nothing."""
        scope = visible_branches(self.grants, head_office)
        return scope is None or branch in scope


def user_view(user: User, today: date | None = None) -> UserView:
    """The user as the web layer sees them; with `today`, only the grants valid that day."""
    grants = [g for g in user.grants if today is None or (
        (g.valid_from is None or g.valid_from <= today) and (g.valid_to is None or today <= g.valid_to))]
    return UserView(user.id, user.username, user.display_name or user.username, user.active,
                    user.origination_blocked,
                    tuple(GrantView(g.role, g.branch, g.limit, g.valid_from, g.valid_to) for g in grants),
                    user.session_version or 0)


# Statements every command runs, built once: building a statement costs more than running it on SQLite.
_USER = select(User).options(joinedload(User.grants)).where(User.username == bindparam("username"))


def away(user_id) -> object:
    """The clause "this user (an id or a column) is on leave on the day bound as `day`"."""
    return exists().where(Leave.user_id == user_id, Leave.starts_on <= bindparam("day"),
                          Leave.ends_on >= bindparam("day"))


_ON_LEAVE = select(away(bindparam("user_id")))


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(_USER, {"username": username}).unique().first()  # one statement, the grants with it


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound("No user named '%(username)s'.", username=username)
    return user


MIN_PASSWORD_LENGTH = 12
# The passwords most often found in breaches, and what staff put in when told "at least 12 characters".
COMMON_PASSWORDS = frozenset("""
123456789012 1234567890123 12345678901234 qwertyuiop12 qwertyuiopasdf 1q2w3e4r5t6y 1qaz2wsx3edc 1qaz2wsx3edc4rfv
password1234 password12345 password123456 passw0rd1234 p@ssw0rd1234 p@ssword1234 administrator admin1234567
admin12345678 welcome12345 welcome123456 iloveyou1234 changeme1234 letmein12345 abc123456789 abcdefghijkl
aaaaaaaaaaaa 111111111111 000000000000 woaini1314520 woaini520520 5201314520131 a123456789012 qq1234567890
zxcvbnm12345 asdfghjkl123 trustno11234 football1234 baseball1234 superman1234 sunshine1234 princess1234
creditflow123 creditflow1234 bank12345678 bankofchina1 icbc12345678
""".split())


def password_problem(password: str, username: str) -> tuple[str, dict] | None:
    """Why a password may not be used (template and parameters), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "A password must have at least %(length)s characters.", {"length": MIN_PASSWORD_LENGTH}
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 3 or (username and username.lower() in lowered):
        return "This password is too easy to guess (a common password, repeated characters or the user name).", {}
    return None


def add_user(session: Session, username: str, password: str | None, display_name: str, now) -> User:
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise InvalidInput("A user name must be letters, digits, '.', '_' or '-' (at most 64).")
    if session.scalar(select(User.id).where(User.username == username)):
        raise InvalidInput("The user '%(username)s' already exists.", username=username)
    problem = password_problem(password, username) if password is not None else None
    if problem:
        template, params = problem
        raise InvalidInput(template, **params)
    user = User(username=username, display_name=display_name or username, created_at=now,
                password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def grant_role(session: Session, username: str, role: str, branch: str | None = None,
               limit: Decimal | None = None, valid_from: date | None = None, valid_to: date | None = None) -> RoleGrant:
    if role not in ROLES:
        raise InvalidInput("'%(role)s' is not a role. Roles: %(roles)s.", role=role, roles=", ".join(ROLES))
    user = get_user(session, username)
    held = {g.role for g in user.grants}
    if role == "admin" and held - {"admin"}:
        raise InvalidInput("An administrator may hold no business role; '%(username)s' holds %(roles)s.",
                           username=username, roles=", ".join(sorted(held)))
    if role != "admin" and "admin" in held:
        raise InvalidInput("'%(username)s' is an administrator and may hold no business role.", username=username)
    if limit is not None and limit < 0:
        raise InvalidInput("A limit cannot be negative.")
    grant = RoleGrant(role=role, branch=branch, limit=limit, valid_from=valid_from, valid_to=valid_to)
    user.grants.append(grant)
    session.flush()
    return grant


# Checked when there is no real hash, so an unknown user name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("no user has this password")


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    usable = user is not None and user.active and user.password_hash
    matches = check_password_hash(user.password_hash if usable else _DUMMY_HASH, password)
    return user if usable and matches else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, username: str, now, valid_days: int = 90) -> tuple[str, ApiToken]:
    """A new bearer token valid for `valid_days`; only its hash is stored, so it is shown once."""
    user = get_user(session, username)
    token = "cf_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=now,
                   expires_at=now + timedelta(days=valid_days))
    session.add(row)
    session.flush()
    return token, row


def user_for_token(session: Session, token: str, now) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked.is_(False)))
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    return user if user and user.active else None


def on_leave(session: Session, user: User, today: date) -> bool:
    return bool(session.connection().scalar(_ON_LEAVE, {"user_id": user.id, "day": today}))


def add_leave(session: Session, username: str, starts_on: date, ends_on: date) -> Leave:
    if ends_on < starts_on:
        raise InvalidInput("Leave must end on or after its first day.")
    leave = Leave(user_id=get_user(session, username).id, starts_on=starts_on, ends_on=ends_on)
    session.add(leave)
    return leave


def add_delegation(session: Session, principal: str, stand_in: str, starts_on: date, ends_on: date) -> Delegation:
    if principal == stand_in:
        raise InvalidInput("A user cannot stand in for themselves.")
    d = Delegation(principal_id=get_user(session, principal).id, stand_in_id=get_user(session, stand_in).id,
                   starts_on=starts_on, ends_on=ends_on)
    session.add(d)
    return d


def principals_of(session: Session, stand_in: User, today: date) -> list[User]:
    """Users this person currently stands in for."""
    rows = session.scalars(select(Delegation).where(
        Delegation.stand_in_id == stand_in.id, Delegation.starts_on <= today, Delegation.ends_on >= today)).all()
    return [session.get(User, d.principal_id) for d in rows]
