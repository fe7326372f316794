"""Saving a task's form unfinished: kept as typed for the person working on it, prefilled when they come back."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import InvalidInput

from .extensions import credit_engine
from .i18n import error_message
from .tasks import flat_form, render_task

bp = Blueprint("drafts", __name__, url_prefix="/tasks")


@bp.post("/<int(max=2147483647):item_id>/draft")
@login_required
def save(item_id: int):
    """No validation (a draft may be half done); the engine checks the person may work the task and claims it."""
    values = {k: v for k, v in flat_form(request.form).items() if k != "csrf_token"}
    try:
        credit_engine().save_draft(current_user.username, item_id, values, source="web")
    except InvalidInput as exc:
        return render_task(item_id, values, status=400, refusal=error_message(exc))
    flash(_("Draft saved; it is kept for you until you complete the task."), "success")
    return redirect(url_for("tasks.show", item_id=item_id), 303)
