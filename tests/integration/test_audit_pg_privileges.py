"""On PostgreSQL the application role set up as docs/audit.md says can append to the trail but never edit it."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import ProgrammingError

from engine.audit.chain import verify_chain
from engine.audit.exports import write_checkpoint
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.store.db import Database
from engine.store.models import AuditEvent
from engine.store.schema import upgrade

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"
ADMIN_URL = os.environ.get("CREDITFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def documented_sql(block: str, owner: str, app: str, database: str) -> list[str]:
    """The statements of one SQL block of docs/audit.md, with this test's role and database names."""
    match = re.search(rf"<!-- sql:{block} -->\s*```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, f"docs/audit.md has no sql:{block} block"
    sql = (match.group(1).replace("creditflow_owner", owner).replace("creditflow_app", app)
           .replace("DATABASE creditflow", f'DATABASE "{database}"'))
    return [s.strip() for s in sql.split(";") if s.strip()]


def _url(user: str, password: str, database: str) -> str:
    head, _db = ADMIN_URL.rsplit("/", 1)
    scheme, rest = head.split("://", 1)
    host = rest.split("@", 1)[-1]
    return f"{scheme}://{user}:{password}@{host}/{database}"


@pytest.fixture
def roles(postgres_url):
    """A database owned by an owner role, migrated by it, and an application role granted as documented."""
    suffix = uuid.uuid4().hex[:8]
    owner, app, database = f"cf_owner_{suffix}", f"cf_app_{suffix}", f"cf_priv_{suffix}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in documented_sql("superuser", owner, app, database):
                conn.execute(text(statement))
        owner_url = _url(owner, "change-me-owner", database)
        owner_db = Database(owner_url)
        upgrade(owner_db)
        owner_db.dispose()
        as_owner = create_engine(owner_url, isolation_level="AUTOCOMMIT")
        with as_owner.connect() as conn:
            for statement in documented_sql("owner", owner, app, database):
                conn.execute(text(statement))
        as_owner.dispose()
        yield {"owner": owner_url, "app": _url(app, "change-me-app", database), "app_role": app}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{app}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


@pytest.fixture
def app_engine(roles):
    """The engine connected as the application role, with some real events in the chain."""
    eng = build_engine(roles["app"], clock=ManualClock())
    eng.add_user("cm_wang", "correct horse", source="cli")
    eng.grant_role("cm_wang", "customer_manager", "BJ01", source="cli")
    eng.sign_in("cm_wang", "wrong password")
    yield eng
    eng.db.dispose()


def test_the_application_role_has_only_select_and_insert_on_the_trail(roles):
    owner = create_engine(roles["owner"])
    try:
        with owner.connect() as conn:
            for table in ("audit_event", "audit_checkpoint", "audit_verification"):
                granted = conn.execute(text(
                    "SELECT privilege_type FROM information_schema.table_privileges "
                    "WHERE grantee = :role AND table_name = :table ORDER BY 1"),
                    {"role": roles["app_role"], "table": table}).scalars().all()
                assert granted == ["INSERT", "SELECT"], table
    finally:
        owner.dispose()


def test_the_engine_runs_as_the_application_role(app_engine):
    with app_engine.db.reading() as session:
        checked, broken = verify_chain(session)
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert broken is None and checked == 3
    assert actions == ["user_added", "role_granted", "sign_in_failed"]
    with app_engine.db.transaction() as session:
        assert write_checkpoint(session, app_engine.clock)["events"] == 3


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor = 'mallory' WHERE id = 1",
    "DELETE FROM audit_event WHERE id = 1",
    "TRUNCATE audit_event",
    "UPDATE audit_checkpoint SET head_hash = 'x'",
    "DELETE FROM audit_checkpoint",
])
def test_the_application_role_cannot_edit_the_trail(app_engine, statement):
    with app_engine.db.transaction() as session:
        write_checkpoint(session, app_engine.clock)
    with pytest.raises(ProgrammingError, match="permission denied for table audit_"):
        with app_engine.db.transaction() as session:
            session.execute(text(statement))
    with app_engine.db.reading() as session:
        assert verify_chain(session) == (3, None)


def test_the_application_role_can_still_change_business_tables(app_engine):
    with app_engine.db.transaction() as session:
        changed = session.execute(text("UPDATE app_user SET display_name = 'Wang' WHERE username = 'cm_wang'"))
    assert changed.rowcount == 1


def test_the_owner_still_can_which_is_why_checkpoints_live_elsewhere(roles, app_engine):
    owner = create_engine(roles["owner"])
    try:
        with owner.begin() as conn:
            conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = 2"))
    finally:
        owner.dispose()
    with app_engine.db.reading() as session:
        assert verify_chain(session)[1].event_id == 2
