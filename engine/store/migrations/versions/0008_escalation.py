"""Escalated work items

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("work_item") as batch:
        batch.add_column(sa.Column("escalated_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("escalation", sa.String(16), nullable=True))


def downgrade():
    with op.batch_alter_table("work_item") as batch:
        batch.drop_column("escalation")
        batch.drop_column("escalated_at")
