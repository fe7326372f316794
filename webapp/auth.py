"""Sign-in and sign-out against the engine's user table; the engine slows failed attempts down."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.errors import TooManyAttempts

from .access import WebUser
from .extensions import credit_engine

bp = Blueprint("auth", __name__, url_prefix="/auth")


class SignInForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site. Browsers drop tabs and newlines and read a backslash as a slash, so
    `/\t/evil.example` would leave the site: any control character, space or backslash is refused."""
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(ch in target for ch in "\\ ") and all(ch.isprintable() for ch in target)):
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=("GET", "POST"))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        try:
            user = credit_engine().sign_in(username, form.password.data, source="web",
                                           free_attempts=current_app.config["SIGN_IN_FREE_ATTEMPTS"],
                                           max_lock_seconds=current_app.config["SIGN_IN_MAX_LOCK_SECONDS"])
        except TooManyAttempts as refused:
            wait = refused.params["seconds"]
            flash(_("Too many failed sign-ins for %(username)s; try again in %(seconds)s seconds.",
                    username=username, seconds=wait), "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        if user is None:
            flash(_("Wrong user name or password."), "error")
            status = 401
        else:
            locale = session.get("locale")
            session.clear()
            if locale:
                session["locale"] = locale
            login_user(WebUser(user))
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    locale = session.get("locale")
    credit_engine().sign_out(current_user.username, source="web")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
