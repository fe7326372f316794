"""Accountability findings (连带问责) on loans in the register: proposed, then decided by someone else

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "accountability_finding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False, index=True),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("responsibility", sa.JSON(), nullable=False),
        sa.Column("sanction", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("accountability_finding")
