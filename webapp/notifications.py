"""The signed-in person's notifications: what concerns them, newest first, read and marked read here."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import EngineError

from .extensions import credit_engine
from .i18n import error_message, is_chinese

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PAGE = 100  # the newest this many; older ones stay in the database


def reader_locale() -> str:
    """The language the page (or the API answer) is shown in."""
    return "zh_CN" if is_chinese() else "en"


@bp.before_request
@login_required
def signed_in():
    pass


@bp.get("/")
def index():
    unread_only = request.args.get("show") == "unread"
    rows = credit_engine().notifications(current_user.username, reader_locale(), PAGE, unread_only=unread_only)
    return render_template("notifications/index.html", notifications=rows, unread_only=unread_only)


@bp.post("/read")
def read_all():
    count = credit_engine().mark_notifications_read(current_user.username, source="web")
    flash(_("%(count)s notification(s) marked read.", count=count), "success")
    return redirect(url_for("notifications.index"))


@bp.post("/<int(max=2147483647):notification_id>/read")
def read_one(notification_id: int):
    try:
        credit_engine().mark_notifications_read(current_user.username, notification_id, source="web")
    except EngineError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("notifications.index", show=request.form.get("show") or None))


def unread_badge() -> dict:
    """The unread count for the navigation of every page (none for the API or a signed-out visitor)."""
    if not current_user.is_authenticated or request.blueprint == "api":
        return {"unread_notifications": 0}
    try:
        return {"unread_notifications": credit_engine().unread_notifications(current_user.username)}
    except EngineError:
        return {"unread_notifications": 0}


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.context_processor(unread_badge)
