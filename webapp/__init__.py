"""The credit officers' web inbox and the JSON API: a Flask application factory over the engine service API."""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from flask import Flask

from engine.bootstrap import build_engine
from engine.store.db import sqlite_url
from engine.ops.logs import configure_logging
from engine.settings import Settings, load_settings


def create_app(test_config: dict | None = None, settings: Settings | None = None) -> Flask:
    """Build the app from the one settings object (CREDITFLOW_* variables, see docs/operations.md); tests may
    override any key with `test_config`. One CreditEngine in app.extensions["creditflow"], blueprints."""
    settings = settings or load_settings()
    app = Flask(__name__, instance_path=str(Path(settings.instance_path).resolve()))
    app.config.from_mapping(
        SETTINGS=settings,
        DATABASE_URL=settings.database_url,
        CLOCK=None,
        POLICY_PATH=settings.policy_path,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        TLS=settings.tls,  # served over HTTPS: Strict-Transport-Security and Secure cookies
        SIGN_IN_FREE_ATTEMPTS=settings.sign_in_free_attempts,
        SIGN_IN_MAX_LOCK_SECONDS=settings.sign_in_max_lock_seconds,
        INBOX_PAGE_SIZE=settings.inbox_page_size,
        READY_MAX_TIMER_LAG_SECONDS=settings.ready_max_timer_lag_seconds,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = sqlite_url(Path(app.instance_path) / "creditflow.sqlite")
    if test_config is None:
        configure_logging(settings)

    app.json.ensure_ascii = False  # Chinese messages readable in API responses
    app.extensions["creditflow"] = build_engine(app.config["DATABASE_URL"], clock=app.config["CLOCK"],
                                                policy_path=app.config["POLICY_PATH"], settings=settings)
    engine = app.extensions["creditflow"]  # attached files: DOCUMENTS_PATH, else the setting, else instance/documents
    engine.settings = engine.settings.merged(documents_path=str(app.config.get("DOCUMENTS_PATH") or (
        engine.settings.documents_path or Path(app.instance_path) / "documents")))

    from . import api_changes, api_loan_changes, api_servicing  # noqa: F401  (routes on the API blueprint)
    from . import (api, audit, auth, credit_file, errors, i18n, inbox, incidents, leave, loans, ops, security, tasks,
                   templating)
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
    app.register_blueprint(credit_file.bp)
    app.register_blueprint(loans.bp)
    app.register_blueprint(api.bp)  # api_changes, api_loan_changes and api_servicing add theirs
    app.register_blueprint(audit.bp)
    app.register_blueprint(incidents.bp)
    from . import changes, migration
    app.register_blueprint(changes.bp)
    from . import modeler
    app.register_blueprint(modeler.bp)
    app.register_blueprint(migration.bp)
    app.register_blueprint(leave.bp)
    from . import accountability
    app.register_blueprint(accountability.bp)
    app.register_blueprint(ops.bp)
    ops.init_app(app)
    from . import documents, drafts
    documents.init_app(app)
    app.register_blueprint(drafts.bp)
    csrf.exempt(api.bp)
    from . import notifications
    notifications.init_app(app)
    from . import studio
    studio.init_app(app)
    from . import collateral
    collateral.init_app(app)

    from .init_db import init_db_command
    app.cli.add_command(init_db_command)
    return app


def _instance_secret(instance: Path) -> str:
    """A random session key kept in the instance folder, so no deployment runs on a well-known key. Created
    atomically: several workers starting at once all end up with the key the first one wrote."""
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    for _attempt in range(50):  # another process may be between creating the file and writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty")
