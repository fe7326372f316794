"""Changes to a running loan: the maturity an extension agreed, how many extensions, the loan a new one replaces

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("loan") as batch:
        batch.add_column(sa.Column("maturity_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("extensions", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("replaces_loan_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_loan_replaces_loan_id", "loan", ["replaces_loan_id"], ["id"])
        batch.create_index("ix_loan_replaces_loan_id", ["replaces_loan_id"])


def downgrade():
    with op.batch_alter_table("loan") as batch:
        batch.drop_index("ix_loan_replaces_loan_id")
        batch.drop_constraint("fk_loan_replaces_loan_id", type_="foreignkey")
        batch.drop_column("replaces_loan_id")
        batch.drop_column("extensions")
        batch.drop_column("maturity_date")
