"""People as the pages and pickers see them: a user with today's grants, who holds a role, API tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.kernel import Kernel
from engine.store.models import ApiToken, RoleGrant, User, WorkItem
from engine.store.people import UserView, get_user, user_for_token, user_view


def user(session: Session, kernel: Kernel, username: str) -> UserView:
    """The user with the grants valid today (expired or future grants give no access)."""
    return user_view(get_user(session, username), kernel.policy.local_date(kernel.clock.now()))


def user_with_token(session: Session, kernel: Kernel, token: str) -> UserView | None:
    row = user_for_token(session, token, kernel.clock.now())
    return user_view(row, kernel.policy.local_date(kernel.clock.now())) if row else None


def usernames(session: Session) -> list[str]:
    return list(session.scalars(select(User.username).order_by(User.username)))


def users_with_role(session: Session, role: str, branch: str | None) -> list[str]:
    query = select(User.username).join(RoleGrant).where(RoleGrant.role == role, User.active.is_(True))
    if branch:
        query = query.where(or_(RoleGrant.branch == branch, RoleGrant.branch.is_(None)))
    return sorted(set(session.scalars(query)))


def people_to_pick(session: Session, role: str, branch: str | None) -> list[tuple[str, str, int]]:
    """Who may be named for a role, for a picker: (username, display name, open tasks they hold: claimed, or
    assigned to them and not yet claimed), by username."""
    names = users_with_role(session, role, branch)
    if not names:
        return []
    shown = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(names))).all())
    holder = func.coalesce(WorkItem.claimed_by, WorkItem.candidate_user)
    load = dict(session.execute(select(holder, func.count()).where(holder.in_(names)).group_by(holder)).all())
    return [(name, shown.get(name) or name, load.get(name, 0)) for name in names]


def tokens(session: Session, username: str) -> list[tuple[int, datetime, datetime | None, bool]]:
    """A user's API tokens: (id, issued, expires, revoked); the tokens themselves are never stored."""
    owner = get_user(session, username)
    return [(t.id, t.created_at, t.expires_at, t.revoked) for t in session.scalars(
        select(ApiToken).where(ApiToken.user_id == owner.id).order_by(ApiToken.id))]
