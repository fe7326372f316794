"""Moving chosen running loans to another version of their process (process designers), with a reason."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import EngineError

from .extensions import credit_engine
from .i18n import error_message

bp = Blueprint("migration", __name__, url_prefix="/studio/migrate")
PROCESS_ID = re.compile(r"^[A-Za-z_][\w\-]{0,63}$")


@bp.before_request
@login_required
def designers_only():
    if not current_user.has_role("process_designer"):
        abort(403)


@bp.get("/<process_id>")
def choose(process_id: str):
    if not PROCESS_ID.match(process_id):
        abort(404)
    versions, instances = credit_engine().running_instances(process_id)
    if not versions:
        abort(404)
    return render_template("changes/migrate.html", process_id=process_id, versions=versions, instances=instances)


@bp.post("/<process_id>")
def migrate(process_id: str):
    if not PROCESS_ID.match(process_id):
        abort(404)
    target = request.form.get("version", "")
    if not target.isdigit() or not 1 <= int(target) <= 2_147_483_647:
        flash(_("Choose the version to move the loans to."), "error")
        return redirect(url_for("migration.choose", process_id=process_id))
    try:
        outcomes = credit_engine().migrate_loans(current_user.username, process_id, int(target),
                                                 request.form.getlist("loan"), request.form.get("reason", ""))
    except EngineError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("migration.choose", process_id=process_id))
    for o in outcomes:
        if o.migrated:
            flash(_("%(loan)s moved from version %(old)s to %(new)s.", loan=o.loan_ref, old=o.from_version,
                    new=o.to_version), "success")
        else:
            flash(_("%(loan)s not moved: %(reason)s", loan=o.loan_ref, reason=_(o.template, **dict(o.params))),
                  "error")
    return redirect(url_for("migration.choose", process_id=process_id))
