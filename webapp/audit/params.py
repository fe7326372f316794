"""Reading the auditor's query string into an EventFilter, and small helpers the audit templates use."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from flask import abort
from flask_babel import lazy_gettext as _l

from engine.audit.search import EventFilter

from ..templating import bank_time

ACTIONS = {
    "loan_created": _l("Loan created"), "instance_started": _l("Process started"),
    "instance_completed": _l("Process ended"), "task_started": _l("Task started"), "task_claimed": _l("Task claimed"),
    "task_released": _l("Task released"), "task_completed": _l("Task completed"), "task_cancelled": _l("Task withdrawn"),
    "step_completed": _l("Automatic step"), "loan_updated": _l("Loan field changed"),
    "task_reassigned": _l("Task reassigned"), "comment_added": _l("Comment written on the file"), "task_escalated": _l("Task escalated"), "meeting_closed": _l("Committee meeting closed with those present"),
    "customer_added": _l("Customer file opened"), "customer_grouped": _l("Customer put in a group"),
    "loan_approved": _l("Approved terms fixed"), "payment_released": _l("Payment released by review"),
    "collateral_registered": _l("Collateral registered"), "payment_made": _l("Payment made"),
    "message_thrown": _l("Message sent"), "message_received": _l("Message received"), "refused": _l("Refused by policy"),
    "signed_in": _l("Signed in"), "sign_in_failed": _l("Sign-in failed"), "user_added": _l("User added"),
    "role_granted": _l("Role granted"), "leave_recorded": _l("Leave recorded"),
    "delegation_recorded": _l("Delegation recorded"), "token_issued": _l("API token issued"),
    "process_deployed": _l("Process deployed"), "policy_deployed": _l("Policy deployed"),
    "change_saved": _l("Process change saved"), "change_submitted": _l("Process change submitted for approval"),
    "change_withdrawn": _l("Process change withdrawn"), "change_approved": _l("Process change approved"),
    "change_rejected": _l("Process change rejected"),
    "inspection_missed": _l("Inspection missed"), "origination_blocked": _l("Origination blocked"),
    "origination_unblocked": _l("Origination block lifted"), "assignee_unavailable": _l("Assignee away"),
    "warning_raised": _l("Warning raised"), "extension_requested": _l("Extension requested"),
    "loan_extended": _l("Maturity moved by an extension"), "loan_replacement_started": _l("Refinancing or restructuring started"),
    "loan_settled": _l("Settled by refinancing or restructuring"), "message_queued": _l("Message kept for later"),
    "incident_opened": _l("Incident opened"), "incident_failed_again": _l("Incident failed again"),
    "incident_retried": _l("Incident retried"), "incident_resolved": _l("Incident resolved"),
    "instance_migrated": _l("Moved to a newer process version"), "signed_out": _l("Signed out"),
    "token_revoked": _l("API token revoked"),
    "document_attached": _l("Document attached"), "draft_saved": _l("Draft saved"),
    "user_contact_changed": _l("E-mail address or language changed"), "notifications_read": _l("Notifications read"),
    "position_recorded": _l("Loan position recorded from the core banking feed"),
    "loan_onboarded": _l("Disbursed loan onboarded from the core banking feed"),
    "classification_review_due": _l("Periodic classification review opened"),
    "loan_closed": _l("Loan repaid and closed"), "collateral_recorded": _l("Collateral item recorded"),
    "collateral_revalued": _l("Collateral revalued"), "collateral_release_proposed": _l("Collateral release proposed"),
    "collateral_released": _l("Collateral released"), "recovery_recorded": _l("Recovery recorded from the feed"),
    "accountability_proposed": _l("Accountability finding proposed"),
    "accountability_decided": _l("Accountability finding decided"),
    "chain_verified": _l("Audit trail verified"),
}
OUTCOMES = {"done": _l("Done"), "denied": _l("Denied"), "failed": _l("Failed")}
# Where an event came from (the audit's source column).
SOURCES = {"web": _l("web page"), "cli": _l("command line"), "api": _l("API"), "timer": _l("timer")}
TEXT_FIELDS = ("loan", "actor", "role", "process", "action", "outcome", "rule")
COLUMN = {"loan": "loan_ref", "actor": "actor", "role": "role", "process": "process_id", "action": "action",
          "outcome": "outcome", "rule": "rule"}


def _day(value: str | None):
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


def read_filters(args) -> tuple[EventFilter, dict]:
    """Filters from the query string (dates are Beijing days, `to` inclusive); malformed values are dropped."""
    echo = {name: args.get(name, "").strip()[:64] for name in TEXT_FIELDS if args.get(name, "").strip()}
    if echo.get("outcome") not in (None, *OUTCOMES):
        echo.pop("outcome")
    since, until = _day(args.get("from")), _day(args.get("to"))
    if since:
        echo["from"] = since.isoformat()
    if until:
        echo["to"] = until.isoformat()
    filters = EventFilter(
        **{COLUMN[name]: value for name, value in echo.items() if name in COLUMN},
        since=datetime.combine(since, time(0), bank_time()) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(0), bank_time()) if until else None,
    )
    return filters, echo


def cursor(args, name: str) -> int | None:
    """An event id to page from; anything that is not one is a 400 (ids are 32-bit on PostgreSQL)."""
    raw = args.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 2**31 - 1:
        abort(400)
    return int(raw)


def changes(detail: dict) -> list[tuple[str, object, object, bool]]:
    """A form's field-level diff: (field, before, after, changed) for each field in before or after."""
    before, after = detail.get("before"), detail.get("after")
    if not isinstance(after, dict):
        return []
    before = before if isinstance(before, dict) else {}
    return [(name, before.get(name), after.get(name), before.get(name) != after.get(name))
            for name in dict.fromkeys([*before, *after])]


def shown(value) -> str:
    """A recorded value as text: JSON for lists and objects, an em dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def other_detail(detail: dict) -> str:
    """What the event's detail holds besides a form diff, as compact JSON (empty when nothing)."""
    rest = {k: v for k, v in detail.items() if not (k in ("before", "after") and isinstance(detail.get("after"), dict))}
    return json.dumps(rest, ensure_ascii=False, sort_keys=True) if rest else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
