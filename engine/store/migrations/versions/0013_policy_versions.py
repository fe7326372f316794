"""Policy versions approved through a process change; process changes may carry a policy

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "policy_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("designed_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.Column("deployed_at", UTCDateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("policy_version")
