"""A loan's file, its open tasks, and `explain`: which rule keeps a person from which task."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import history_of
from engine.kernel import Kernel
from engine.queries.inbox import item_view
from engine.runtime import execution
from engine.store.lookups import loan_row, maturity_of
from engine.roles import SIGNING_DUTIES
from engine.store.models import DutyRecord, Loan, LoanAccount, Payment, ProcessInstance, ProcessVersion, WorkItem
from engine.store.people import get_user
from engine.views import ActView, ApprovalView, InstanceView, LoanAccountView, LoanView, PaymentView, WorkItemView


@dataclass(frozen=True)
class ExplainRow:
    task: str
    duty: str
    role: str
    open: bool
    decision: object
    process_id: str = ""  # with bpmn_id: the task's name is looked up in the reader's language
    bpmn_id: str = ""


def loan(session: Session, kernel: Kernel, loan_ref: str, with_paths: bool) -> LoanView:
    """A loan's file: its fields, every process instance on it and who did what."""
    row = loan_row(session, loan_ref)
    instances = []
    for inst in session.scalars(select(ProcessInstance).where(ProcessInstance.loan_id == row.id)
                                .order_by(ProcessInstance.id)):
        version: ProcessVersion = inst.process_version
        done, current, flows = (), (), ()
        if with_paths:
            workflow, _loaded = kernel.workflows.restore(inst)
            done, current, flows = execution.path_taken(workflow)
        instances.append(InstanceView(inst.id, version.process_id, version.name or version.process_id,
                                      version.version, version.id, inst.status, inst.next_timer_due,
                                      inst.created_at, done, current, flows))
    acts = tuple(ActView(a.username, a.duty, a.process, None, a.on_behalf_of, a.performed_at)
                 for a in history_of(session, row))
    replaces = session.scalar(select(Loan.reference).where(Loan.id == row.replaces_loan_id)) \
        if row.replaces_loan_id else None
    replaced_by = tuple(session.scalars(select(Loan.reference).where(Loan.replaces_loan_id == row.id)
                                        .order_by(Loan.id)))
    return LoanView(row.id, row.reference, row.borrower, row.product, row.amount, row.currency,
                    row.branch, row.originator, row.loan_type, row.stage, row.classification, row.status,
                    row.created_at, dict(row.application or {}), tuple(instances), acts, _approval(session, row),
                    _account(session, row), maturity_of(session, kernel.policy, row), row.extensions or 0, replaces,
                    replaced_by)


def _approval(session: Session, row: Loan) -> ApprovalView | None:
    if row.approved_at is None:
        return None
    payments = tuple(PaymentView(p.paid_at, p.mode, p.amount, p.currency, p.counterparty_name, p.counterparty_account,
                                 p.reference, p.paid_by)
                     for p in session.scalars(select(Payment).where(Payment.loan_id == row.id).order_by(Payment.id)))
    signers = tuple((r.username, r.duty) for r in session.scalars(
        select(DutyRecord).where(DutyRecord.loan_id == row.id, DutyRecord.duty.in_(SIGNING_DUTIES),
                                 DutyRecord.performed_at <= row.approved_at).order_by(DutyRecord.id)))
    return ApprovalView(row.approved_amount, row.currency, row.approved_term_months, row.approved_conditions,
                        row.approved_at, sum((p.amount for p in payments), Decimal(0)), payments, signers)


def _account(session: Session, row: Loan) -> LoanAccountView | None:
    account = session.scalar(select(LoanAccount).where(LoanAccount.loan_id == row.id))
    if account is None:
        return None
    return LoanAccountView(account.as_of, account.contract_number, account.maturity_date, account.schedule or "",
                           account.outstanding_principal, account.overdue_principal, account.overdue_interest,
                           account.days_past_due, account.last_repayment_date, account.last_repayment_amount)


def loan_items(session: Session, loan_ref: str) -> list[WorkItemView]:
    row = loan_row(session, loan_ref)
    items = session.scalars(select(WorkItem).where(WorkItem.loan_id == row.id).order_by(WorkItem.id)).all()
    return [item_view(i, row) for i in items]


def open_loans(session: Session) -> list[str]:
    """References of loans that have not ended (rejected, withdrawn and closed ones have)."""
    return list(session.scalars(select(Loan.reference).where(
        Loan.status.not_in(("rejected", "withdrawn", "closed", "settled"))).order_by(Loan.id)))


def explain(session: Session, kernel: Kernel, loan_ref: str, username: str) -> list[ExplainRow]:
    """Every task of the loan's running processes: may this user do it now, and if not, which rule says no."""
    row = loan_row(session, loan_ref)
    user = get_user(session, username)
    gate = kernel.gate
    rows, seen = [], set()
    for item in session.scalars(select(WorkItem).where(WorkItem.loan_id == row.id).order_by(WorkItem.id)):
        rows.append(ExplainRow(item.name, item.duty, item.role, True, gate.decide(session, user, item, row),
                               item.process_id, item.bpmn_id))
        seen.add((item.process_id, item.bpmn_id))
    running = session.scalars(select(ProcessInstance).where(ProcessInstance.loan_id == row.id,
                                                             ProcessInstance.status == "running"))
    for instance in running:
        loaded = kernel.workflows.loaded(instance.process_version)
        for meta in loaded.user_tasks.values():
            if (loaded.process_id, meta.bpmn_id) in seen:
                continue
            seen.add((loaded.process_id, meta.bpmn_id))
            request = gate.request(session, user, meta.duty, row, meta.role)
            rows.append(ExplainRow(meta.name, meta.duty, meta.role, False, kernel.policy.check(request),
                                   loaded.process_id, meta.bpmn_id))
    return rows


def loan_tier(session: Session, loan_ref: str) -> str | None:
    return loan_row(session, loan_ref).approval_tier
