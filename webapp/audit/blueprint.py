"""The /audit blueprint and its guard: signed in, and the auditor role."""
from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user

from ..extensions import login_manager

bp = Blueprint("audit", __name__, url_prefix="/audit", static_folder="static", static_url_path="/static")
AUDITOR = "auditor"
ADMIN_TOO = {"audit.person_page"}  # a person's standing over time: the system administrator manages it


@bp.before_request
def auditors_only():
    """Sign-in first, then the auditor role (403 for everyone else, whatever else they hold)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(AUDITOR) and not (request.endpoint in ADMIN_TOO and current_user.has_role("admin")):
        abort(403)
    return None

