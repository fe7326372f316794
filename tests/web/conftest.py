"""Web fixtures: a Flask app on a fresh database with the bundled BPMN and the standard team, a client, sign-in."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, text
from werkzeug.security import check_password_hash

from engine.bootstrap import BUNDLED_BPMN
from engine.store.db import sqlite_url
from engine.store.models import Base
from webapp import create_app
from .webtest_helpers import CASE_TABLES, PASSWORD, AuthActions, Loans, prepare_database, seeded_sqlite_template


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory):
    """Migrated, deployed and staffed once per session (password hashing is slow); each test gets a copy."""
    return seeded_sqlite_template(tmp_path_factory.mktemp("web-template") / "template.sqlite")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web_database_url(request, tmp_path, seeded_sqlite, clock):
    """A fresh staffed database: a copy of the SQLite template, or the PostgreSQL scratch database emptied of loans."""
    if request.param == "sqlite":
        target = tmp_path / "web.sqlite"
        shutil.copy(seeded_sqlite, target)
        return sqlite_url(target)
    url = request.getfixturevalue("postgres_url")
    eng = create_engine(url)
    with eng.begin() as conn:
        hashed = conn.execute(text("SELECT password_hash FROM app_user WHERE username = 'cm_wang'")).scalar()
        staffed = bool(hashed and check_password_hash(hashed, PASSWORD)
                       and conn.execute(text("SELECT count(*) FROM process_version")).scalar()
                       and conn.execute(text("SELECT to_regclass('web_audit_template')")).scalar())
        if staffed:  # back to the state right after staffing, as the SQLite template copy is
            conn.execute(text(f"TRUNCATE {', '.join(CASE_TABLES)} RESTART IDENTITY CASCADE"))
            conn.execute(text("DELETE FROM process_version WHERE version > 1"))  # the bundled versions only
            conn.execute(text("INSERT INTO audit_event SELECT * FROM web_audit_template"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), "
                              "(SELECT max(id) FROM audit_event))"))
        else:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    if not staffed:
        prepare_database(url, clock.now())
        with eng.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS web_audit_template"))
            conn.execute(text("CREATE TABLE web_audit_template AS SELECT * FROM audit_event"))
    eng.dispose()
    return url


@pytest.fixture
def app(web_database_url, clock, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": web_database_url, "CLOCK": clock,
                      "DOCUMENTS_PATH": str(tmp_path / "documents")})
    yield app
    app.extensions["creditflow"].db.dispose()


@pytest.fixture
def engine(app):
    return app.extensions["creditflow"]


@pytest.fixture
def client(app):
    """A browser that reads English (the Chinese pages are tested with their own header)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def loans(engine):
    return Loans(engine)


@pytest.fixture
def bundled_afterwards(engine):
    """The PostgreSQL test database keeps deployed versions between tests: leave the bundled ones latest."""
    yield
    engine.deploy([BUNDLED_BPMN], actor="designer_zheng", approved_by="designer_wu", source="cli")
