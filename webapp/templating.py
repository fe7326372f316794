"""What every template may use: labels for codes, money and time formats, the counts in the navigation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from flask import g, has_app_context, request
from flask_babel import get_locale
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
    "asset_preservation_officer": _l("Asset preservation officer"),
    "process_designer": _l("Process designer"),
    "auditor": _l("Auditor"), "admin": _l("System administrator"),
    "core_banking": _l("Core banking system"),
}
STAGE_LABELS = {
    "investigation": _l("Investigation"), "review": _l("Review"), "approval": _l("Approval"),
    "contract": _l("Contract and collateral"), "disbursement": _l("Disbursement"), "post_loan": _l("Post-loan"),
    "warning": _l("Risk warning"), "classification": _l("Classification"), "extension": _l("Extension"),
    "workout": _l("NPL workout"), "closed": _l("Closed"), "archived": _l("Archived"),
    "collection": _l("Collection"),
}
# The engine's own rules, recorded as actors where no person acted.
SYSTEM_ACTORS = {"system:servicing": _l("Core banking feed rules"), "system:restructuring": _l("Restructuring rules")}


def actor_label(name: str | None) -> str:
    """A person's name as recorded; a rule of the engine (system:…) in words."""
    if name in SYSTEM_ACTORS:
        return str(SYSTEM_ACTORS[name])
    if isinstance(name, str) and name.startswith("system:"):
        return str(_l("the system"))
    return name or ""
COLLATERAL_TYPE_LABELS = {
    "real_estate": _l("Real estate"), "equipment": _l("Machinery and equipment"), "receivables": _l("Receivables"),
    "deposits": _l("Deposits and certificates"), "other": _l("Other collateral"),
}
COLLATERAL_STATUS_LABELS = {
    "registered": _l("Registered"), "release_proposed": _l("Release proposed"), "released": _l("Released"),
}
CLASSIFICATION_LABELS = {
    "normal": _l("Normal"), "special_mention": _l("Special mention"), "substandard": _l("Substandard"),
    "doubtful": _l("Doubtful"), "loss": _l("Loss"),
}
STATUS_LABELS = {
    "active": _l("Active"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"), "disbursed": _l("Disbursed"),
    "closed": _l("Closed"), "settled": _l("Settled by refinancing or restructuring"), "running": _l("Running"),
    "completed": _l("Completed"),
}
DUTY_LABELS = {
    "originate": _l("originated"), "investigate": _l("investigated"), "assist_investigation": _l("assisted the investigation"),
    "review": _l("reviewed"), "sign_business": _l("signed the business signature"), "approve": _l("signed the approval"), "vote": _l("voted"), "chair_veto": _l("decided on the chair veto"),
    "convene_committee": _l("convened the committee"), "prepare_contract": _l("prepared the contract"),
    "register_collateral": _l("registered the collateral"), "review_disbursement": _l("reviewed the disbursement"),
    "execute_payment": _l("executed the payment"), "assign_post_loan_manager": _l("assigned the post-loan manager"),
    "post_loan_manager": _l("was named post-loan manager"),
    "recuse": _l("declared a conflict of interest"), "lead_inspection": _l("led an inspection"),
    "assist_inspection": _l("assisted an inspection"), "review_inspection_report": _l("reviewed an inspection report"),
    "decide_disposition": _l("decided the disposition"), "raise_warning": _l("raised a warning"),
    "register_warning": _l("registered a warning"), "decide_warning": _l("decided a warning"),
    "act_on_warning": _l("acted on a warning"), "propose_classification": _l("proposed a classification"),
    "approve_classification": _l("approved a classification"), "archive_file": _l("archived the file"),
    "request_extension": _l("requested an extension"), "design_process": _l("designed a process"),
    "edit_policy": _l("edited the policy"), "approve_deployment": _l("approved a deployment"),
    "propose_workout": _l("proposed a workout strategy"), "approve_workout": _l("approved a workout strategy"),
    "record_recovery": _l("recorded recoveries"),
    "ad_hoc_inspection": _l("carried out an ad-hoc inspection"),
    "request_collateral_topup": _l("requested a collateral top-up"), "freeze_line": _l("froze the undrawn line"),
    "notify_accelerated_repayment": _l("served an accelerated repayment notice"),
    "remind_borrower": _l("reminded the borrower"), "escalate_collection": _l("escalated the collection"),
    "serve_demand": _l("served the formal demand"),
    "review_closure": _l("reviewed the closure"),
    "revalue_collateral": _l("revalued the collateral"), "propose_collateral_release": _l("proposed a collateral release"),
    "approve_collateral_release": _l("approved a collateral release"),
}


def label(table: dict, code) -> str:
    """A code's words in this request's language; each translated once per request (a page repeats them)."""
    if not has_app_context():
        return str(table.get(code, code or "—"))
    cache = g.setdefault("labels", {})
    key = (id(table), code)  # a request keeps one language (e-mails are worded by the engine, not these tables)
    if key not in cache:
        cache[key] = str(table.get(code, code or "—"))
    return cache[key]


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


def duty_done(code) -> str:
    """What someone did, as words ("led an inspection", 主检): the policy's own name when no phrase is known."""
    if code in DUTY_LABELS:
        return str(DUTY_LABELS[code])
    return duty_name(code)


def duty_name(code) -> str:
    """A duty as a noun ("Lead inspection", 贷后检查(主检)), from the policy's words for it, never its id."""
    spec = credit_engine().policy.duty_specs.get(code) if code else None
    if spec is None:
        return str(code or "—")
    return spec.zh if is_chinese() else spec.en[:1].upper() + spec.en[1:]


def step_texts():
    """The deployed processes' words in this request's language (looked up once per request)."""
    if "step_texts" not in g:
        g.step_texts = credit_engine().step_texts(str(get_locale() or ""))
    return g.step_texts


def task_name(item) -> str:
    """A work item's name in the reader's language; the name stored with it when the diagrams do not know it."""
    return step_texts().step(item.process_id, item.bpmn_id, item.name)


def step_name(process_id, step, stored=None, version=None) -> str:
    return step_texts().step(process_id, step, stored, version)


def process_name(process_id, stored=None, version=None, version_id=None) -> str:
    if not process_id:
        return stored or "—"
    return step_texts().process(process_id, stored, version, version_id)


def task_instructions(item, stored: str = "") -> str:
    return step_texts().instructions(item.process_id, item.bpmn_id, stored)


def form_fields(process_id=None, version=None, step=None):
    """Form fields and choices for values a step recorded (its own form first, then every deployed form)."""
    book = step_texts().fields(process_id, version, step)
    for name, prop in credit_engine().application_schema()["properties"].items():  # what the loan was started with
        book.fields.setdefault(name, prop)
        for value in (prop.get("enum") or []) if prop.get("x-enum-titles") else ():
            book.choices.setdefault(str(value), prop)
    return book


PATH_SAFE = "!$&'()*+,/:;=@"  # what werkzeug's converters leave unquoted in a path segment


def url_maker(endpoint: str, param: str, **values):
    """`url_for(endpoint, param=value, **values)` for many values at the cost of one: the rule is built once with a
    marker, and each row's value put in its place (an inbox page links every row three times)."""
    from urllib.parse import quote

    from flask import url_for

    marker = "987654321"
    head, tail = url_for(endpoint, **{param: marker}, **values).split(marker, 1)
    return lambda value: f"{head}{quote(str(value), safe=PATH_SAFE)}{tail}"


def init_app(app) -> None:
    from .recorded import recorded_diff

    app.jinja_env.globals.update(step_name=step_name, process_name=process_name, task_instructions=task_instructions,
                                 form_fields=form_fields, recorded_diff=recorded_diff,
                                 url_maker=url_maker)
    app.jinja_env.filters.update(task_name=task_name, duty_name=duty_name)
    app.jinja_env.filters.update(
        money=money, local_time=local_time, product=product_label,
        role=lambda c: label(ROLE_LABELS, c), stage=lambda c: label(STAGE_LABELS, c),
        classification=lambda c: label(CLASSIFICATION_LABELS, c), status=lambda c: label(STATUS_LABELS, c),
        duty=duty_done, field_title=lambda prop, name: field_title(name, prop), actor=actor_label,
    )
    app.jinja_env.globals.update(collateral_type_label=lambda c: label(COLLATERAL_TYPE_LABELS, c),
                                 collateral_status_label=lambda c: label(COLLATERAL_STATUS_LABELS, c))

    from .record_view import heading, recorded_fields
    app.jinja_env.globals.update(entry_heading=heading, entry_fields=recorded_fields)

    @app.context_processor
    def common():
        return {"nav_counts": nav_counts(), "now": credit_engine().clock.now(), "locale_names": LOCALE_NAMES,
                "is_chinese": is_chinese(), "stage_labels": STAGE_LABELS}
