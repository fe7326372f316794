"""Collateral items after registration: appraised value, revaluation schedule, release

Revision ID: 0016_collateral
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0016_collateral'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "collateral",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("collateral_type", sa.String(24), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=True),
        sa.Column("appraised_value", sa.Numeric(18, 2), nullable=False),
        sa.Column("appraised_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("revaluations", sa.Integer(), nullable=False),
        sa.Column("next_revaluation_on", sa.Date(), nullable=False),
        sa.Column("revaluation_instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("release_proposed_by", sa.String(64), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_collateral_loan_id", "collateral", ["loan_id"])
    op.create_index("ix_collateral_next_revaluation_on", "collateral", ["next_revaluation_on"])


def downgrade():
    op.drop_index("ix_collateral_next_revaluation_on", "collateral")
    op.drop_index("ix_collateral_loan_id", "collateral")
    op.drop_table("collateral")
