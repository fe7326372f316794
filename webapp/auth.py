"""Sign-in and sign-out against the engine's user table; failed attempts are slowed down."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .access import WebUser
from .extensions import credit_engine
from .throttle import SignInThrottle

bp = Blueprint("auth", __name__, url_prefix="/auth")


class SignInForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def throttle() -> SignInThrottle:
    app = current_app
    if "creditflow.throttle" not in app.extensions:
        app.extensions["creditflow.throttle"] = SignInThrottle(app.config["SIGN_IN_FREE_ATTEMPTS"],
                                                               app.config["SIGN_IN_MAX_LOCK_SECONDS"])
    return app.extensions["creditflow.throttle"]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=("GET", "POST"))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        username, address = form.username.data.strip(), request.remote_addr or ""
        wait = throttle().wait_seconds(username, address)
        if wait:
            flash(_("Too many failed sign-ins for %(username)s; try again in %(seconds)s seconds.",
                    username=username, seconds=wait), "error")
            status = 429
        else:
            user = credit_engine().sign_in(username, form.password.data, source="web")
            if user is None:
                throttle().failed(username, address)
                flash(_("Wrong user name or password."), "error")
                status = 401
            else:
                throttle().succeeded(username, address)
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
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
