"""Signed checkpoints (event count, Ed25519 signature, key fingerprint) and the record of chain verifications

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_checkpoint") as batch:
        batch.add_column(sa.Column("events", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(128), nullable=True))
        batch.add_column(sa.Column("key_fingerprint", sa.String(64), nullable=True))
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("verified_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("intact", sa.Boolean(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("start_event_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=True),
        sa.Column("broken_event_id", sa.Integer(), nullable=True),
        sa.Column("broken_reason", sa.String(32), nullable=True),
        sa.Column("broken_params", sa.JSON(), nullable=False),
        sa.Column("broken_at", UTCDateTime(), nullable=True),
        sa.Column("broken_action", sa.String(48), nullable=True),
    )


def downgrade():
    op.drop_table("audit_verification")
    with op.batch_alter_table("audit_checkpoint") as batch:
        batch.drop_column("key_fingerprint")
        batch.drop_column("signature")
        batch.drop_column("events")
