"""A disbursed loan's next periodic classification review day, so the worker's tick reads only the loans due

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("loan") as batch:
        batch.add_column(sa.Column("next_review_on", sa.Date(), nullable=True))
    op.create_index("ix_loan_next_review_on", "loan", ["next_review_on"])


def downgrade():
    op.drop_index("ix_loan_next_review_on", table_name="loan")
    with op.batch_alter_table("loan") as batch:
        batch.drop_column("next_review_on")
