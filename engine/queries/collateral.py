"""A loan's collateral items (押品), as recorded at registration and since."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.lookups import loan_row
from engine.store.models import Collateral
from engine.views import CollateralView


def collateral(session: Session, loan_ref: str) -> list[CollateralView]:
    loan = loan_row(session, loan_ref)
    rows = session.scalars(select(Collateral).where(Collateral.loan_id == loan.id).order_by(Collateral.id)).all()
    return [CollateralView(r.id, r.collateral_type, r.description, r.registration_number, r.appraised_value,
                           r.appraised_on, r.next_revaluation_on, r.revaluations, r.revaluation_instance_id is not None,
                           r.status, r.release_proposed_by, r.released_by, r.released_at) for r in rows]
