"""Locale choice (the user's switch, else Accept-Language) and translation of engine messages and form labels."""
from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from babel import support
from flask_babel import Babel, Domain, get_locale
from flask_babel import _get_current_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.i18n import LOCALES, TRANSLATIONS
from engine.views import Inner

babel = Babel()
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}

# Codes the engine and policies pass as message parameters; each is a msgid, so both catalogs give it words.
CODE_WORDS = (
    # engine/forms.py TYPE_WORDS
    _l("a number"), _l("a whole number"), _l("text"), _l("yes or no"), _l("a list"), _l("an object"),
    # roles
    _l("customer_manager"), _l("credit_reviewer"), _l("risk_manager"), _l("committee_member"), _l("committee_chair"),
    _l("disbursement_reviewer"), _l("accounting_operator"), _l("collateral_custodian"), _l("post_loan_manager"),
    _l("post_loan_head"), _l("credit_risk_officer"), _l("branch_head"), _l("process_designer"), _l("auditor"),
    _l("admin"), _l("core_banking"),
    # the five classes (a classification floor)
    _l("normal"), _l("special_mention"), _l("substandard"), _l("doubtful"), _l("loss"),
    # approval tiers and loan types
    _l("dual_signature"), _l("branch_committee"), _l("head_office_committee"),
    _l("new"), _l("extension"), _l("refinancing"), _l("restructuring"),
    # duties
    _l("originate"), _l("investigate"), _l("assist_investigation"), _l("review"), _l("sign_business"), _l("approve"), _l("vote"),
    _l("chair_veto"), _l("convene_committee"), _l("prepare_contract"), _l("register_collateral"),
    _l("review_disbursement"), _l("execute_payment"), _l("assign_post_loan_manager"), _l("lead_inspection"),
    _l("assist_inspection"), _l("review_inspection_report"), _l("decide_disposition"), _l("raise_warning"),
    _l("register_warning"), _l("decide_warning"), _l("act_on_warning"), _l("propose_classification"),
    _l("approve_classification"), _l("archive_file"), _l("request_extension"), _l("design_process"),
    _l("edit_policy"), _l("approve_deployment"), _l("ad_hoc_inspection"), _l("request_collateral_topup"),
    _l("freeze_line"), _l("notify_accelerated_repayment"), _l("remind_borrower"), _l("escalate_collection"),
    _l("serve_demand"),
)
# Parameters whose values are such codes (a comma-separated list for allowed_roles).
CODE_PARAMS = {"role", "expected", "tier", "required_tier", "loan_type", "allowed_roles", "duty", "earlier_duty",
               "floor", "classification", "previous"}


def select_locale() -> str:
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"], default="zh_CN")
    return "zh_CN" if best.startswith("zh") else "en"


class CatalogDomain(Domain):
    """Reads engine/translations/<zh_CN|en>, the folders the CLI reads too.

    Babel expands zh_CN to zh_Hans_CN, a folder name stdlib gettext would not find; this maps it back.
    """

    def get_translations(self):
        locale = get_locale()
        name = "zh_CN" if locale is not None and locale.language == "zh" else "en"
        cache = self.get_translations_cache(_get_current_context())
        if name not in cache:
            cache[name] = support.Translations.load(str(TRANSLATIONS), [name], "messages")
        return cache[name]


def init_app(app) -> None:
    babel.init_app(app, default_locale="zh_CN", default_translation_directories=str(TRANSLATIONS),
                   default_timezone="Asia/Shanghai", locale_selector=select_locale)
    babel.domain_instance = CatalogDomain(translation_directories=[str(TRANSLATIONS)])
    app.register_blueprint(bp)


def is_chinese() -> bool:
    return str(get_locale() or "").startswith("zh")


def translate(template: str, params: dict | None = None) -> str:
    """An engine or policy message template (the msgid) filled with its parameters, in the reader's language.

    Chinese translations may use the `_zh` siblings the policy provides (e.g. %(rule_name_zh)s); parameters that
    are codes (roles, tiers, "a number") are put in words.
    """
    params = {key: translate(value.template, value.params) if isinstance(value, Inner) else value
              for key, value in dict(params or {}).items()}  # a message inside the message, translated too
    for key in CODE_PARAMS & set(params):
        if isinstance(params[key], str) and params[key]:
            params[key] = "、".join(_(part) for part in params[key].split(", ")) if is_chinese() \
                else ", ".join(_(part) for part in params[key].split(", "))
    text = _(template) if template else ""
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return template % params if params else template


def error_message(error) -> str:
    """The sentence to show for an EngineError (or a policy Decision)."""
    template = getattr(error, "template", None) or getattr(error, "message_template", None) or str(error)
    return translate(template, getattr(error, "params", None))


def field_title(name: str, prop: dict) -> str:
    if is_chinese() and prop.get("x-title-zh"):
        return prop["x-title-zh"]
    return prop.get("title") or name.replace("_", " ").capitalize()


def enum_label(prop: dict, value) -> str:
    titles = prop.get("x-enum-titles-zh" if is_chinese() else "x-enum-titles") or prop.get("x-enum-titles") or {}
    return titles.get(str(value), str(value))


def field_help(prop: dict) -> str:
    if is_chinese() and prop.get("x-description-zh"):
        return prop["x-description-zh"]
    return prop.get("description", "")


bp = Blueprint("i18n", __name__)


@bp.post("/locale")
def switch_locale():
    """The language switch in the navigation: remembered in the session."""
    chosen = request.form.get("locale")
    if chosen in LOCALES:
        session["locale"] = chosen
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("inbox.index")
    return redirect(target)
