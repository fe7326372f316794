"""What each kind of notification says, in the reader's language: one vocabulary for the in-app list and e-mail."""
from __future__ import annotations

from engine.i18n import LOCALES, translations


def N_(message: str) -> str:
    """Marks a template for the catalog; it is translated when a reader's language is known."""
    return message


# kind -> (short title, the sentence); parameters come from the notification's params plus `loan`.
KINDS = {
    "task_assigned": (N_("New task"), N_("New task for you: %(task)s on loan %(loan)s.")),
    "task_reassigned": (N_("Task handed to you"),
                        N_("%(by)s handed you the task %(task)s on loan %(loan)s: %(reason)s")),
    "task_escalated": (N_("Task escalated to you"),
                       N_("The task %(task)s on loan %(loan)s is overdue and was escalated to your list.")),
    "task_routed_up": (N_("Task up the authority chain"),
                       N_("The task %(task)s on loan %(loan)s (CNY %(amount)s) came to you up the authority "
                          "chain: no limit at branch %(branch)s covers it.")),
    "task_overdue": (N_("Task overdue"), N_("Your task %(task)s on loan %(loan)s is overdue.")),
    "loan_approved": (N_("Loan approved"), N_("Your loan application %(loan)s (%(borrower)s) was approved.")),
    "loan_rejected": (N_("Loan rejected"), N_("Your loan application %(loan)s (%(borrower)s) was rejected.")),
    "loan_withdrawn": (N_("Loan withdrawn"), N_("Your loan application %(loan)s (%(borrower)s) was withdrawn.")),
    "warning_raised": (N_("Risk warning raised"),
                       N_("%(raised_by)s raised a risk warning on your loan %(loan)s: %(signal)s")),
    "warning_decided": (N_("Risk warning decided"),
                        N_("The risk warning on loan %(loan)s (%(signal)s) was decided by %(decided_by)s: "
                           "%(decision)s.")),
    "warning_measure_done": (N_("Warning measure carried out"),
                             N_("%(done_by)s carried out the measure \"%(measure)s\" of the risk warning on loan "
                                "%(loan)s (%(signal)s): %(outcome)s")),
    "origination_blocked": (N_("Origination blocked"),
                            N_("You may not originate new loans: %(missed)s post-loan inspections were missed "
                               "(the last on loan %(loan)s).")),
    "origination_unblocked": (N_("Origination unblocked"),
                              N_("%(by)s lifted your origination block; you may originate loans again.")),
    "change_submitted": (N_("Process change to approve"),
                         N_("%(author)s submitted process change %(change)s for approval: %(note)s")),
    "change_decided": (N_("Process change decided"),
                       N_("%(reviewer)s %(decision)s your process change %(change)s. %(reason)s")),
}
# Parameters whose values are codes, put in words in the reader's language.
DECISIONS = {"dismiss": N_("dismissed"), "level_1": N_("confirmed at level 1 (mild)"),
             "level_2": N_("confirmed at level 2 (moderate)"), "level_3": N_("confirmed at level 3 (severe)"),
             "approved": N_("approved and deployed"), "rejected": N_("rejected")}
# The measures of a confirmed warning (the `measure` parameter).
MEASURES = {"extra_collateral": N_("extra collateral"), "freeze_undrawn_line": N_("freeze the undrawn line"),
            "accelerate_repayment": N_("accelerate repayment"), "ad_hoc_inspection": N_("ad-hoc inspection")}
CLASSES = {"normal": N_("normal"), "special_mention": N_("special mention"), "substandard": N_("substandard"),
           "doubtful": N_("doubtful"), "loss": N_("loss")}
UNKNOWN = N_("A notification about loan %(loan)s.")


def locale_of(value: str | None) -> str:
    """A person's language: theirs when it is one the catalogs have, else Chinese (the bank's language)."""
    return value if value in LOCALES else "zh_CN"


def sentence(kind: str, loan_ref: str | None, params: dict, locale: str, names=None) -> str:
    """What happened, as one sentence in `locale`; `names(process_id, step, stored)` puts a task's name in it."""
    gettext = translations(locale_of(locale)).gettext
    template = KINDS[kind][1] if kind in KINDS else UNKNOWN
    values = {**params, "loan": loan_ref or "—"}
    if names is not None and params.get("step"):
        values["task"] = names(params.get("process_id"), params["step"], params.get("task"))
    if "decision" in values:
        values["decision"] = gettext(DECISIONS.get(values["decision"], str(values["decision"])))
    wording = values.pop("signal_wording", None)
    if isinstance(wording, dict) and wording.get("template"):
        try:  # a rule's signal in the reader's language; the English text stays when the catalog does not fit
            values["signal"] = gettext(wording["template"]) % _signal_params(wording.get("params") or {}, gettext)
        except (KeyError, TypeError, ValueError):
            pass
    if "measure" in values:
        values["measure"] = gettext(MEASURES.get(values["measure"], str(values["measure"])))
    for text in (gettext(template), template):  # a translation that lost a parameter falls back to English
        try:
            return text % values
        except (KeyError, TypeError, ValueError):
            continue
    return gettext(UNKNOWN) % values


def _signal_params(params: dict, gettext) -> dict:
    """A rule signal's parameters, the five classes in words."""
    return {k: gettext(CLASSES[v]) if v in CLASSES else v for k, v in params.items()}


def title(kind: str, locale: str) -> str:
    gettext = translations(locale_of(locale)).gettext
    return gettext(KINDS[kind][0]) if kind in KINDS else gettext("Notification")


def link(loan_ref: str | None, item_id: int | None, params: dict | None = None) -> str:
    """The path of what the notification is about: the task, else the loan, else a process change, else the list."""
    if params and params.get("change"):
        return f"/studio/changes/{int(params['change'])}"
    if item_id is not None:
        return f"/tasks/{item_id}"
    if loan_ref:
        return f"/loans/{loan_ref}"
    return "/notifications"


def email(kind: str, loan_ref: str | None, item_id: int | None, params: dict, locale: str,
          base_url: str, names=None) -> tuple[str, str]:
    """The subject and the plain-text body of the e-mail, in `locale`."""
    gettext = translations(locale_of(locale)).gettext
    subject = f"[creditflow] {loan_ref + ' ' if loan_ref else ''}{title(kind, locale)}"
    url = base_url.rstrip("/") + link(loan_ref, item_id, params)
    body = "\n".join([
        sentence(kind, loan_ref, params, locale, names), "",
        gettext("Open it: %(url)s") % {"url": url}, "",
        gettext("All your notifications: %(url)s") % {"url": base_url.rstrip("/") + "/notifications"}, "",
        gettext("This message was sent by creditflow; do not reply to it."),
    ])
    return subject, body + "\n"
