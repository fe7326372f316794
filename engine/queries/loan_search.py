"""The credit file list (信贷档案): loans a person may open, found by what they know and sorted as they ask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.kernel import Kernel
from engine.queries.inbox import like_escape
from engine.roles import visible_branches
from engine.store.models import Customer, Loan
from engine.store.people import get_user

LOAN_SORTS = {
    "newest": (Loan.created_at.desc(), Loan.id.desc()),
    "oldest": (Loan.created_at, Loan.id),
    "amount_desc": (Loan.amount.desc(), Loan.id.desc()),
    "amount_asc": (Loan.amount, Loan.id),
    "reference": (Loan.reference,),
    "borrower": (Loan.borrower, Loan.id),
    "updated": (Loan.updated_at.desc(), Loan.id.desc()),
}


@dataclass(frozen=True)
class LoanSearch:
    text: str | None = None  # part of the reference, the borrower's name or the customer's unified identifier
    branch: str | None = None
    stage: str | None = None
    status: str | None = None
    classification: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    sort: str = "newest"


@dataclass(frozen=True)
class LoanRow:
    reference: str
    borrower: str
    customer_identifier: str | None
    product: str
    amount: Decimal
    currency: str
    branch: str
    originator: str
    stage: str
    status: str
    classification: str
    created_at: datetime
    updated_at: datetime


def search_loans(session: Session, kernel: Kernel, username: str, search: LoanSearch, page: int,
                 per_page: int) -> tuple[list[LoanRow], int]:
    """One page of the loans this user may open (their branches, or all from head office) and the total."""
    user = get_user(session, username)
    scope = visible_branches(user.grants, str(kernel.policy.params.get("head_office_branch", "HO")))
    query = select(Loan, Customer.identifier).outerjoin(Customer, Customer.id == Loan.customer_id)
    if scope is not None:
        if not scope:
            return [], 0
        query = query.where(Loan.branch.in_(sorted(scope)))
    if search.text:
        pattern = f"%{like_escape(search.text)}%"
        query = query.where(or_(Loan.reference.ilike(pattern, escape="\\"), Loan.borrower.ilike(pattern, escape="\\"),
                                Customer.identifier.ilike(pattern, escape="\\")))
    for column, value in ((Loan.branch, search.branch), (Loan.stage, search.stage), (Loan.status, search.status),
                          (Loan.classification, search.classification)):
        if value:
            query = query.where(column == value)
    if search.amount_min is not None:
        query = query.where(Loan.amount >= search.amount_min)
    if search.amount_max is not None:
        query = query.where(Loan.amount <= search.amount_max)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(*LOAN_SORTS.get(search.sort, LOAN_SORTS["newest"]))
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return [LoanRow(loan.reference, loan.borrower, identifier, loan.product, loan.amount, loan.currency, loan.branch,
                    loan.originator, loan.stage, loan.status, loan.classification, loan.created_at, loan.updated_at)
            for loan, identifier in rows], total
