"""Incidents for administrators and process designers: what failed outside a person's request, and a retry."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import EngineError
from engine.roles import INCIDENT_ROLES

from .extensions import credit_engine
from .i18n import error_message

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
STATUSES = {"open": "open", "resolved": "resolved", "all": None}


@bp.before_request
@login_required
def staff_only():
    if not any(current_user.has_role(role) for role in INCIDENT_ROLES):
        abort(403)


@bp.get("/")
def index():
    status = request.args.get("status", "open")
    if status not in STATUSES:
        abort(400)
    rows = credit_engine().incidents(status=STATUSES[status])
    return render_template("incidents/index.html", incidents=rows, status=status, doctor=credit_engine().doctor(),
                           designer=current_user.has_role("process_designer"))


@bp.post("/<int(max=2147483647):incident_id>/retry")
def retry(incident_id: int):
    try:
        incident = credit_engine().retry_incident(incident_id, current_user.username,
                                                  to_latest=request.form.get("to_latest") == "yes", source="web")
    except EngineError as exc:
        flash(error_message(exc), "error")
    else:
        if incident.status == "resolved":
            flash(_("Incident %(id)s resolved: the step went through.", id=incident_id), "success")
        else:
            flash(_("Incident %(id)s failed again (attempt %(n)s): %(error)s", id=incident_id, n=incident.attempts,
                    error=incident.error), "error")
    return redirect(url_for("incidents.index"))
