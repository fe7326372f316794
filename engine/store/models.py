"""The engine's tables (SQLAlchemy 2 declarative). Schema changes go through Alembic migrations."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator
from datetime import timezone


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


Money = Numeric(18, 2)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    origination_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    missed_inspections: Mapped[int] = mapped_column(Integer, default=0)
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # bumped at sign-out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email: Mapped[str | None] = mapped_column(String(254))  # where notification e-mails go; none: in-app only
    locale: Mapped[str | None] = mapped_column(String(8))  # zh_CN or en: the language of their e-mails

    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                   lazy="selectin")


class RoleGrant(Base):
    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(32))
    limit: Mapped[Decimal | None] = mapped_column("limit_amount", Money)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="grants")


class Leave(Base):
    """Mandatory leave (强制休假) and other absences: no work is offered in the period."""

    __tablename__ = "leave"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class Delegation(Base):
    """A stand-in acts on behalf of a principal during a period."""

    __tablename__ = "delegation"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    stand_in_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessVersion(Base):
    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    # file name -> text (BPMN, DMN, form schemas); deferred: an instance's version is joined on every command, and
    # the parsed spec comes from the in-memory cache, so the bundle is read only when a process first needs it
    files: Mapped[dict] = mapped_column(JSON, deferred=True)
    start_message: Mapped[str | None] = mapped_column(String(64))
    designed_by: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessChange(Base):
    """A redesign on its way to deployment: drafted by one process designer, approved or rejected by another.
    `files` holds only what the change edits (name -> text), laid over the deployed files when it is checked."""

    __tablename__ = "process_change"
    __table_args__ = ({"sqlite_autoincrement": True},)  # a change's number is never given to a later one

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft, submitted, approved, rejected, withdrawn
    note: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[dict] = mapped_column(JSON, deferred=True)
    policy_text: Mapped[str | None] = mapped_column(Text, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    deployed: Mapped[list | None] = mapped_column(JSON)  # [[process id, version, created], ...] once approved
    replay: Mapped[dict | None] = mapped_column(JSON, deferred=True)  # what the recorded loans would have done
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(Integer, default=1)  # two reviewers deciding at once: one wins

    __mapper_args__ = {"version_id_col": version_id}


class PolicyVersion(Base):
    """A policy approved through a process change (four eyes); the newest one is the policy every worker uses."""

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, deferred=True)
    designed_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(64))
    change_id: Mapped[int | None] = mapped_column(Integer)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerGroup(Base):
    """A group of related borrowers (集团客户): its exposure is what the approval tier is chosen by."""

    __tablename__ = "customer_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(18), unique=True)  # the parent's unified social credit code
    name: Mapped[str] = mapped_column(String(200))


class Customer(Base):
    """A borrower with its unified identifier; every loan of the customer links to one customer file."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # company or person
    name: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("customer_group.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Loan(Base):
    """The credit file (信贷档案): one loan, several process instances over its life."""

    __tablename__ = "loan"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    borrower: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    branch: Mapped[str] = mapped_column(String(32), index=True)
    originator: Mapped[str] = mapped_column(String(64), index=True)
    loan_type: Mapped[str] = mapped_column(String(16), default="new")
    stage: Mapped[str] = mapped_column(String(32), default="investigation")
    classification: Mapped[str] = mapped_column(String(24), default="normal")
    approval_tier: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    application: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Fixed when the approval is granted; payments are checked against these, never against task data.
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    approved_term_months: Mapped[int | None] = mapped_column(Integer)
    approved_conditions: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a disbursement review passed, unpaid since
    collateral_registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disbursed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the first drawdown
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    # Set by an approved extension (展期): the agreed maturity, newer than what the feed reported before it.
    maturity_date: Mapped[date | None] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer, default=0)  # extensions granted on this loan
    # The loan this one refinances or restructures (借新还旧, 重组); that loan is settled when this one is paid out.
    replaces_loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id"), index=True)
    # The next periodic classification review day the worker looks at (None: not looked at since disbursement);
    # its tick reads only the loans whose day has come.
    next_review_on: Mapped[date | None] = mapped_column(Date, index=True)


class LoanAccount(Base):
    """The loan's latest position as the core banking system (核心系统) reports it: creditflow acts on it, never
    books it. `row_hash` is the reported figures' fingerprint: the same row again changes nothing."""

    __tablename__ = "loan_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), unique=True)
    as_of: Mapped[date] = mapped_column(Date)  # the business date of the position
    contract_number: Mapped[str] = mapped_column(String(64))
    maturity_date: Mapped[date] = mapped_column(Date)
    schedule: Mapped[str] = mapped_column(Text, default="")  # the repayment schedule, summarised by the ledger
    outstanding_principal: Mapped[Decimal] = mapped_column(Money)
    overdue_principal: Mapped[Decimal] = mapped_column(Money)
    overdue_interest: Mapped[Decimal] = mapped_column(Money)
    days_past_due: Mapped[int] = mapped_column(Integer)
    last_repayment_date: Mapped[date | None] = mapped_column(Date)
    last_repayment_amount: Mapped[Decimal | None] = mapped_column(Money)
    row_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str | None] = mapped_column(String(64))


class Collateral(Base):
    """One collateral item (押品) from its registration to its release (解押): what it is, what it was last appraised
    at, when it is next revalued, and who proposed and approved its release."""

    __tablename__ = "collateral"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    collateral_type: Mapped[str] = mapped_column(String(24))  # real_estate, equipment, receivables, deposits, other
    description: Mapped[str] = mapped_column(Text, default="")
    registration_number: Mapped[str | None] = mapped_column(String(64))
    appraised_value: Mapped[Decimal] = mapped_column(Money)
    appraised_on: Mapped[date] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)  # revaluations fall due counted from here, never drifting
    revaluations: Mapped[int] = mapped_column(Integer, default=0)  # revaluations done (the schedule's position)
    next_revaluation_on: Mapped[date] = mapped_column(Date, index=True)
    revaluation_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))  # one open at most
    status: Mapped[str] = mapped_column(String(24), default="registered")  # registered, release_proposed, released
    release_proposed_by: Mapped[str | None] = mapped_column(String(64))
    release_reason: Mapped[str | None] = mapped_column(Text)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Payment(Base):
    """One drawdown paid out (分次放款): what, to whom, by whom; the sum never exceeds the approved amount."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    mode: Mapped[str] = mapped_column(String(16))  # direct (自主支付) or entrusted (受托支付)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_account: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    paid_by: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")
    state: Mapped[str] = mapped_column(Text)
    next_timer_due: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    waiting_messages: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    process_version: Mapped[ProcessVersion] = relationship(lazy="joined")
    __mapper_args__ = {"version_id_col": version}


class PendingMessage(Base):
    """A business event that arrived before any process on the loan waited for it (e.g. early repayment)."""

    __tablename__ = "pending_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkItem(Base):
    """One row per READY human task: the only thing the inbox reads."""

    __tablename__ = "work_item"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        # "available to me": a role and branch, neither claimed nor assigned, in due order (the rowid breaks ties),
        # and the counts of it, read from this index alone
        Index("ix_work_item_offered", "role", "branch", "claimed_by", "candidate_user", "due_at"),
        {"sqlite_autoincrement": True},  # a task's id (its link) is never given to a later task
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    process_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))
    duty: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(32))
    branch: Mapped[str] = mapped_column(String(32))
    candidate_user: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation: Mapped[str | None] = mapped_column(String(16))  # overdue, unserved (no one may do it), or authority (gone up the chain)


class DutyRecord(Base):
    """Who performed which duty on which loan: what segregation rules are checked against."""

    __tablename__ = "duty_record"
    __table_args__ = (Index("ix_duty_record_loan_user", "loan_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    username: Mapped[str] = mapped_column(String(64))
    duty: Mapped[str] = mapped_column(String(64))
    process_id: Mapped[str] = mapped_column(String(64))
    bpmn_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Password checks, good and bad, that the sign-in throttle counts (its own refusals carry a rule and do not count).
SIGN_IN_ATTEMPTS = "action IN ('signed_in', 'sign_in_failed') AND rule IS NULL"


class AuditEvent(Base):
    """Append-only, hash-chained record of everything that happened."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_loan_time", "loan_ref", "occurred_at"),
        Index("ix_audit_actor_time", "actor", "occurred_at"),
        Index("ix_audit_action_time", "action", "occurred_at"),
        Index("ix_audit_sign_in", "actor", "id", postgresql_where=text(SIGN_IN_ATTEMPTS),
              sqlite_where=text(SIGN_IN_ATTEMPTS)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[str] = mapped_column(String(16), default="done")
    loan_ref: Mapped[str | None] = mapped_column(String(32))
    process_id: Mapped[str | None] = mapped_column(String(64))
    process_version: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    step: Mapped[str | None] = mapped_column(String(64))
    step_name: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))
    policy_version: Mapped[str | None] = mapped_column(String(32))
    rule: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The chain head at a moment; signed (Ed25519) when the bank's checkpoint key is configured."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[int | None] = mapped_column(Integer)  # events up to and including event_id
    signature: Mapped[str | None] = mapped_column(String(128))  # base64
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))


class AuditVerification(Base):
    """One verification of the chain and its result: the newest decides whether the audit pages show the alarm."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))  # incremental | full
    intact: Mapped[bool] = mapped_column(Boolean)
    checked: Mapped[int] = mapped_column(Integer)
    start_event_id: Mapped[int] = mapped_column(Integer)  # 0: from the first event
    checkpoint_id: Mapped[int | None] = mapped_column(Integer)  # recorded at the newest event verified (when intact)
    broken_event_id: Mapped[int | None] = mapped_column(Integer)
    broken_reason: Mapped[str | None] = mapped_column(String(32))
    broken_params: Mapped[dict] = mapped_column(JSON, default=dict)
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the bad event's time, as its row says now
    broken_action: Mapped[str | None] = mapped_column(String(48))


class Incident(Base):
    """A step that failed outside a person's request (timer, message), or a failed completion counted for designers."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_instance_status", "instance_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # timer | message | task
    process_id: Mapped[str] = mapped_column(String(64))
    process_version: Mapped[int] = mapped_column(Integer)
    step: Mapped[str | None] = mapped_column(String(128))  # BPMN id of the failing element
    step_name: Mapped[str | None] = mapped_column(String(256))
    error: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)  # for a message: its name and payload, to deliver again
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | resolved
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: waits for a person
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class Document(Base):
    """A file on a loan's credit file (财务报表, 现场照片, 合同扫描件, 他项权证): its bytes are kept by the document store
    under a key derived from the SHA-256 recorded here, so a file swapped on disk is detected when it is read."""

    __tablename__ = "document"
    __table_args__ = (
        Index("ix_document_loan_step", "loan_id", "instance_id", "step"),
        {"sqlite_autoincrement": True},  # a document's id (its download link) is never given to a later file
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer)  # set when attached on a task
    work_item_id: Mapped[int | None] = mapped_column(Integer)  # the task it was attached on (rows go when done)
    step: Mapped[str | None] = mapped_column(String(64))  # BPMN id of that task
    step_name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TaskDraft(Base):
    """What one person typed into a task's form and saved unfinished: never a decision, never audited as one."""

    __tablename__ = "task_draft"
    __table_args__ = (UniqueConstraint("work_item_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """Something a named person should know (a task for them, a decision fed back), written with the change."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "username", "read_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    loan_ref: Mapped[str | None] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(Integer)  # the work item it is about (its link), if any
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Outbox(Base):
    """One notification e-mail to send: the worker sends it after the change committed, with retries."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountabilityFinding(Base):
    """A finding on who answers for a loan gone bad (连带问责): proposed by one person, decided by another."""

    __tablename__ = "accountability_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id"), index=True)
    finding: Mapped[str] = mapped_column(Text)
    responsibility: Mapped[list] = mapped_column(JSON, default=list)  # [{person, level: none|minor|major, note}]
    sanction: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed | accepted | rejected
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int] = mapped_column(Integer, default=1)  # two heads deciding at once: one wins

    __mapper_args__ = {"version_id_col": version_id}
