"""The accountability register (连带问责): every loan classified substandard or worse, or written off, with everyone
who investigated, reviewed, signed or voted, released the money, inspected, decided a warning or approved a
classification on it, what they decided and the reasons they gave, and the findings on who answers for it."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.chain import _plain
from engine.errors import NotFound
from engine.store.models import AccountabilityFinding, AuditEvent, DutyRecord, Loan, LoanAccount, User

BAD_CLASSES = ("substandard", "doubtful", "loss")
# The duties whose performers answer jointly for a loan gone bad, in the order the loan meets them.
ACCOUNTABLE_DUTIES = ("investigate", "assist_investigation", "review", "sign_business", "approve", "vote",
                      "chair_veto", "review_disbursement", "execute_payment", "lead_inspection", "assist_inspection",
                      "review_inspection_report", "decide_warning", "approve_classification")
WRITE_OFF_DUTY, WRITE_OFF = "record_recovery", "write_off_submitted"  # the workout's outcome "write-off submitted"
# Form fields that carry a decision, and those that carry the reasons given for it (the bundled forms' names).
DECISION_FIELDS = ("decision", "approval", "warning_decision", "recommendation", "assist_opinion", "disposition",
                   "repayment_status", "classification", "payment_reference", "payment_amount")
REASON_FIELDS = ("reason", "opinion", "findings", "assist_findings", "inspection_findings", "observations",
                 "remarks", "approval_reason", "decision_reason", "measures", "conditions")


@dataclass(frozen=True)
class RegisterEntry:
    username: str
    display_name: str
    duty: str
    role: str | None
    on_behalf_of: str | None
    process_id: str
    step: str | None
    step_name: str | None
    performed_at: datetime
    decision: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RegisterLoan:
    reference: str
    borrower: str
    branch: str
    amount: Decimal
    classification: str
    status: str
    written_off: bool
    outstanding: Decimal | None  # the outstanding principal the core banking feed last reported
    as_of: date | None
    recovered: Decimal | None  # what the workout recorded as recovered
    loss: Decimal | None  # written off: the outstanding principal the feed last reported (recoveries reduce it)
    findings: int = 0
    open_findings: int = 0


@dataclass(frozen=True)
class Finding:
    id: int
    loan_ref: str
    finding: str
    responsibility: list
    sanction: str
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True)
class LoanRegister:
    loan: RegisterLoan
    entries: list[RegisterEntry]
    findings: list[Finding]

    @property
    def people(self) -> list[str]:
        return sorted({e.username for e in self.entries})

    @property
    def names(self) -> dict[str, str]:
        """Each person's display name (the user name when none is recorded)."""
        return {e.username: e.display_name or e.username for e in self.entries}


def _completions(session: Session, refs: list[str]) -> dict[str, list[AuditEvent]]:
    """The task completions on these loans, oldest first, by loan reference."""
    completions: dict[str, list[AuditEvent]] = defaultdict(list)
    for part in _chunks(refs):
        for event in session.scalars(select(AuditEvent).where(AuditEvent.loan_ref.in_(part),
                                                              AuditEvent.action == "task_completed")
                                     .order_by(AuditEvent.id)):
            completions[event.loan_ref].append(event)
    return completions


_CHUNK = 500  # loans per IN list


def _chunks(values: list) -> list[list]:
    return [values[n:n + _CHUNK] for n in range(0, len(values), _CHUNK)]


def _write_off(events: list[AuditEvent]) -> tuple[bool, Decimal | None]:
    """Whether the loan's latest workout outcome is a write-off, and the amount the workout recovered."""
    outcomes = [e.detail.get("after") or {} for e in events if (e.detail or {}).get("duty") == WRITE_OFF_DUTY]
    if not outcomes:
        return False, None
    last = outcomes[-1]
    recovered = last.get("recovered_amount")
    return last.get("workout_outcome") == WRITE_OFF, Decimal(str(recovered)) if recovered is not None else None


def register_refs(session: Session) -> list[str]:
    """References of the loans in the register: classified substandard or worse now or at any time, or with a
    workout outcome recorded (the written-off ones are kept below)."""
    refs = set(session.scalars(select(Loan.reference).where(Loan.classification.in_(BAD_CLASSES))))
    refs.update(session.scalars(select(AuditEvent.loan_ref).where(  # the database reads the details, not Python
        AuditEvent.action == "loan_updated", AuditEvent.detail["field"].as_string() == "classification",
        AuditEvent.detail["after"].as_string().in_(BAD_CLASSES)).distinct()))
    worked_out = [ref for ref in session.scalars(select(Loan.reference).join(DutyRecord, DutyRecord.loan_id == Loan.id)
                                                 .where(DutyRecord.duty == WRITE_OFF_DUTY).distinct())
                  if ref not in refs]
    completions = _completions(session, worked_out)
    refs.update(ref for ref in worked_out if _write_off(completions[ref])[0])
    return sorted(refs)


@dataclass
class _Read:
    """What the register reads of a set of loans, a few statements for all of them (not a few per loan)."""

    loans: dict[str, Loan] = field(default_factory=dict)
    completions: dict[str, list[AuditEvent]] = field(default_factory=dict)
    accounts: dict[int, LoanAccount] = field(default_factory=dict)
    findings: dict[int, list[AccountabilityFinding]] = field(default_factory=lambda: defaultdict(list))
    records: dict[int, list[DutyRecord]] = field(default_factory=lambda: defaultdict(list))
    names: dict[str, str] = field(default_factory=dict)


def _read(session: Session, refs: list[str], entries: bool = True) -> _Read:
    read = _Read(completions=_completions(session, refs))
    for part in _chunks(refs):
        read.loans.update((loan.reference, loan) for loan in session.scalars(select(Loan).where(
            Loan.reference.in_(part))))
    for part in _chunks([loan.id for loan in read.loans.values()]):
        read.accounts.update((a.loan_id, a) for a in session.scalars(select(LoanAccount).where(
            LoanAccount.loan_id.in_(part))))
        for finding in session.scalars(select(AccountabilityFinding).where(AccountabilityFinding.loan_id.in_(part))
                                       .order_by(AccountabilityFinding.id)):
            read.findings[finding.loan_id].append(finding)
        if entries:
            for record in session.scalars(select(DutyRecord).where(DutyRecord.loan_id.in_(part),
                                                                   DutyRecord.duty.in_(ACCOUNTABLE_DUTIES))
                                          .order_by(DutyRecord.performed_at, DutyRecord.id)):
                read.records[record.loan_id].append(record)
    people = sorted({r.username for records in read.records.values() for r in records})
    for part in _chunks(people):
        read.names.update((name, shown) for name, shown in session.execute(
            select(User.username, User.display_name).where(User.username.in_(part))))
    return read


def _summary(read: _Read, loan: Loan) -> RegisterLoan:
    account = read.accounts.get(loan.id)
    written_off, recovered = _write_off(read.completions[loan.reference])
    outstanding = account.outstanding_principal if account else None
    statuses = [f.status for f in read.findings[loan.id]]
    return RegisterLoan(loan.reference, loan.borrower, loan.branch, loan.amount, loan.classification, loan.status,
                        written_off, outstanding, account.as_of if account else None, recovered,
                        outstanding if written_off else None, len(statuses), statuses.count("proposed"))


def register_loans(session: Session) -> list[RegisterLoan]:
    """Every loan in the register, newest reference first."""
    refs = list(reversed(register_refs(session)))
    read = _read(session, refs, entries=False)
    return [_summary(read, read.loans[ref]) for ref in refs]


def _picked(data: dict, names: tuple[str, ...]) -> dict:
    return {name: data[name] for name in names if data.get(name) not in (None, "")}


def _entries(read: _Read, loan: Loan) -> list[RegisterEntry]:
    """The loan's duty records of the accountable duties, each with the completion that recorded its data."""
    by_key: dict[tuple, list[AuditEvent]] = defaultdict(list)
    for event in read.completions[loan.reference]:
        by_key[(event.instance_id, event.step, event.actor)].append(event)
    entries = []
    for record in read.records[loan.id]:
        queue = by_key.get((record.instance_id, record.bpmn_id, record.username)) or []
        event = queue.pop(0) if queue else None
        data = (event.detail or {}).get("after") or {} if event is not None else {}
        entries.append(RegisterEntry(
            record.username, read.names.get(record.username) or "", record.duty, event.role if event else None,
            record.on_behalf_of, record.process_id, record.bpmn_id, event.step_name if event else None,
            record.performed_at, _picked(data, DECISION_FIELDS), _picked(data, REASON_FIELDS)))
    return entries


def _findings(loan: Loan, rows: list[AccountabilityFinding]) -> list[Finding]:
    return [Finding(r.id, loan.reference, r.finding, list(r.responsibility or []), r.sanction, r.status,
                    r.proposed_by, r.proposed_at, r.decided_by, r.decided_at, r.decision_reason) for r in rows]


def loan_register(session: Session, loan_ref: str) -> LoanRegister:
    """One loan's register: its summary, who did what on it, and the findings; NotFound when it is not in it."""
    if loan_ref not in register_refs(session):
        raise NotFound("Loan %(loan)s is not in the accountability register.", loan=loan_ref)
    return _registers(session, [loan_ref])[0]


def _registers(session: Session, refs: list[str]) -> list[LoanRegister]:
    read = _read(session, refs)
    return [LoanRegister(_summary(read, loan), _entries(read, loan), _findings(loan, read.findings[loan.id]))
            for loan in (read.loans[ref] for ref in refs)]


def full_register(session: Session, loan_ref: str | None = None) -> list[LoanRegister]:
    """One loan's register, or every loan's (newest first), for an export."""
    if loan_ref:
        return [loan_register(session, loan_ref)]
    return _registers(session, list(reversed(register_refs(session))))


# -- exports ----------------------------------------------------------------------------------------------------
EXPORT_FIELDS = ("loan_ref", "borrower", "classification", "written_off", "outstanding", "loss", "record", "username",
                 "display_name", "duty", "role", "on_behalf_of", "process_id", "step", "at", "decision", "reasons",
                 "sanction", "status", "decided_by")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(values: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in values.items())


def _rows(register: LoanRegister):
    loan = register.loan
    head = {"loan_ref": loan.reference, "borrower": loan.borrower, "classification": loan.classification,
            "written_off": loan.written_off, "outstanding": loan.outstanding, "loss": loan.loss}
    for e in register.entries:
        yield {**head, "record": "duty", "username": e.username, "display_name": e.display_name, "duty": e.duty,
               "role": e.role, "on_behalf_of": e.on_behalf_of, "process_id": e.process_id, "step": e.step,
               "at": e.performed_at, "decision": _text(e.decision), "reasons": _text(e.reasons)}
    for f in register.findings:
        for person in f.responsibility:
            yield {**head, "record": f"finding {f.id}", "username": person.get("person"),
                   "duty": "accountability", "at": f.proposed_at, "decision": person.get("level"),
                   "reasons": person.get("note") or f.finding, "sanction": f.sanction, "status": f.status,
                   "decided_by": f.decided_by}


def _cell(value) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if value is None:
        return ""
    text = _plain(value) if isinstance(value, datetime) else str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_START) else text


def _shallow(record) -> dict:
    """A register dataclass as a dict of its fields (`asdict` without its deep copy: `_plain` copies what it
    converts, and nothing here is changed)."""
    return {name: getattr(record, name) for name in _field_names(type(record))}


@cache
def _field_names(kind) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def export_register(registers: list[LoanRegister], fmt: str) -> tuple[bytes, str]:
    """The register as a CSV (a row per duty done and per person a finding names) or JSON file, and its SHA-256."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(EXPORT_FIELDS)
        for register in registers:
            for row in _rows(register):
                writer.writerow([_cell(row.get(name)) for name in EXPORT_FIELDS])
        body = buffer.getvalue().encode("utf-8")
    elif fmt == "json":
        body = (json.dumps([_plain({**_shallow(r.loan), "entries": [_shallow(e) for e in r.entries],
                                    "findings": [_shallow(f) for f in r.findings]}) for r in registers],
                           ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")
    else:
        raise ValueError(f"unknown export format {fmt!r}; use csv or json")
    return body, hashlib.sha256(body).hexdigest()


