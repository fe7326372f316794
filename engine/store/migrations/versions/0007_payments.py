"""Approved terms on the loan, and payments (drawdowns)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LOAN_COLUMNS = [
    ("approved_amount", sa.Numeric(18, 2)), ("approved_term_months", sa.Integer()), ("approved_conditions", sa.Text()),
    ("approved_at", UTCDateTime()), ("released_at", UTCDateTime()), ("collateral_registered_at", UTCDateTime()),
    ("disbursed_at", UTCDateTime()),
]


def upgrade():
    with op.batch_alter_table("loan") as batch:
        for name, kind in LOAN_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("counterparty_name", sa.String(200), nullable=True),
        sa.Column("counterparty_account", sa.String(64), nullable=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("paid_by", sa.String(64), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_payment_loan_id", "payment", ["loan_id"])


def downgrade():
    op.drop_index("ix_payment_loan_id", "payment")
    op.drop_table("payment")
    with op.batch_alter_table("loan") as batch:
        for name, _kind in reversed(LOAN_COLUMNS):
            batch.drop_column(name)
