"""Inboxes: read from `work_item` rows only, never from workflows; `available` is checked against the policy."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, load_only

from engine.access import PAGE
from engine.kernel import Kernel
from engine.roles import SUPERVISOR_ROLES
from engine.store.lookups import work_item
from engine.store.models import DutyRecord, Loan, RoleGrant, User, WorkItem
from engine.store.people import get_user, on_leave
from engine.views import ActView, WorkItemView


def like_escape(text: str) -> str:
    """What a person typed, matched literally inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


INBOX_KINDS = ("mine", "available", "done", "escalated")
# What an inbox may be sorted by; due date first is the default (overdue work on top).
INBOX_SORTS = {
    "due": (WorkItem.due_at, WorkItem.id),
    "amount": (Loan.amount.desc(), WorkItem.id),
    "newest": (WorkItem.created_at.desc(), WorkItem.id.desc()),
    "oldest": (WorkItem.created_at, WorkItem.id),
    "loan": (Loan.reference, WorkItem.id),
}


@dataclass(frozen=True)
class InboxFilter:
    stage: str | None = None
    branch: str | None = None
    due_before: datetime | None = None
    overdue_only: bool = False
    text: str | None = None  # part of the loan reference, the borrower's name or the task's name
    sort: str = "due"


@dataclass(frozen=True)
class DoneView:
    """A task I completed, with its loan."""

    act: ActView
    loan_ref: str
    borrower: str


# What a row shows and what the policy reads of its loan (`access.loan_facts`): the rest of the loan stays unread.
INBOX_LOAN_FIELDS = (Loan.id, Loan.reference, Loan.borrower, Loan.amount, Loan.branch, Loan.product, Loan.originator,
                     Loan.approval_tier, Loan.loan_type, Loan.application)


def item_view(item: WorkItem, loan: Loan) -> WorkItemView:
    return WorkItemView(item.id, loan.id, loan.reference, loan.borrower, loan.amount, loan.branch, item.process_id,
                        item.bpmn_id, item.name, item.role, item.duty, item.stage, item.candidate_user,
                        item.claimed_by, item.created_at, item.due_at, item.escalation)


def _eligibility_clause(kernel: Kernel, user: User):
    """SQL pre-filter: items in my roles and branches, unclaimed, offered to anyone or to me."""
    today = kernel.policy.local_date(kernel.clock.now())
    clauses = []
    for g in user.grants:
        if (g.valid_from and g.valid_from > today) or (g.valid_to and g.valid_to < today):
            continue
        clause = WorkItem.role == g.role
        if g.branch and not g.role.startswith("committee"):
            clause = and_(clause, WorkItem.branch == g.branch)
        clauses.append(clause)
    return or_(*clauses) if clauses else None


def inbox(session: Session, kernel: Kernel, username: str, kind: str, filters: InboxFilter | None, page: int,
          per_page: int) -> tuple[list, int]:
    """One page of an inbox and the total count. `available` is checked against the policy per row."""
    filters = filters or InboxFilter()
    user = get_user(session, username)
    if kind == "done":
        return _done_by(session, user, page, per_page)
    if kind == "escalated":
        return _escalated_to(session, kernel, user, page, per_page)
    where = []
    if kind == "mine":
        where.append(or_(WorkItem.claimed_by == username,
                         and_(WorkItem.candidate_user == username, WorkItem.claimed_by.is_(None))))
    else:
        if on_leave(session, user, kernel.policy.local_date(kernel.clock.now())):
            return [], 0
        clause = _eligibility_clause(kernel, user)
        if clause is None:
            return [], 0
        where += [clause, WorkItem.claimed_by.is_(None), WorkItem.candidate_user.is_(None)]
    if filters.stage:
        where.append(WorkItem.stage == filters.stage)
    if filters.branch:
        where.append(WorkItem.branch == filters.branch)
    if filters.due_before:
        where.append(WorkItem.due_at <= filters.due_before)
    if filters.overdue_only:
        where.append(WorkItem.due_at < kernel.clock.now())
    # the total counts the same rows, unsorted, from the work items alone unless a filter reads their loans
    counted = select(func.count(WorkItem.id)).select_from(WorkItem)
    if filters.text:
        pattern = f"%{like_escape(filters.text)}%"
        where.append(or_(Loan.reference.ilike(pattern, escape="\\"), Loan.borrower.ilike(pattern, escape="\\"),
                         WorkItem.name.ilike(pattern, escape="\\")))
        counted = counted.join(Loan, Loan.id == WorkItem.loan_id)
    counted = counted.where(*where)
    query = (select(WorkItem, Loan).join(Loan, Loan.id == WorkItem.loan_id).options(load_only(*INBOX_LOAN_FIELDS))
             .where(*where).order_by(*INBOX_SORTS.get(filters.sort, INBOX_SORTS["due"])))
    if kind == "mine":
        total = session.scalar(counted)
        rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
        return [item_view(i, loan) for i, loan in rows], total
    # available: the policy decides per row; scan in batches until the page is full
    offered, examined, memo = [], 0, {PAGE: True}
    start = (page - 1) * per_page
    while len(offered) < start + per_page:
        wanted = start + per_page - len(offered)  # most rows are allowed: fetch what the page still lacks
        limit = max(wanted + wanted // 4, 10)
        rows = session.execute(query.offset(examined).limit(limit)).all()
        if not rows:
            break
        kernel.gate.prefetch_histories(session, [loan for _item, loan in rows], memo)
        for item, loan in rows:
            examined += 1
            if kernel.gate.decide(session, user, item, loan, memo).allowed:
                offered.append(item_view(item, loan))
                if len(offered) == start + per_page:  # the page is full: the rest is only counted
                    break
        if len(rows) < limit:  # no more rows: no need to ask again
            break
    more = session.scalar(counted) - examined
    return offered[start:start + per_page], len(offered) + max(more, 0)


def _escalated_to(session: Session, kernel: Kernel, user: User, page: int, per_page: int):
    """Escalated tasks of the processes this user supervises (a branch head: in the branches of the grant)."""
    today = kernel.policy.local_date(kernel.clock.now())
    clauses = []
    for g in user.grants:
        if g.role not in SUPERVISOR_ROLES or (g.valid_from and g.valid_from > today) or \
                (g.valid_to and g.valid_to < today):
            continue
        clause = WorkItem.process_id.in_(SUPERVISOR_ROLES[g.role])
        clauses.append(and_(clause, WorkItem.branch == g.branch) if g.branch else clause)
    if any(g.role == "committee_chair" for g in user.grants):  # overdue votes of the meetings this chair convened
        clauses.append(and_(WorkItem.duty == "vote", WorkItem.instance_id.in_(
            select(DutyRecord.instance_id).where(DutyRecord.username == user.username,
                                                 DutyRecord.duty == "convene_committee"))))
    if not clauses:
        return [], 0
    query = (select(WorkItem, Loan).join(Loan, Loan.id == WorkItem.loan_id)
             .where(WorkItem.escalated_at.is_not(None), or_(*clauses)).order_by(WorkItem.due_at, WorkItem.id))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
    return [item_view(i, loan) for i, loan in rows], total


def _done_by(session: Session, user: User, page: int, per_page: int):
    query = (select(DutyRecord, Loan).join(Loan, Loan.id == DutyRecord.loan_id)
             .where(DutyRecord.username == user.username, DutyRecord.bpmn_id.is_not(None))
             .order_by(DutyRecord.performed_at.desc()))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.offset((page - 1) * per_page).limit(per_page)).all()
    return [DoneView(ActView(r.username, r.duty, r.process_id, r.bpmn_id, r.on_behalf_of, r.performed_at),
                     loan.reference, loan.borrower) for r, loan in rows], total


def inbox_counts(session: Session, kernel: Kernel, username: str) -> dict[str, int]:
    """Counts for the navigation (available is a cheap upper bound: role and branch only)."""
    user = get_user(session, username)
    mine = session.scalar(select(func.count()).select_from(WorkItem).where(or_(
        WorkItem.claimed_by == username, and_(WorkItem.candidate_user == username, WorkItem.claimed_by.is_(None)))))
    clause = _eligibility_clause(kernel, user)
    available = 0 if clause is None else session.scalar(select(func.count()).select_from(WorkItem).where(
        clause, WorkItem.claimed_by.is_(None), WorkItem.candidate_user.is_(None)))
    return {"mine": mine, "available": available}


def _role_holders(session: Session, item_id: int) -> tuple[WorkItem, Loan, list[User]]:
    """The task, its loan, and every active user holding the task's role (the policy then decides)."""
    item = work_item(session, item_id)
    users = session.scalars(select(User).join(RoleGrant).where(RoleGrant.role == item.role,
                                                               User.active.is_(True)).distinct()).all()
    return item, session.get(Loan, item.loan_id), list(users)


def candidates(session: Session, kernel: Kernel, item_id: int) -> list[str]:
    """Everyone who may do this task now, by policy."""
    item, loan, users = _role_holders(session, item_id)
    return [u.username for u in users if kernel.gate.decide(session, u, item, loan).allowed]


def reassign_candidates(session: Session, kernel: Kernel, item_id: int) -> list[str]:
    """Who could take this task over if a supervisor handed it to them (not whoever holds it now)."""
    item, loan, users = _role_holders(session, item_id)
    return sorted(u.username for u in users if u.username != (item.claimed_by or item.candidate_user)
                  and kernel.gate.may_take_over(session, u, item, loan).allowed)
