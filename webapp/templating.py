"""What every template may use: labels for codes, money and time formats, the counts in the navigation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.errors import EngineError

from .extensions import credit_engine
from .i18n import LOCALE_NAMES, enum_label, field_title, is_chinese



def bank_time() -> timezone:
    """The bank's time zone, from the policy: business dates and times are shown and filtered in it."""
    offset = credit_engine().policy.params["bank_utc_offset"]
    hours, minutes = offset.lstrip("+-").split(":")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if offset.startswith("-") else delta)

ROLE_LABELS = {
    "customer_manager": _l("Customer manager"), "credit_reviewer": _l("Credit reviewer"),
    "risk_manager": _l("Risk manager"), "committee_member": _l("Committee member"),
    "committee_chair": _l("Committee chair"), "disbursement_reviewer": _l("Disbursement reviewer"),
    "accounting_operator": _l("Accounting operator"), "collateral_custodian": _l("Collateral custodian"),
    "post_loan_manager": _l("Post-loan manager"), "post_loan_head": _l("Head of post-loan management"),
    "credit_risk_officer": _l("Credit risk officer"), "branch_head": _l("Branch head"),
    "process_designer": _l("Process designer"),
    "auditor": _l("Auditor"), "admin": _l("System administrator"),
}
STAGE_LABELS = {
    "investigation": _l("Investigation"), "review": _l("Review"), "approval": _l("Approval"),
    "contract": _l("Contract and collateral"), "disbursement": _l("Disbursement"), "post_loan": _l("Post-loan"),
    "warning": _l("Risk warning"), "classification": _l("Classification"), "extension": _l("Extension"),
    "workout": _l("NPL workout"), "closed": _l("Closed"),
}
CLASSIFICATION_LABELS = {
    "normal": _l("Normal"), "special_mention": _l("Special mention"), "substandard": _l("Substandard"),
    "doubtful": _l("Doubtful"), "loss": _l("Loss"),
}
STATUS_LABELS = {
    "active": _l("Active"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"), "disbursed": _l("Disbursed"),
    "closed": _l("Closed"), "running": _l("Running"), "completed": _l("Completed"),
}
DUTY_LABELS = {
    "originate": _l("originated"), "investigate": _l("investigated"), "assist_investigation": _l("assisted the investigation"),
    "review": _l("reviewed"), "sign_business": _l("signed the business signature"), "approve": _l("signed the approval"), "vote": _l("voted"), "chair_veto": _l("decided on the chair veto"),
    "convene_committee": _l("convened the committee"), "prepare_contract": _l("prepared the contract"),
    "register_collateral": _l("registered the collateral"), "review_disbursement": _l("reviewed the disbursement"),
    "execute_payment": _l("executed the payment"), "assign_post_loan_manager": _l("assigned the post-loan manager"),
    "post_loan_manager": _l("was named post-loan manager"),
}


def label(table: dict, code) -> str:
    return str(table.get(code, code or "—"))


def money(value) -> str:
    if value in (None, ""):
        return "—"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(bank_time()).strftime(fmt)


def product_label(code: str) -> str:
    prop = credit_engine().application_schema()["properties"]["product"]
    return enum_label(prop, code)


def nav_counts() -> dict:
    if not current_user.is_authenticated or request.blueprint == "api":
        return {}
    try:
        return credit_engine().inbox_counts(current_user.username)
    except EngineError:
        return {}


def init_app(app) -> None:
    app.jinja_env.filters.update(
        money=money, local_time=local_time, product=product_label,
        role=lambda c: label(ROLE_LABELS, c), stage=lambda c: label(STAGE_LABELS, c),
        classification=lambda c: label(CLASSIFICATION_LABELS, c), status=lambda c: label(STATUS_LABELS, c),
        duty=lambda c: label(DUTY_LABELS, c), field_title=lambda prop, name: field_title(name, prop),
    )

    from .record_view import heading, recorded_fields
    app.jinja_env.globals.update(entry_heading=heading, entry_fields=recorded_fields)

    @app.context_processor
    def common():
        return {"nav_counts": nav_counts(), "now": credit_engine().clock.now(), "locale_names": LOCALE_NAMES,
                "is_chinese": is_chinese(), "stage_labels": STAGE_LABELS}
