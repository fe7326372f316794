"""The Alembic migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from engine.store.models import Base


def _not_a_test_fixture(obj, name, type_, reflected, compare_to) -> bool:
    """The web tests keep a copy of the seeded audit trail beside the schema on PostgreSQL; it is not the schema."""
    return not (type_ == "table" and name == "web_audit_template")


def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _not_a_test_fixture})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
