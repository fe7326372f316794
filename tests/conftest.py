"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, an engine clock we control."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from engine.bootstrap import BUNDLED_BPMN, build_engine
from engine.clock import ManualClock
from engine.store.db import sqlite_url
from engine.store.models import Base
from engine.store.schema import upgrade
from engine.service import CreditEngine

PG_ADMIN_URL = os.environ.get("CREDITFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing, a Monday


def _postgres_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


@pytest.fixture(scope="session")
def postgres_url():
    """One scratch database for the session; tables are emptied between tests."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and does not answer at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL is not available")
    name = f"creditflow_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    from engine.store.db import Database
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database: a new SQLite file, or the emptied PostgreSQL scratch database."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "test.sqlite")
        from engine.store.db import Database
        db = Database(url)
        upgrade(db)
        db.dispose()
        return url
    url = request.getfixturevalue("postgres_url")
    eng = create_engine(url)
    with eng.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    eng.dispose()
    return url


@pytest.fixture
def clock():
    return ManualClock(START)


class ColdEngine:
    """Every call goes to a brand-new engine: no spec cache, no live workflows, nothing from an earlier command.
    This is what a multi-worker deployment sees when the next request lands in another process."""

    def __init__(self, warm):
        self._warm = warm

    def __getattr__(self, name):
        warm = self._warm
        fresh = CreditEngine(warm.db, warm.clock, warm.policy)
        fresh.settings = warm.settings
        return getattr(fresh, name)


@pytest.fixture(params=["warm", pytest.param("cold", marks=pytest.mark.cold)])
def engine_mode(request):
    """Tests that take `engine_mode` run twice: with one long-lived engine, and with a fresh engine per command."""
    return request.param


@pytest.fixture
def engine(database_url, clock, request, tmp_path):
    """An engine on a fresh database with the bundled processes deployed (cold when the test asks for it)."""
    eng = build_engine(database_url, clock=clock)
    eng.settings = eng.settings.merged(documents_path=str(tmp_path / "documents"))  # attached files of this test
    eng.deploy([BUNDLED_BPMN], actor=None, source="cli")
    cold = "engine_mode" in request.fixturenames and request.getfixturevalue("engine_mode") == "cold"
    yield ColdEngine(eng) if cold else eng
    eng.db.dispose()
