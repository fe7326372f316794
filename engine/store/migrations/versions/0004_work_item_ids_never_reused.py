"""work item ids are never reused on SQLite (AUTOINCREMENT), so a task link always means the same task

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # PostgreSQL sequences never hand out an id twice; SQLite reuses the highest rowid once it is deleted.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("work_item", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.alter_column("id")  # the table is rebuilt with the same columns, indexes and constraints


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("work_item", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": False}) as batch:
            batch.alter_column("id")
