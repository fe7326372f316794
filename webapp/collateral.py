"""Releasing collateral (解押) from the credit file: the custodian proposes, a post-loan or branch head approves."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import InvalidInput, NotAllowed, NotFound

from .access import get_loan
from .extensions import credit_engine
from .i18n import error_message

bp = Blueprint("collateral", __name__, url_prefix="/loans")


def may(duty: str) -> bool:
    """Whether the person holds a role the policy lets do this release duty (the engine checks everything else)."""
    return any(current_user.has_role(role) for role in credit_engine().policy.duty_specs[duty].roles)


@bp.post("/<reference>/collateral/<int(max=2147483647):item_id>/propose-release")
@login_required
def propose_release(reference: str, item_id: int):
    get_loan(reference)
    if not may("propose_collateral_release"):
        abort(403)
    try:
        credit_engine().propose_release(current_user.username, reference, item_id, request.form.get("reason", ""),
                                        source="web")
    except (InvalidInput, NotAllowed, NotFound) as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Release proposed; another person approves it."), "success")
    return redirect(url_for("loans.show", reference=reference, _anchor="loan-collateral"))


@bp.post("/<reference>/collateral/<int(max=2147483647):item_id>/approve-release")
@login_required
def approve_release(reference: str, item_id: int):
    get_loan(reference)
    if not may("approve_collateral_release"):
        abort(403)
    try:
        credit_engine().approve_release(current_user.username, reference, item_id, source="web")
    except (InvalidInput, NotAllowed, NotFound) as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Collateral released."), "success")
    return redirect(url_for("loans.show", reference=reference, _anchor="loan-collateral"))


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(may_release=may)
