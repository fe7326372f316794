"""The loan account as the core banking feed reports it: one latest position per loan

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "loan_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False, unique=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("contract_number", sa.String(64), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("outstanding_principal", sa.Numeric(18, 2), nullable=False),
        sa.Column("overdue_principal", sa.Numeric(18, 2), nullable=False),
        sa.Column("overdue_interest", sa.Numeric(18, 2), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("last_repayment_date", sa.Date(), nullable=True),
        sa.Column("last_repayment_amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=True),
    )


def downgrade():
    op.drop_table("loan_account")
