"""sign-in attempts per user name: the partial index the sign-in throttle reads

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# As engine.models.SIGN_IN_ATTEMPTS when this migration was written (a migration does not follow later models).
SIGN_IN_ATTEMPTS = "action IN ('signed_in', 'sign_in_failed') AND rule IS NULL"


def upgrade():
    op.create_index('ix_audit_sign_in', 'audit_event', ['actor', 'id'],
                    postgresql_where=sa.text(SIGN_IN_ATTEMPTS), sqlite_where=sa.text(SIGN_IN_ATTEMPTS))


def downgrade():
    op.drop_index('ix_audit_sign_in', table_name='audit_event')
