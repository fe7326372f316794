"""Documents on a loan's file (with their SHA-256) and task drafts

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("work_item_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(64), nullable=True),
        sa.Column("step_name", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_document_loan_id", "document", ["loan_id"])
    op.create_index("ix_document_loan_step", "document", ["loan_id", "instance_id", "step"])
    op.create_table(
        "task_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("work_item_id", "username"),
    )
    op.create_index("ix_task_draft_work_item_id", "task_draft", ["work_item_id"])


def downgrade():
    op.drop_index("ix_task_draft_work_item_id", "task_draft")
    op.drop_table("task_draft")
    op.drop_index("ix_document_loan_step", "document")
    op.drop_index("ix_document_loan_id", "document")
    op.drop_table("document")
