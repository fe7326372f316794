"""Values recorded on a loan's file, shown as people read them: field titles, choice titles, 是/否, amounts."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .i18n import CODE_WORDS, enum_label, field_title, is_chinese

# Variables the processes and the engine put on the file themselves (no form defines them).
CASE_FIELD_TITLES = {
    "review_result": _l("Review result"), "approval_tier": _l("Approval tier"),
    "entrusted_payment": _l("Entrusted payment"), "disbursement_review": _l("Disbursement review"),
    "inspection_review": _l("Inspection review"), "chair_decision": _l("Chair's decision"),
    "approval_conditions": _l("Approval conditions"), "committee_size": _l("Committee size"),
    "committee_chair": _l("Committee chair"), "post_loan_manager": _l("Post-loan manager"),
    "classification_floor": _l("Classification floor"), "current_classification": _l("Current classification"),
    "inspection_due_on": _l("Next inspection due on"), "inspection_period": _l("Inspection period"),
    "paid_total": _l("Paid so far"), "undrawn": _l("Undrawn"), "drawdowns_paid": _l("Drawdowns paid"),
    "floor_violation": _l("Better than the floor"), "first_inspection_days": _l("Days to the first inspection"),
    "disbursed_on": _l("Disbursed on"), "inspection_count": _l("Inspections done"), "signal": _l("Warning signal"),
    "raised_by": _l("Raised by"), "rule": _l("Rule"), "rule_detail": _l("What the rule found"),
    "days_past_due": _l("Days past due"), "threshold": _l("Threshold (days)"), "maturity_date": _l("Maturity date"),
    "last_repayment_date": _l("Last repayment"), "outstanding_principal": _l("Outstanding principal"),
    "previous_classification": _l("Previous classification"), "approved_by": _l("Approved by"),
    "collateral_id": _l("Collateral item"), "appraised_value": _l("Appraised value"),
    "cover": _l("Value that may cover principal"),
    # what acts without a form record (an approval, a payment, a meeting closed, a task reassigned)
    "present": _l("Members present"), "absent": _l("Recorded absent"), "votes_cast": _l("Votes cast"),
    "currency": _l("Currency"), "term_months": _l("Term (months)"), "conditions": _l("Conditions"),
    "tier": _l("Approval tier"), "mode": _l("Payment mode"), "reference": _l("Payment reference"),
    "counterparty": _l("Counterparty"), "assigned_to": _l("Assigned to"), "paid": _l("Paid so far"),
}
# Fields whose numbers are sums of money.
MONEY_FIELDS = {"amount", "paid", "paid_total", "undrawn", "payment_amount", "collateral_value", "group_exposure",
                "declared_group_exposure", "project_investment", "outstanding_principal", "appraised_value", "cover"}
CODES = {str(code._args[0]) if hasattr(code, "_args") else str(code) for code in CODE_WORDS}


def field_label(name: str, prop: dict | None) -> str:
    if prop:
        return field_title(name, prop)
    if name in CASE_FIELD_TITLES:
        return str(CASE_FIELD_TITLES[name])
    return name.replace("_", " ").capitalize()


def _money(value) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def value_text(name: str, value, prop: dict | None, fields) -> str:
    """One recorded value in words: a choice by its title, a yes/no in words, an amount with separators."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (int, float, Decimal, str)) and (name in MONEY_FIELDS or (prop or {}).get("x-unit") == "CNY"):
        return _money(value)
    if isinstance(value, list):
        return "、".join(value_text(name, v, (prop or {}).get("items"), fields) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k, fields.get(k))}: {value_text(k, v, fields.get(k), fields)}"
                         for k, v in value.items())
    if isinstance(value, str):
        return choice_text(value, prop, fields)
    return str(value)


def choice_text(value: str, prop: dict | None, fields) -> str:
    """A choice by its title in the field's own form, else a code in words, else any form that offers it."""
    if prop and value in (prop.get("enum") or []):
        return enum_label(prop, value)
    if value in CODES:
        return _(value)
    other = fields.choices.get(value)  # review_result holds the review form's decision, and so on
    return enum_label(other, value) if other else value


def recorded(pairs, fields) -> list[tuple[str, str]]:
    """(title, value in words) for each (field name, value); a signal a rule worded is read in the reader's
    language from the template and parameters it was recorded with."""
    pairs = list(pairs)
    wording = next((v for k, v in pairs if k == "signal_wording" and isinstance(v, dict)), None)
    words = []
    for name, value in pairs:
        if name == "signal_wording":
            continue
        if name == "signal" and wording and isinstance(wording.get("template"), str):
            from .i18n import translate
            try:
                value = translate(wording["template"], wording.get("params") or {})
            except (KeyError, TypeError, ValueError):
                pass
        words.append((field_label(name, fields.get(name)), value_text(name, value, fields.get(name), fields)))
    return words


def recorded_diff(rows, fields) -> list[tuple[str, str, str, bool]]:
    """An audit event's form diff (field, before, after, changed) with titles and values in words."""
    return [(field_label(name, fields.get(name)), value_text(name, before, fields.get(name), fields),
             value_text(name, after, fields.get(name), fields), changed) for name, before, after, changed in rows]


def refusal_reason(event) -> str:
    """A refusal's reason in the reader's language, from the template and parameters it was recorded with; the
    stored sentence for rows recorded before templates were kept."""
    from .i18n import translate

    detail = event.detail if isinstance(event.detail, dict) else {}
    template, params = detail.get("template"), detail.get("params")
    if not isinstance(template, str) or not template:
        return event.reason or ""
    try:
        return translate(template, params if isinstance(params, dict) else {})
    except (KeyError, TypeError, ValueError):
        return event.reason or ""


def detail_words(value, fields, name: str | None = None):
    """An event's other details with codes (duties, roles, tiers) and form choices put in words."""
    if isinstance(value, dict):
        if is_chinese() and isinstance(value.get("rule_name_zh"), str):  # the policy names its rules in both
            value = {**value, "rule_name": value["rule_name_zh"]}
            value.pop("rule_name_zh")
        return {k: detail_words(v, fields, k) for k, v in value.items() if k != "template"}
    if isinstance(value, list):
        return [detail_words(v, fields, name) for v in value]
    if isinstance(value, str):
        return choice_text(value, fields.get(name) if name else None, fields)
    return value
