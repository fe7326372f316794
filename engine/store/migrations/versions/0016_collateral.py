"""Collateral items after registration: appraised value, revaluation schedule, release; the items of loans registered
before, from the registrations on their audit trail

Revision ID: 0016
Revises: 0015
"""
from calendar import monthrange
from datetime import timedelta
from decimal import Decimal

from alembic import op
import sqlalchemy as sa

from engine.store.models import UTCDateTime

BANK_OFFSET = timedelta(hours=8)  # registration days are Beijing days
FIRST_REVALUATION_MONTHS = 12  # the policy's period for collateral of no known type

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "collateral",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("loan_id", sa.Integer(), sa.ForeignKey("loan.id"), nullable=False),
        sa.Column("collateral_type", sa.String(24), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=True),
        sa.Column("appraised_value", sa.Numeric(18, 2), nullable=False),
        sa.Column("appraised_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("revaluations", sa.Integer(), nullable=False),
        sa.Column("next_revaluation_on", sa.Date(), nullable=False),
        sa.Column("revaluation_instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("release_proposed_by", sa.String(64), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_collateral_loan_id", "collateral", ["loan_id"])
    op.create_index("ix_collateral_next_revaluation_on", "collateral", ["next_revaluation_on"])
    backfill(op.get_bind())


def backfill(connection) -> int:
    """One item per collateral registration recorded on a loan's audit trail (type other, revalued a year on);
    returns how many were added."""
    audit = sa.table("audit_event", sa.column("id", sa.Integer), sa.column("loan_ref", sa.String),
                     sa.column("action", sa.String), sa.column("step", sa.String), sa.column("outcome", sa.String),
                     sa.column("detail", sa.JSON), sa.column("occurred_at", UTCDateTime))
    loan = sa.table("loan", sa.column("id", sa.Integer), sa.column("reference", sa.String))
    collateral = sa.table(
        "collateral", sa.column("loan_id", sa.Integer), sa.column("collateral_type", sa.String),
        sa.column("description", sa.Text), sa.column("registration_number", sa.String),
        sa.column("appraised_value", sa.Numeric(18, 2)), sa.column("appraised_on", sa.Date),
        sa.column("registered_on", sa.Date), sa.column("revaluations", sa.Integer),
        sa.column("next_revaluation_on", sa.Date), sa.column("status", sa.String), sa.column("created_at", UTCDateTime))
    rows = connection.execute(sa.select(loan.c.id, audit.c.detail, audit.c.occurred_at)
                              .join(loan, loan.c.reference == audit.c.loan_ref)
                              .where(audit.c.action == "task_completed", audit.c.step == "register_collateral",
                                     audit.c.outcome == "done").order_by(audit.c.id)).all()
    known = {(r.loan_id, r.registration_number) for r in connection.execute(
        sa.select(collateral.c.loan_id, collateral.c.registration_number))}
    added = []
    for loan_id, detail, occurred_at in rows:
        after = (detail or {}).get("after") or {}
        number = str(after.get("registration_number") or "") or None
        if (loan_id, number) in known:
            continue
        known.add((loan_id, number))
        day = (occurred_at + BANK_OFFSET).date()
        year, month = day.year + (day.month - 1 + FIRST_REVALUATION_MONTHS) // 12, \
            (day.month - 1 + FIRST_REVALUATION_MONTHS) % 12 + 1
        added.append({"loan_id": loan_id, "collateral_type": "other",
                      "description": str(after.get("collateral_description") or ""), "registration_number": number,
                      "appraised_value": Decimal(str(after.get("collateral_value") or 0)), "appraised_on": day,
                      "registered_on": day, "revaluations": 0, "status": "registered", "created_at": occurred_at,
                      "next_revaluation_on": day.replace(year=year, month=month,
                                                         day=min(day.day, monthrange(year, month)[1]))})
    if added:
        connection.execute(collateral.insert(), added)
    return len(added)


def downgrade():
    op.drop_index("ix_collateral_next_revaluation_on", "collateral")
    op.drop_index("ix_collateral_loan_id", "collateral")
    op.drop_table("collateral")
