"""The inbox's offered tasks read in due order from one index: role, branch, unclaimed, unassigned, due

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_work_item_offered", "work_item", ["role", "branch", "claimed_by", "candidate_user", "due_at"])
    op.drop_index("ix_work_item_role_branch", table_name="work_item")


def downgrade():
    op.create_index("ix_work_item_role_branch", "work_item", ["role", "branch"])
    op.drop_index("ix_work_item_offered", table_name="work_item")
