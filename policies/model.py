"""Plain values the policy evaluator reads and returns; no framework types."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


def N_(message: str) -> str:
    """Mark a message for gettext extraction; the web layer translates it later."""
    return message


def _money(value: Any, what: str) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, (int, str)):
        return Decimal(value)
    raise TypeError(f"{what} must be a Decimal, int or str, not {type(value).__name__}")


def _aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True)
class Grant:
    """One role held by a user, optionally scoped to a branch, limited and dated."""

    role: str
    branch: str | None = None
    limit: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", _money(self.limit, "Grant.limit"))

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class Actor:
    """A user as the policy sees them: grants and the flags the engine maintains."""

    username: str
    grants: tuple[Grant, ...] = ()
    on_leave: bool = False
    origination_blocked: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "grants", tuple(self.grants))


@dataclass(frozen=True)
class DutyAct:
    """A duty someone performed, as recorded in the engine's duty_record."""

    username: str
    duty: str
    loan_id: str | None
    performed_at: datetime
    process: str = ""
    on_behalf_of: str | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        _aware(self.performed_at, "DutyAct.performed_at")

    def attributable_to(self, username: str) -> bool:
        """Whoever did it and whoever it was done for are both accountable (连带问责)."""
        return self.username == username or self.on_behalf_of == username


@dataclass(frozen=True)
class LoanFacts:
    """The loan fields the rules need; group_exposure, when known, drives the tier."""

    loan_id: str
    amount: Decimal
    branch: str
    product: str
    originator: str
    approval_tier: str | None = None
    loan_type: str = "new"
    group_exposure: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _money(self.amount, "LoanFacts.amount"))
        object.__setattr__(
            self, "group_exposure", _money(self.group_exposure, "LoanFacts.group_exposure")
        )

    @property
    def exposure(self) -> Decimal:
        """The amount the approval tier and limits are measured against."""
        if self.group_exposure is not None and self.group_exposure > self.amount:
            return self.group_exposure
        return self.amount


@dataclass(frozen=True)
class Request:
    """Someone asking to perform a duty now; `role` is the lane the task belongs to."""

    actor: Actor
    duty: str
    loan: LoanFacts | None
    history: tuple[DutyAct, ...]
    now: datetime
    role: str | None = None
    acting_for: Actor | None = None
    subject: str | None = None
    recused: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", tuple(self.history))
        object.__setattr__(self, "recused", frozenset(self.recused))
        _aware(self.now, "Request.now")
        if self.acting_for is not None and self.acting_for.username == self.actor.username:
            object.__setattr__(self, "acting_for", None)

    @property
    def people(self) -> tuple[str, ...]:
        """Everyone whose past acts the pairs are checked against."""
        if self.acting_for is None:
            return (self.actor.username,)
        return (self.actor.username, self.acting_for.username)


@dataclass(frozen=True)
class Decision:
    """A verdict; `message` renders the English sentence from the gettext template."""

    allowed: bool
    rule: str | None
    message_template: str
    params: dict[str, Any] = field(default_factory=dict)
    conflicting: DutyAct | None = None
    kind: str | None = None
    on_behalf_of: str | None = None
    policy_version: str | None = None

    @property
    def message(self) -> str:
        return self.message_template % self.params

    def as_error(self) -> "PolicyRefusal":
        if self.allowed:
            raise ValueError("an allowed decision is not an error")
        return REFUSAL_KINDS.get(self.kind or "", PolicyRefusal)(self)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class CommitteeOutcome:
    """The result of a committee tally, with a note per rule applied."""

    outcome: str  # "approved" | "rejected" | "no_quorum"
    approvals: int
    rejections: int
    cast: int
    quorum_met: bool
    conditions: str
    rule_notes: tuple[str, ...]
    resolution: str | None = None  # strictest decision that carried: approve / approve_with_conditions / reject
    present: int = 0


class PolicyRefusal(Exception):
    """The policy refused a request; carries the Decision for the audit trail."""

    kind = "PolicyRefusal"

    def __init__(self, decision: Decision):
        super().__init__(decision.message)
        self.decision = decision

    @property
    def rule(self) -> str | None:
        return self.decision.rule


class DutyConflict(PolicyRefusal):
    kind = "DutyConflict"


class AuthorityExceeded(PolicyRefusal):
    kind = "AuthorityExceeded"


class NotEligibleVoter(PolicyRefusal):
    kind = "NotEligibleVoter"


class OnLeave(PolicyRefusal):
    kind = "OnLeave"


class OriginationBlocked(PolicyRefusal):
    kind = "OriginationBlocked"


class RoleMissing(PolicyRefusal):
    kind = "RoleMissing"


REFUSAL_KINDS: dict[str, type[PolicyRefusal]] = {
    cls.kind: cls
    for cls in (DutyConflict, AuthorityExceeded, NotEligibleVoter, OnLeave, OriginationBlocked, RoleMissing)
}


# ---------------------------------------------------------------- what the rules read from a policy
# rules.py and committee.py are handed the policy (a PolicySet) and read only what these protocols list;
# describing it here keeps them from importing policyset.py, which imports them.


class RuleTerms(Protocol):
    """A rule or control, as a verdict names it."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def name_zh(self) -> str: ...


class PairTerms(RuleTerms, Protocol):
    """Two sets of duties that must be done by different people within a scope."""

    @property
    def scope(self) -> str: ...
    def involves(self, duty: str) -> bool: ...
    def opposite(self, duty: str) -> frozenset[str]: ...


class LimitTerms(RuleTerms, Protocol):
    """A duty performed in a role that must stay within the grant's personal limit."""

    @property
    def duty(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def require_limit(self) -> bool: ...


class DutyTerms(Protocol):
    """A duty: who may do it and the words for it."""

    @property
    def roles(self) -> tuple[str, ...]: ...
    @property
    def en(self) -> str: ...
    @property
    def zh(self) -> str: ...
    @property
    def done(self) -> str: ...


class TierTerms(Protocol):
    """An approval tier."""

    @property
    def ceiling(self) -> Decimal | None: ...


class CommitteeTerms(Protocol):
    """The credit committee: its roles, the level each tier sits at, file work and vote duties."""

    @property
    def member_roles(self) -> tuple[str, ...]: ...
    @property
    def chair_role(self) -> str: ...
    @property
    def levels(self) -> Mapping[str, str]: ...
    @property
    def file_work(self) -> frozenset[str]: ...
    @property
    def vote_duties(self) -> frozenset[str]: ...


class PolicyTerms(Protocol):
    """The policy version as rules.py and committee.py use it; PolicySet provides it."""

    @property
    def version(self) -> str: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def controls(self) -> Mapping[str, RuleTerms]: ...
    @property
    def duty_specs(self) -> Mapping[str, DutyTerms]: ...
    @property
    def pairs(self) -> Sequence[PairTerms]: ...
    @property
    def limits(self) -> Sequence[LimitTerms]: ...
    @property
    def tier_checked_duties(self) -> Mapping[str, str | None]: ...
    @property
    def committee(self) -> CommitteeTerms: ...
    def local_date(self, moment: datetime) -> date: ...
    def min_tier(self, amount: Decimal, loan_type: str = "new") -> str: ...
    def tier(self, name: str) -> TierTerms: ...
    def tier_rank(self, name: str) -> int: ...
