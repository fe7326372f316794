"""A loan's extension (展期): how far it may be extended, and the approved extension recorded on the same loan as
its new maturity (到期日); no money moves."""
from __future__ import annotations

from datetime import date

from engine.errors import InvalidInput
from engine.runtime import execution
from engine.store.lookups import maturity_of
from engine.store.models import Loan


def longest_extension(term_months: int) -> int:
    """贷款通则 art. 12: a short-term loan by at most its term, a medium-term one by half of it, a long-term one by
    at most three years."""
    if term_months <= 12:
        return term_months
    if term_months <= 60:
        return (term_months + 1) // 2
    return 36


def extend(unit, loan: Loan, data: dict, where: dict) -> None:
    """The approved extension moves the loan's maturity; the approved amount and the payments stay as they were."""
    try:
        new = date.fromisoformat(str(data.get("new_maturity_date")))
    except ValueError:
        raise InvalidInput("The extension names no new maturity date; nothing was changed.") from None
    was = maturity_of(unit.session, unit.policy, loan)
    before = {"maturity_date": was.isoformat() if was else None, "extensions": loan.extensions or 0}
    loan.maturity_date = new
    loan.extensions = (loan.extensions or 0) + 1
    after = {"maturity_date": new.isoformat(), "extensions": loan.extensions}
    unit.audit.record("loan_extended", **where, detail=execution.plain_data({
        "before": before, "after": after, "extension_months": data.get("extension_months"),
        "tier": data.get("approval_tier"), "conditions": data.get("approval_conditions") or None}))
