"""Flask extensions, created once and bound to the app in the factory."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_wtf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


def credit_engine():
    """The app's one CreditEngine (built in create_app from DATABASE_URL)."""
    return current_app.extensions["creditflow"]
