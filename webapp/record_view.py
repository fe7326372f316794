"""A file entry in words: the heading of each act, and its values under the form's own titles."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .recorded import recorded
from .templating import form_fields, step_name

HEADINGS = {
    "task_reassigned": _l("Task reassigned"), "meeting_closed": _l("Committee meeting closed"),
    "warning_raised": _l("Risk warning raised"), "loan_approved": _l("Approval granted"),
    "payment_made": _l("Payment made"), "comment_added": _l("Comment"),
    "loan_closed": _l("Loan repaid and closed"), "collateral_release_proposed": _l("Collateral release proposed"),
    "collateral_released": _l("Collateral released"), "recovery_recorded": _l("Recovery recorded from the feed"),
}
# on the record, not news to its reader
PLUMBING = {"completed_by", "committee_size", "loan_id", "originator", "days_past_due"}


def heading(entry) -> str:
    """What happened, in words: the step's name for a completed task."""
    if entry.action == "task_completed":
        return step_name(entry.process_id, entry.step, entry.step_name, entry.process_version) or _("Task completed")
    return str(HEADINGS.get(entry.action, entry.action))


def recorded_fields(entry) -> list[tuple[str, str]]:
    """(title, value) of each value the act recorded, in the order of the step's form, blanks left out."""
    fields = form_fields(entry.process_id, entry.process_version, entry.step)
    order = {name: i for i, name in enumerate(fields.fields)}  # the step's own form comes first
    pairs = [(name, value) for name, value in sorted(entry.values.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
             if name not in PLUMBING and not name.startswith("_") and value not in (None, "", [], {})]
    return recorded(pairs, fields)
