"""incidents: failed automatic steps, their attempts and backoff

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('process_id', sa.String(length=64), nullable=False),
        sa.Column('process_version', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=128), nullable=True),
        sa.Column('step_name', sa.String(length=256), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('first_seen', UTCDateTime(), nullable=False),
        sa.Column('last_seen', UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['loan_id'], ['loan.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_incident_instance_status', 'incident', ['instance_id', 'status'])
    op.create_index(op.f('ix_incident_loan_id'), 'incident', ['loan_id'])
    op.create_index(op.f('ix_incident_status'), 'incident', ['status'])


def downgrade():
    op.drop_index(op.f('ix_incident_status'), table_name='incident')
    op.drop_index(op.f('ix_incident_loan_id'), table_name='incident')
    op.drop_index('ix_incident_instance_status', table_name='incident')
    op.drop_table('incident')
