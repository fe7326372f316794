"""Message templates: English msgids marked with N_() for gettext, %(name)s params."""
from __future__ import annotations

from .model import N_

ALLOWED = N_("%(duty)s on loan %(loan_id)s is allowed under policy %(policy_version)s.")
ALLOWED_NO_LOAN = N_("%(duty)s on %(subject)s is allowed under policy %(policy_version)s.")
RULE_SATISFIED = N_("%(rule)s (%(rule_name)s): satisfied.")
RULE_NOT_APPLICABLE = N_("%(rule)s (%(rule_name)s) does not apply to %(duty)s.")

ON_LEAVE = N_("You are on mandatory leave and get no work until it ends (%(rule)s %(rule_name)s).")

ROLE_NOT_FOR_DUTY = N_(
    "%(duty)s is not done in the %(role)s role; it is done by %(allowed_roles)s (%(rule)s)."
)
ROLE_MISSING = N_("You hold no %(role)s grant for branch %(branch)s (%(rule)s %(rule_name)s).")
ROLE_MISSING_ANYWHERE = N_("You hold no %(role)s grant (%(rule)s %(rule_name)s).")
ROLE_EXPIRED = N_(
    "Your %(role)s grant for branch %(branch)s is valid from %(valid_from)s to %(valid_to)s, "
    "not on %(date)s (%(rule)s %(rule_name)s)."
)

ORIGINATION_BLOCKED = N_(
    "%(blocked_user)s may not originate new loans after %(limit)s missed post-loan inspections "
    "until the block is lifted (%(rule)s %(rule_name)s)."
)

CONFLICT_SELF = N_(
    "You %(earlier_duty_label)s loan %(loan_id)s on %(date)s; %(duty_a)s and %(duty_b)s "
    "must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_SELF_SUBJECT = N_(
    "You %(earlier_duty_label)s loan %(loan_id)s (%(subject)s) on %(date)s; %(duty_a)s and %(duty_b)s "
    "must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_SELF_NO_LOAN = N_(
    "You %(earlier_duty_label)s %(subject)s on %(date)s; %(duty_a)s and %(duty_b)s "
    "must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_PRINCIPAL = N_(
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s loan %(loan_id)s on %(date)s; "
    "%(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_PRINCIPAL_SUBJECT = N_(
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s loan %(loan_id)s (%(subject)s) "
    "on %(date)s; %(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_PRINCIPAL_NO_LOAN = N_(
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s %(subject)s on %(date)s; "
    "%(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_ORIGINATOR = N_(
    "You are the originator of loan %(loan_id)s; %(duty_a)s and %(duty_b)s "
    "must be different people (%(rule)s %(rule_name)s)."
)
CONFLICT_PRINCIPAL_ORIGINATOR = N_(
    "%(principal)s, for whom you are acting, is the originator of loan %(loan_id)s; "
    "%(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."
)

OVER_LIMIT = N_(
    "Loan %(loan_id)s of CNY %(amount)s exceeds your %(role)s limit of CNY %(limit)s "
    "(%(rule)s %(rule_name)s)."
)
NO_LIMIT = N_(
    "Your %(role)s grant carries no approval limit, so it cannot cover loan %(loan_id)s "
    "of CNY %(amount)s (%(rule)s %(rule_name)s)."
)
BUSINESS_SIGNATURE_ORIGINATOR = N_(
    "The business signature of loan %(loan_id)s is signed by %(originator)s, the customer manager who holds the "
    "business (%(rule)s %(rule_name)s)."
)
BUSINESS_SIGNATURE_SECOND = N_(
    "The business signature of loan %(loan_id)s is signed by a second customer manager who did not work on the "
    "file; you %(earlier_act)s it (%(rule)s %(rule_name)s)."
)
TIER_TOO_LOW = N_(
    "Loan %(loan_id)s of CNY %(amount)s (%(loan_type)s) must be approved by %(required_tier)s; "
    "%(tier)s may approve up to CNY %(ceiling)s (%(rule)s %(rule_name)s)."
)

VOTER_PRESENTER = N_(
    "You present loan %(loan_id)s as its customer manager and may not vote on it (%(rule)s %(rule_name)s)."
)
VOTER_PRINCIPAL_PRESENTER = N_(
    "%(principal)s, for whom you are acting, presents loan %(loan_id)s and may not vote on it "
    "(%(rule)s %(rule_name)s)."
)
VOTER_FILE_WORK = N_(
    "You %(earlier_duty_label)s loan %(loan_id)s on %(date)s; anyone who worked on the file "
    "may not vote on it (%(rule)s %(rule_name)s)."
)
VOTER_RECUSED = N_("%(recused_user)s is recused from loan %(loan_id)s (%(rule)s %(rule_name)s).")
VOTER_PRINCIPAL_FILE_WORK = N_(
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s loan %(loan_id)s on %(date)s; "
    "anyone who worked on the file may not vote on it (%(rule)s %(rule_name)s)."
)

QUORUM_TOO_FEW = N_(
    "A quorum needs at least %(need)s of the %(size)s committee members present; %(count)s selected (%(rule)s)."
)
QUORUM_NO_CHAIR = N_("The chair %(chair)s must be among the members present for a quorum (%(rule)s).")
