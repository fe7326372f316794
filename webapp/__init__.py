"""The credit officers' web inbox and the JSON API: a Flask application factory over the engine service API."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from engine.bootstrap import build_engine
from engine.db import sqlite_url


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, one CreditEngine in app.extensions["creditflow"], blueprints."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=None,
        CLOCK=None,
        POLICY_PATH=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        TLS=False,  # served over HTTPS: Strict-Transport-Security and Secure cookies
        SIGN_IN_FREE_ATTEMPTS=3,
        SIGN_IN_MAX_LOCK_SECONDS=900,
        INBOX_PAGE_SIZE=50,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("CREDITFLOW")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = sqlite_url(Path(app.instance_path) / "creditflow.sqlite")

    app.json.ensure_ascii = False  # Chinese messages readable in API responses
    app.extensions["creditflow"] = build_engine(app.config["DATABASE_URL"], clock=app.config["CLOCK"],
                                                policy_path=app.config["POLICY_PATH"])

    from . import api, audit, auth, errors, i18n, inbox, loans, security, tasks, templating
    from .extensions import csrf, login_manager

    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(loans.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(audit.bp)
    csrf.exempt(api.bp)

    from .cli import init_db_command
    app.cli.add_command(init_db_command)
    return app


def _instance_secret(instance: Path) -> str:
    """A random session key kept in the instance folder, so no deployment runs on a well-known key."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
