"""Process changes: drafts submitted by one process designer and decided by another before anything deploys

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "process_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("policy_text", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("reviewer", sa.String(64), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("deployed", sa.JSON(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,  # a change's number is never given to a later one
    )
    op.create_index("ix_process_change_author", "process_change", ["author"])
    op.create_index("ix_process_change_status", "process_change", ["status"])


def downgrade():
    op.drop_table("process_change")
