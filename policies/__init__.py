"""Segregation-of-duties, authority and committee policy: YAML rules plus a pure evaluator."""
from .committee import DECISIONS as VOTE_DECISIONS
from .loader import DEFAULT_POLICY, PolicyFormatError, default_policy, load_policy, parse_policy
from .model import (
    Actor,
    AuthorityExceeded,
    CommitteeOutcome,
    Decision,
    DutyAct,
    DutyConflict,
    Grant,
    LoanFacts,
    N_,
    NotEligibleVoter,
    OnLeave,
    OriginationBlocked,
    PolicyRefusal,
    Request,
    RoleMissing,
)
from .policyset import DutySpec, PolicySet, Tier
from .postloan import choose_inspection_assistant
from .rules import Control, LimitRule, PairRule

__all__ = [
    "Actor", "AuthorityExceeded", "CommitteeOutcome", "Control", "DEFAULT_POLICY", "Decision", "DutyAct",
    "DutyConflict", "DutySpec", "Grant", "LimitRule", "LoanFacts", "N_", "NotEligibleVoter", "OnLeave",
    "OriginationBlocked", "PairRule", "PolicyFormatError", "PolicyRefusal", "PolicySet", "Request",
    "RoleMissing", "Tier", "VOTE_DECISIONS", "choose_inspection_assistant", "default_policy", "load_policy",
    "parse_policy",
]
