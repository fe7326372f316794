"""Rows every command and query looks up by what a person types: a loan reference, a process id, a task number."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.runtime.calendar import add_months
from engine.store.models import DutyRecord, Loan, LoanAccount, ProcessVersion, WorkItem


def loan_row(session: Session, ref: str) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.reference == ref))
    if loan is None:
        raise NotFound("No loan %(loan)s.", loan=ref)
    return loan


def latest_version(session: Session, process_id: str) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                             .order_by(ProcessVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound("The process '%(process)s' is not deployed; run `creditflow deploy` first.", process=process_id)
    return version


def work_item(session: Session, item_id: int) -> WorkItem:
    item = session.get(WorkItem, item_id)
    if item is None:
        raise NotFound("Task %(id)s does not exist or was already completed.", id=item_id)
    return item


def newest_files(session: Session) -> dict[str, str]:
    """Every file of the newest deployed version of every process, name -> text (what a change is laid over)."""
    newest: dict[str, int] = {}
    for process_id, version_id in session.execute(select(ProcessVersion.process_id, ProcessVersion.id)
                                                  .order_by(ProcessVersion.id)):
        newest[process_id] = version_id
    files: dict[str, str] = {}
    for version in session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_(newest.values()))
                                   .order_by(ProcessVersion.id)):
        files.update(version.files)
    return files


def post_loan_manager_of(session: Session, loan: Loan) -> str | None:
    """Who was last named the loan's post-loan manager (贷后管户), if anyone yet."""
    return session.scalar(select(DutyRecord.username).where(DutyRecord.loan_id == loan.id,
                                                            DutyRecord.duty == "post_loan_manager")
                          .order_by(DutyRecord.performed_at.desc(), DutyRecord.id.desc()).limit(1))


def maturity_of(session, policy, loan: Loan) -> date | None:
    """What an extension agreed, else what the core banking feed reports, else first drawdown plus approved term."""
    if loan.maturity_date is not None:
        return loan.maturity_date
    reported = session.scalar(select(LoanAccount.maturity_date).where(LoanAccount.loan_id == loan.id))
    if reported is not None:
        return reported
    if loan.disbursed_at is not None and loan.approved_term_months:
        return add_months(policy.local_date(loan.disbursed_at), int(loan.approved_term_months))
    return None
