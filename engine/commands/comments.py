"""Comments on a credit file: kept in the audit trail, so a comment can be neither edited nor removed."""
from __future__ import annotations

from engine.commands.unit import Unit
from engine.errors import InvalidInput, NotAllowed
from engine.roles import NON_LANE_ROLES, visible_branches
from engine.store.lookups import loan_row
from engine.store.people import get_user

MAX_COMMENT = 2000


def add_comment(unit: Unit, actor: str, loan_ref: str, text: str) -> None:
    """Anyone who may open the file may write on it; the comment names its author and time."""
    loan = loan_row(unit.session, loan_ref)
    user = get_user(unit.session, actor)
    if not {g.role for g in user.grants} - NON_LANE_ROLES:
        raise NotAllowed("Comments on a credit file are written by the staff who work on loans; auditors and "
                         "administrators read the file.")
    scope = visible_branches(user.grants, str(unit.policy.params.get("head_office_branch", "HO")))
    if scope is not None and loan.branch not in scope:
        raise NotAllowed("You may not open loan %(loan)s: it belongs to branch %(branch)s.", loan=loan_ref,
                         branch=loan.branch)
    body = (text or "").strip()
    if not body:
        raise InvalidInput("Write the comment before saving it.")
    if len(body) > MAX_COMMENT:
        raise InvalidInput("A comment has at most %(max)s characters; this one has %(count)s.", max=MAX_COMMENT,
                           count=len(body))
    unit.audit.record("comment_added", actor=actor, loan_ref=loan.reference, reason=body)
