"""Customers and customer groups; a loan links to its customer

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "customer_group",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("identifier", sa.String(18), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("identifier", sa.String(18), nullable=False, unique=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("customer_group.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_customer_group_id", "customer", ["group_id"])
    with op.batch_alter_table("loan") as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id", name="fk_loan_customer"),
                                   nullable=True))
        batch.create_index("ix_loan_customer_id", ["customer_id"])


def downgrade():
    with op.batch_alter_table("loan") as batch:
        batch.drop_index("ix_loan_customer_id")
        batch.drop_constraint("fk_loan_customer", type_="foreignkey")
        batch.drop_column("customer_id")
    op.drop_index("ix_customer_group_id", "customer")
    op.drop_table("customer")
    op.drop_table("customer_group")
