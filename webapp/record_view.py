"""A file entry in words: the heading of each act, and its values under the form's own titles."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .i18n import enum_label, field_title, is_chinese
from .templating import money, step_name

HEADINGS = {
    "task_reassigned": _l("Task reassigned"), "meeting_closed": _l("Committee meeting closed"),
    "warning_raised": _l("Risk warning raised"), "loan_approved": _l("Approval granted"),
    "payment_made": _l("Payment made"), "comment_added": _l("Comment"),
}
# Values of acts that have no form: the words for their keys.
DETAIL_TITLES = {
    "present": _l("Members present"), "absent": _l("Recorded absent"), "votes_cast": _l("Votes cast"),
    "signal": _l("What was observed"), "amount": _l("Amount"), "currency": _l("Currency"),
    "term_months": _l("Term (months)"), "conditions": _l("Conditions"), "tier": _l("Approval tier"),
    "mode": _l("Payment mode"), "reference": _l("Payment reference"), "counterparty": _l("Counterparty"),
    "assigned_to": _l("Assigned to"), "paid": _l("Paid so far"), "undrawn": _l("Left to draw"),
}
CODED_DETAILS = {"tier", "mode"}  # codes with words in the catalogs
MONEY_DETAILS = {"amount", "paid", "undrawn"}
PLUMBING = {"completed_by", "committee_size", "loan_id", "originator"}


def heading(entry) -> str:
    """What happened, in words: the step's name for a completed task."""
    if entry.action == "task_completed":
        return step_name(entry.process_id, entry.step, entry.step_name, entry.process_version) or _("Task completed")
    return str(HEADINGS.get(entry.action, entry.action))


def recorded_fields(entry) -> list[tuple[str, str]]:
    """(title, value) of each value the act recorded, in the form's field order, blanks left out."""
    props = (entry.form or {}).get("properties", {})
    order = {name: i for i, name in enumerate(props)}
    shown = []
    for name in sorted(entry.values, key=lambda n: (order.get(n, len(order)), n)):
        value = entry.values[name]
        if name in PLUMBING or name.startswith("_") or value in (None, "", [], {}):
            continue
        prop = props.get(name)
        if prop is not None:
            shown.append((field_title(name, prop), _value_text(prop, value)))
        elif name in DETAIL_TITLES:
            shown.append((str(DETAIL_TITLES[name]), _detail_text(name, value)))
    return shown


def _value_text(prop: dict, value) -> str:
    if isinstance(value, list):
        return _separator().join(_value_text(prop.get("items", {}), v) for v in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if "enum" in prop or prop.get("x-enum-titles"):
        return enum_label(prop, value)
    if prop.get("x-unit") == "CNY":
        return money(value)
    return str(value)


def _detail_text(name: str, value) -> str:
    if isinstance(value, list):
        return _separator().join(str(v) for v in value) or "—"
    if name in CODED_DETAILS:
        return _(str(value))
    if name in MONEY_DETAILS and isinstance(value, (int, float, str, Decimal)):
        return money(value)
    return str(value)


def _separator() -> str:
    return "、" if is_chinese() else ", "
