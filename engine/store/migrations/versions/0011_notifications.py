"""Notifications (in-app) and the e-mail outbox; users get an e-mail address and a language

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("locale", sa.String(8), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("loan_ref", sa.String(32), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sqlite_autoincrement=True,  # a notification's id (its link) is never given to a later one
    )
    op.create_index("ix_notification_user_read", "notification", ["username", "read_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notification_id", sa.Integer(), sa.ForeignKey("notification.id"), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_outbox_notification_id", "outbox", ["notification_id"])
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_outbox_status_next", "outbox")
    op.drop_index("ix_outbox_notification_id", "outbox")
    op.drop_table("outbox")
    op.drop_index("ix_notification_user_read", "notification")
    op.drop_table("notification")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locale")
        batch.drop_column("email")
