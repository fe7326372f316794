"""A submitted process change keeps its what-if replay over the recorded loans

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("process_change") as batch:
        batch.add_column(sa.Column("replay", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("replayed_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("process_change") as batch:
        batch.drop_column("replayed_at")
        batch.drop_column("replay")
