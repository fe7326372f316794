"""Plain values the engine hands to the CLI and the web layer (no ORM objects, no Spiff objects)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class WorkItemView:
    id: int
    loan_id: int
    loan_ref: str
    borrower: str
    amount: Decimal
    branch: str
    process_id: str
    bpmn_id: str
    name: str
    role: str
    duty: str
    stage: str
    candidate_user: str | None
    claimed_by: str | None
    created_at: datetime
    due_at: datetime | None
    escalation: str | None = None  # overdue, unserved (nobody may do it) or authority (up the chain)

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and self.due_at < now


@dataclass(frozen=True)
class ActView:
    """One thing a person did on a loan (from the duty record)."""

    username: str
    duty: str
    process_id: str
    step: str | None
    on_behalf_of: str | None
    performed_at: datetime


@dataclass(frozen=True)
class InstanceView:
    id: int
    process_id: str
    process_name: str
    version: int
    version_id: int
    status: str
    next_timer_due: datetime | None
    created_at: datetime
    completed_steps: tuple[str, ...] = ()
    current_steps: tuple[str, ...] = ()
    taken_flows: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaymentView:
    """One drawdown paid out."""

    paid_at: datetime
    mode: str
    amount: Decimal
    currency: str
    counterparty_name: str | None
    counterparty_account: str | None
    reference: str
    paid_by: str


@dataclass(frozen=True)
class CollateralView:
    """One collateral item (押品): what it is, its last appraisal, its next revaluation, and its release."""

    id: int
    collateral_type: str
    description: str
    registration_number: str | None
    appraised_value: Decimal
    appraised_on: date
    next_revaluation_on: date
    revaluations: int
    revaluation_open: bool
    status: str
    release_proposed_by: str | None
    released_by: str | None
    released_at: datetime | None


@dataclass(frozen=True)
class LoanAccountView:
    """The loan's latest position as the core banking system reported it (as of a business date)."""

    as_of: date
    contract_number: str
    maturity_date: date
    schedule: str
    outstanding_principal: Decimal
    overdue_principal: Decimal
    overdue_interest: Decimal
    days_past_due: int
    last_repayment_date: date | None
    last_repayment_amount: Decimal | None

    @property
    def overdue(self) -> Decimal:
        return self.overdue_principal + self.overdue_interest


@dataclass(frozen=True)
class PositionError:
    """One refused row of a feed: its number (from 1), the loan it named, the field at fault and why."""

    row: int
    loan: str | None
    field: str
    template: str
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template


@dataclass(frozen=True)
class ImportSummary:
    """What a batch of positions did: loans whose position changed, loans already up to date, rows refused."""

    as_of: date
    accepted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[PositionError] = field(default_factory=list)
    onboarded: list[str] = field(default_factory=list)  # loans whose credit file an onboarding row opened


@dataclass(frozen=True)
class ApprovalView:
    """The terms the approval fixed, and how much of the amount is paid."""

    amount: Decimal
    currency: str
    term_months: int | None
    conditions: str | None
    approved_at: datetime
    paid: Decimal
    payments: tuple[PaymentView, ...] = ()
    # who signed or voted for it, in order: (username, duty); jointly accountable for it (连带问责)
    signers: tuple[tuple[str, str], ...] = ()

    @property
    def undrawn(self) -> Decimal:
        return self.amount - self.paid


@dataclass(frozen=True)
class LoanView:
    id: int
    reference: str
    borrower: str
    product: str
    amount: Decimal
    currency: str
    branch: str
    originator: str
    loan_type: str
    stage: str
    classification: str
    status: str
    created_at: datetime
    application: dict = field(default_factory=dict)
    instances: tuple[InstanceView, ...] = ()
    acts: tuple[ActView, ...] = ()
    approval: ApprovalView | None = None
    account: LoanAccountView | None = None  # the core banking feed's latest position, once there is one
    maturity_date: date | None = None  # as an extension agreed it, else as the feed reports it, else term from drawdown
    extensions: int = 0
    replaces: str | None = None  # the loan this refinancing or restructuring replaces
    replaced_by: tuple[str, ...] = ()  # loans that refinance or restructure this one


@dataclass(frozen=True)
class TaskView:
    """A work item with what a person needs to do it."""

    item: WorkItemView
    form: dict
    instructions: str
    data: dict


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int
    created: bool


@dataclass(frozen=True)
class RunningInstanceView:
    """A running instance a designer may move to another version; `steps`: (element id, stored name) it is at."""

    instance_id: int
    loan_ref: str
    borrower: str
    process_id: str
    version: int
    steps: tuple[tuple[str, str], ...]
    updated_at: datetime


@dataclass(frozen=True)
class Inner:
    """A message inside another one's parameters (e.g. why a script is refused), translated with it."""

    template: str
    params: tuple = ()

    def __str__(self) -> str:  # English
        values = dict(self.params)
        return self.template % values if values else self.template


def filled(template: str | None, params, fallback: str, gettext) -> str:
    """A message template in the reader's language (`gettext` translates one msgid), filled with its parameters
    (an Inner message among them translated too); the English template when a translation lost a parameter,
    `fallback` when there is no template."""
    if not template:
        return fallback
    values = {k: filled(v.template, v.params, str(v), gettext) if isinstance(v, Inner) else v
              for k, v in dict(params).items()}
    for text in (gettext(template), template):
        try:
            return text % values if values else text
        except (KeyError, TypeError, ValueError):
            continue
    return fallback


@dataclass(frozen=True)
class ProblemView:
    """A validation error or a lint finding, placed on its file, line and element."""

    file: str
    line: int | None
    element: str | None
    message: str
    severity: str = "error"
    rule: str | None = None
    template: str | None = None
    params: tuple = ()

    def text(self, gettext) -> str:
        return filled(self.template, self.params, self.message, gettext)


@dataclass(frozen=True)
class ChangeView:
    """A process change on its way through four eyes; `files` are only the files it edits."""

    id: int
    author: str
    status: str  # draft, submitted, approved, rejected, withdrawn
    note: str
    files: dict
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewer: str | None
    decided_at: datetime | None
    reason: str | None
    deployed: tuple[DeployResult, ...] = ()
    problems: tuple[ProblemView, ...] = ()  # filled when one change is read, against what is deployed now
    base_files: dict = field(default_factory=dict)  # the deployed files it is laid over (one change read only)
    policy_text: str | None = None  # a new policy (YAML) the change carries
    replay: dict | None = None  # engine.replay.summary.as_record of what it would have done to the recorded loans
    replayed_at: datetime | None = None

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")


@dataclass(frozen=True)
class IncidentView:
    id: int
    loan_ref: str
    instance_id: int
    kind: str
    process_id: str
    process_version: int
    step: str | None
    step_name: str | None
    error: str
    status: str
    attempts: int
    first_seen: datetime
    last_seen: datetime
    next_attempt_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None


@dataclass(frozen=True)
class TaskFormView:
    id: int
    name: str
    loan_ref: str
    form: dict
    process_id: str = ""  # with bpmn_id: what the name is looked up by in the reader's language
    bpmn_id: str = ""


@dataclass(frozen=True)
class DocumentView:
    """One file on a loan's credit file, with the SHA-256 it was stored with."""

    id: int
    loan_ref: str
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    step: str | None = None  # BPMN id of the task it was attached on; None for the loan as a whole
    step_name: str | None = None
    work_item_id: int | None = None
    process_id: str | None = None  # with `step`: what the step's name is looked up by in the reader's language


@dataclass(frozen=True)
class ChecklistItemView:
    """One document a task's checklist asks for, and what is attached for it on that step."""

    kind: str
    title: str
    title_zh: str | None
    required: bool
    documents: tuple[DocumentView, ...] = ()

    @property
    def present(self) -> bool:
        return bool(self.documents)


@dataclass(frozen=True)
class DraftView:
    """What one person typed into a task's form and saved unfinished (as typed, not converted)."""

    values: dict
    saved_at: datetime


@dataclass(frozen=True)
class NotificationView:
    """One notification as its reader sees it: the sentence in their language and where it leads."""

    id: int
    kind: str
    loan_ref: str | None
    item_id: int | None
    title: str
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


@dataclass(frozen=True)
class MailRun:
    """What one pass over the e-mail outbox did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class VersionEntry:
    """One deployed version of a process: who designed and approved it, and how many loans still run on it."""

    id: int
    process_id: str
    version: int
    name: str  # as the diagram names it; shown through the catalog in the reader's language
    designed_by: str | None
    approved_by: str | None
    deployed_at: datetime
    running: int


@dataclass(frozen=True)
class ProcessEntry:
    """A process in the library, its versions newest first."""

    process_id: str
    name: str
    versions: tuple[VersionEntry, ...]

    @property
    def newest(self) -> VersionEntry:
        return self.versions[0]


@dataclass(frozen=True)
class StepView:
    """A user task of a version as the library lists it: lane (role), duty, form, stage, due, assignee."""

    bpmn_id: str
    name: str
    role: str
    duty: str
    stage: str
    form_title: str
    form_title_zh: str
    due: str | None
    assignee: str | None


@dataclass(frozen=True)
class DifferenceView:
    """One change between two file sets; `template` and `params` are put in the reader's language where shown."""

    kind: str  # added, removed or changed
    what: str  # task, lane, duty, condition, timer, form field, decision rule, layout, ...
    element: str | None
    file: str
    template: str
    params: dict
    process: str | None = None

    def text(self, gettext=lambda s: s) -> str:
        from engine.runtime.diff import Change

        return Change(self.kind, self.what, self.element, self.file, self.template, self.params).text(gettext)


@dataclass(frozen=True)
class DiagramPairView:
    """One BPMN file before and after (XML with names in the reader's language; None where the file is absent) and
    the elements to mark on each side: element id -> added, removed or changed."""

    file: str
    process_id: str | None
    old_xml: str | None
    new_xml: str | None
    old_marks: dict
    new_marks: dict


@dataclass(frozen=True)
class ComparisonView:
    """What a reviewer reads: the changes in words and both diagrams of every changed BPMN file."""

    changes: tuple[DifferenceView, ...]
    diagrams: tuple[DiagramPairView, ...]


# -- what-if replay -------------------------------------------------------------------------------
# Kinds of difference a replay reports, in the order a reader cares about them.
REPLAY_KINDS = ("tier", "payment", "decision", "outcome", "path", "stall", "unserved", "refused", "form", "error")


@dataclass(frozen=True)
class ReplayDifference:
    """One way a candidate would have treated a recorded loan differently. `template` is a gettext msgid with
    `%(name)s` params (translate the template, then fill it); `kind` is one of REPLAY_KINDS:
    tier / payment / decision: a decision table would have answered otherwise (params `old`, `new`: tier ids,
    which are msgids too, or `direct`/`entrusted`; `field` for another output);
    outcome: another end, or a process the candidate would not start (`old`, `new`: end event names);
    path: a recorded step the candidate would not offer (`recorded`, `offered`: step names), or other steps waited
    at; the replay of that instance stops there;
    stall: the candidate would wait with nothing left to do, or at a step nobody can ever do (`recorded`/`after`);
    unserved: a step nobody in today's user base may do (`step`, `role`, `duty`, `reason`);
    refused: the candidate policy (or assignee) refuses the person who did the step, or someone named in its form
    (`step`, `actor`, `rule`, `reason`);
    form: the candidate form refuses the recorded data (`step`, `fields`); error: a candidate script fails
    (`step`, `error`). Where `reason` is given, `reason_template` and `reason_params` translate it."""

    kind: str
    template: str
    params: dict
    process_id: str = ""
    step: str | None = None  # BPMN id of the element it shows at, for marking it on the diagram

    def __iter__(self):  # unpacks as (kind, template, params)
        return iter((self.kind, self.template, self.params))


@dataclass(frozen=True)
class LoanReplay:
    """One loan replayed through the candidate: its differences and the user tasks done in history and in the
    replay (BPMN ids, in order), for drawing both paths. `process_id`/`version`: the instance first replayed
    (origination, as recorded); link to the loan by `loan_ref`."""

    loan_ref: str
    process_id: str
    version: int
    differences: list[ReplayDifference]
    recorded_steps: tuple[str, ...] = ()
    replayed_steps: tuple[str, ...] = ()
    status: str = ""  # the loan's status today (active, disbursed, rejected, ...)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.kind for d in self.differences))


@dataclass(frozen=True)
class ReplaySentence:
    """A line of the summary: a gettext msgid and its params, e.g. '%(count)s of %(total)s loans would have gone
    to %(new)s instead of %(old)s' (tier ids in params are msgids too: translate them before filling)."""

    kind: str
    template: str
    params: dict


@dataclass(frozen=True)
class ReplayReport:
    """What a candidate version and policy would have done to the recorded loans: `total` replayed, `same` that
    would have gone exactly as they did, `differing` loans with their differences, `counts` loans per kind of
    difference, `summary` sentences (most loans first), `seconds` the replay took. Nothing was written."""

    total: int
    same: int
    differing: list[LoanReplay]
    counts: dict[str, int]
    summary: list[ReplaySentence]
    seconds: float = 0.0
    processes: tuple[str, ...] = ()  # the candidate's process ids
