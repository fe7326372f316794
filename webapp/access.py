"""Who is signed in, and the permission helpers that abort in one place."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import UserMixin, current_user, login_required

from engine.errors import NotFound

from .extensions import credit_engine, login_manager

class WebUser(UserMixin):
    """The engine's UserView as Flask-Login wants it (the id is the user name)."""

    def __init__(self, view):
        self.view = view

    def get_id(self) -> str:
        """The user name and the session version: signing out bumps the version and voids every old cookie."""
        return f"{self.view.session_version}:{self.view.username}"

    @property
    def username(self) -> str:
        return self.view.username

    @property
    def display_name(self) -> str:
        return self.view.display_name

    @property
    def is_active(self) -> bool:
        return self.view.active

    @property
    def roles(self) -> set[str]:
        return self.view.roles

    def has_role(self, role: str) -> bool:
        return self.view.has_role(role)

    def branches(self, role: str | None = None) -> set[str | None]:
        return {g.branch for g in self.view.grants if role is None or g.role == role}

    def sees_branch(self, branch: str, head_office: str = "HO") -> bool:
        """A loan's file is open to people with a grant in its branch, at head office, or bank-wide (the engine's
        rule, which also guards its documents)."""
        return self.view.reads_branch(branch, head_office)


@login_manager.user_loader
def load_user(session_id: str):
    version, _sep, username = session_id.partition(":")
    try:
        view = credit_engine().user(username)
    except NotFound:
        return None
    return WebUser(view) if view.active and version == str(view.session_version) else None


def role_required(role: str):
    """Like login_required, and the user must hold `role` (else 403)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def head_office() -> str:
    return str(credit_engine().policy.params.get("head_office_branch", "HO"))


def get_loan(reference: str, user=None, with_paths: bool = False):
    """The loan's file if this user may open it: 404 when there is no such loan, 403 for another branch."""
    user = user or current_user
    try:
        loan = credit_engine().loan(reference, with_paths=with_paths)
    except NotFound:
        abort(404)
    if not user.sees_branch(loan.branch, head_office()):
        abort(403)
    return loan
