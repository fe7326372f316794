"""Who can work today, counted per role: what lint needs to tell a task nobody could ever do."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.kernel import Kernel
from engine.runtime.lint import Staff
from engine.store.models import RoleGrant, User


def staff(session: Session, kernel: Kernel) -> Staff:
    """Active users with a grant valid today, per role; and per role those whose grant is at head office or
    bank-wide (no branch)."""
    today = kernel.policy.local_date(kernel.clock.now())
    head_office = kernel.policy.params.get("head_office_branch")
    rows = session.execute(
        select(RoleGrant.role, RoleGrant.branch, User.id).join(User, RoleGrant.user_id == User.id).where(
            User.active.is_(True),
            or_(RoleGrant.valid_from.is_(None), RoleGrant.valid_from <= today),
            or_(RoleGrant.valid_to.is_(None), RoleGrant.valid_to >= today)))
    holders: dict[str, set[int]] = defaultdict(set)
    at_head_office: dict[str, set[int]] = defaultdict(set)
    for role, branch, user_id in rows:
        holders[role].add(user_id)
        if branch is None or branch == head_office:
            at_head_office[role].add(user_id)
    return Staff({role: len(ids) for role, ids in holders.items()},
                 {role: len(ids) for role, ids in at_head_office.items()})
