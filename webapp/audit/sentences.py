"""An audit event as a sentence in the reader's language: who (by name), in which role, on whose behalf, did what,
on which step, with which outcome and rule. An auditor reads about a third person, so a refusal's reason, which
the engine words for the person refused ("You reviewed ..."), is put in the third person here."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import credit_engine
from ..i18n import is_chinese, translate
from ..recorded import value_text
from ..templating import ROLE_LABELS, duty_name, form_fields, label, money, process_name, step_name
from .params import ACTIONS


def N_(message: str) -> str:
    return message


# One sentence per action. Every template may use %(who)s (the actor: name, role, on whose behalf), %(step)s,
# %(loan)s, %(process)s and %(version)s; the others come from the event's detail (see _params).
SENTENCES = {
    "loan_created": _l("%(who)s created the loan application %(loan)s."),
    "instance_started": _l("%(who)s started %(process)s on loan %(loan)s."),
    "instance_completed": _l("%(process)s on loan %(loan)s ended at “%(step)s”."),
    "task_started": _l("The task “%(step)s” was opened for the %(role)s."),
    "task_claimed": _l("%(who)s claimed the task “%(step)s”."),
    "task_released": _l("%(who)s put the task “%(step)s” back for others to claim."),
    "task_completed": _l("%(who)s completed the task “%(step)s”."),
    "task_cancelled": _l("The task “%(step)s” was withdrawn: the process no longer needs it."),
    "step_completed": _l("The engine passed the automatic step “%(step)s”."),
    "loan_updated": _l("%(who)s changed the loan's “%(field)s” on the task “%(step)s”."),
    "task_reassigned": _l("%(who)s reassigned the task “%(step)s” to %(person)s."),
    "comment_added": _l("%(who)s wrote a comment on the file of loan %(loan)s."),
    "task_escalated": _l("The task “%(step)s” was escalated (%(why)s)."),
    "meeting_closed": _l("%(who)s closed the committee meeting with %(present)s present."),
    "customer_added": _l("%(who)s opened the customer file of %(name)s."),
    "customer_grouped": _l("%(who)s put customer %(identifier)s in the group %(group)s."),
    "loan_approved": _l("The approved terms of loan %(loan)s were fixed: %(currency)s %(amount)s."),
    "payment_released": _l("The disbursement review released the payment of loan %(loan)s."),
    "collateral_registered": _l("The collateral of loan %(loan)s was registered."),
    "collateral_recorded": _l("%(who)s recorded a collateral item of loan %(loan)s."),
    "collateral_revalued": _l("%(who)s revalued a collateral item of loan %(loan)s."),
    "collateral_release_proposed": _l("%(who)s proposed releasing a collateral item of loan %(loan)s."),
    "collateral_released": _l("%(who)s approved the release of a collateral item of loan %(loan)s."),
    "loan_closed": _l("Loan %(loan)s was repaid and closed."),
    "accountability_proposed": _l("%(who)s proposed an accountability finding on loan %(loan)s."),
    "accountability_decided": _l("%(who)s decided an accountability finding on loan %(loan)s."),
    "chain_verified": _l("%(who)s verified the audit trail."),
    "extension_requested": _l("%(who)s requested an extension of loan %(loan)s."),
    "loan_extended": _l("The maturity of loan %(loan)s was moved by an approved extension."),
    "loan_replacement_started": _l("%(who)s started a refinancing or restructuring of loan %(loan)s."),
    "loan_settled": _l("Loan %(loan)s was settled by the loan that replaces it."),
    "recovery_recorded": _l("%(who)s reported a recovery on loan %(loan)s during its workout."),
    "payment_made": _l("%(who)s paid %(amount)s out on loan %(loan)s."),
    "message_thrown": _l("%(process)s sent the message “%(message)s”."),
    "message_received": _l("%(who)s delivered the message “%(message)s” to loan %(loan)s."),
    "refused": _l("%(who)s was refused: %(attempted)s."),
    "signed_in": _l("%(who)s signed in."),
    "sign_in_failed": _l("A sign-in as %(who)s failed."),
    "user_added": _l("%(who)s added the user %(person)s."),
    "role_granted": _l("%(who)s granted %(person)s the role of %(granted_role)s."),
    "leave_recorded": _l("%(who)s recorded mandatory leave for %(person)s from %(from)s to %(to)s."),
    "delegation_recorded": _l("%(who)s recorded that %(stand_in)s acts for %(principal)s from %(from)s to %(to)s."),
    "token_issued": _l("%(who)s issued an API token to %(person)s."),
    "process_deployed": _l("%(who)s deployed %(process)s version %(version)s."),
    "policy_deployed": _l("%(who)s put policy version %(policy)s in force."),
    "change_saved": _l("%(who)s saved the process change #%(change)s."),
    "change_submitted": _l("%(who)s submitted the process change #%(change)s for approval."),
    "change_withdrawn": _l("%(who)s withdrew the process change #%(change)s."),
    "change_approved": _l("%(who)s approved the process change #%(change)s designed by %(designer)s."),
    "change_rejected": _l("%(who)s rejected the process change #%(change)s designed by %(designer)s."),
    "inspection_missed": _l("An inspection of loan %(loan)s was missed; %(person)s is responsible (%(missed)s missed)."),
    "origination_blocked": _l("%(person)s may no longer originate loans after %(missed)s missed inspections."),
    "origination_unblocked": _l("%(who)s lifted the origination block of %(person)s."),
    "assignee_unavailable": _l("%(person)s is away, so the task “%(step)s” went to every %(role)s."),
    "warning_raised": _l("%(who)s raised a risk warning on loan %(loan)s."),
    "message_queued": _l("The message “%(message)s” for loan %(loan)s was kept until a process can receive it."),
    "incident_opened": _l("The step “%(step)s” failed and an incident was opened."),
    "incident_failed_again": _l("The step “%(step)s” failed again (attempt %(attempts)s)."),
    "incident_retried": _l("%(who)s retried the failed step “%(step)s”."),
    "incident_resolved": _l("The incident on the step “%(step)s” was resolved."),
    "instance_migrated": _l("%(who)s moved %(process)s from version %(from_version)s to version %(to_version)s."),
    "signed_out": _l("%(who)s signed out."),
    "token_revoked": _l("%(who)s revoked an API token of %(person)s."),
    "document_attached": _l("%(who)s attached the document “%(name)s”."),
    "draft_saved": _l("%(who)s saved a draft of the task “%(step)s”."),
    "user_contact_changed": _l("%(who)s changed the e-mail address or language of %(person)s."),
    "notifications_read": _l("%(who)s marked %(count)s notification(s) read."),
    "position_recorded": _l("%(who)s recorded the position of loan %(loan)s as of %(as_of)s."),
    "loan_onboarded": _l("%(who)s onboarded the disbursed loan %(loan)s as of %(as_of)s."),
    "classification_review_due": _l("%(who)s opened the periodic classification review of loan %(loan)s, "
                                     "due on %(due_on)s."),
}
# What only a person does: recorded with no actor, it was typed at the command line (the bank's operators).
BY_OPERATORS = {"user_added", "role_granted", "leave_recorded", "delegation_recorded", "token_issued",
                "token_revoked", "process_deployed", "user_contact_changed", "origination_unblocked",
                "incident_retried", "incident_resolved", "instance_migrated"}
# An action without a sentence of its own still reads: its label, who and where.
GENERIC = _l("%(who)s: %(action)s.")
ON_STEP = _l("On the step “%(step)s”.")
ON_LOAN = _l("On loan %(loan)s.")

# Outcomes that scripts record (a committee's tally and the like), in words.
OUTCOME_WORDS = {"no_quorum": _l("no quorum"), "approved": _l("approved"), "rejected": _l("rejected"),
                 "vetoed": _l("vetoed by the chair")}
ESCALATIONS = {"overdue": _l("overdue"), "unserved": _l("nobody may do it"),
               "authority": _l("beyond the approver's authority")}
# What someone tried when refused (else the duty's name).
ATTEMPTS = {"claim": _l("claiming the task"), "complete": _l("completing the task"),
            "release": _l("releasing the task"), "nominate": _l("naming someone on the form"),
            "start_loan": _l("starting a loan application"), "approve_deployment": _l("approving a deployment"),
            "attach_document": _l("attaching a document"), "download_document": _l("opening a document"),
            "execute_payment": _l("executing the payment"), "import_positions": _l("importing loan positions"),
            "migrate_instance": _l("moving a process to a newer version"),
            "send_message": _l("reporting the loan repaid")}

# The engine words a refusal for the person refused; the audit reads it in the third person (%(actor)s).
THIRD_PERSON = {
    "You are on mandatory leave and get no work until it ends (%(rule)s %(rule_name)s).":
        N_("%(actor)s was on mandatory leave and gets no work until it ends (%(rule)s %(rule_name)s)."),
    "You hold no %(role)s grant for branch %(branch)s (%(rule)s %(rule_name)s).":
        N_("%(actor)s held no %(role)s grant for branch %(branch)s (%(rule)s %(rule_name)s)."),
    "You hold no %(role)s grant (%(rule)s %(rule_name)s).":
        N_("%(actor)s held no %(role)s grant (%(rule)s %(rule_name)s)."),
    "Your %(role)s grant for branch %(branch)s is valid from %(valid_from)s to %(valid_to)s, not on %(date)s "
    "(%(rule)s %(rule_name)s).":
        N_("The %(role)s grant of %(actor)s for branch %(branch)s is valid from %(valid_from)s to %(valid_to)s, "
           "not on %(date)s (%(rule)s %(rule_name)s)."),
    "You %(earlier_duty_label)s loan %(loan_id)s on %(date)s; %(duty_a)s and %(duty_b)s must be different people "
    "(%(rule)s %(rule_name)s).":
        N_("%(actor)s had %(earlier_duty_label)s loan %(loan_id)s on %(date)s; %(duty_a)s and %(duty_b)s must be "
           "different people (%(rule)s %(rule_name)s)."),
    "You %(earlier_duty_label)s loan %(loan_id)s (%(subject)s) on %(date)s; %(duty_a)s and %(duty_b)s must be "
    "different people (%(rule)s %(rule_name)s).":
        N_("%(actor)s had %(earlier_duty_label)s loan %(loan_id)s (%(subject)s) on %(date)s; %(duty_a)s and "
           "%(duty_b)s must be different people (%(rule)s %(rule_name)s)."),
    "You %(earlier_duty_label)s %(subject)s on %(date)s; %(duty_a)s and %(duty_b)s must be different people "
    "(%(rule)s %(rule_name)s).":
        N_("%(actor)s had %(earlier_duty_label)s %(subject)s on %(date)s; %(duty_a)s and %(duty_b)s must be "
           "different people (%(rule)s %(rule_name)s)."),
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s loan %(loan_id)s on %(date)s; %(duty_a)s and "
    "%(duty_b)s must be different people (%(rule)s %(rule_name)s).":
        N_("%(principal)s, for whom %(actor)s was acting, had %(earlier_duty_label)s loan %(loan_id)s on %(date)s; "
           "%(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."),
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s loan %(loan_id)s (%(subject)s) on %(date)s; "
    "%(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s).":
        N_("%(principal)s, for whom %(actor)s was acting, had %(earlier_duty_label)s loan %(loan_id)s (%(subject)s) "
           "on %(date)s; %(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."),
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s %(subject)s on %(date)s; %(duty_a)s and "
    "%(duty_b)s must be different people (%(rule)s %(rule_name)s).":
        N_("%(principal)s, for whom %(actor)s was acting, had %(earlier_duty_label)s %(subject)s on %(date)s; "
           "%(duty_a)s and %(duty_b)s must be different people (%(rule)s %(rule_name)s)."),
    "You are the originator of loan %(loan_id)s; %(duty_a)s and %(duty_b)s must be different people "
    "(%(rule)s %(rule_name)s).":
        N_("%(actor)s is the originator of loan %(loan_id)s; %(duty_a)s and %(duty_b)s must be different people "
           "(%(rule)s %(rule_name)s)."),
    "%(principal)s, for whom you are acting, is the originator of loan %(loan_id)s; %(duty_a)s and %(duty_b)s "
    "must be different people (%(rule)s %(rule_name)s).":
        N_("%(principal)s, for whom %(actor)s was acting, is the originator of loan %(loan_id)s; %(duty_a)s and "
           "%(duty_b)s must be different people (%(rule)s %(rule_name)s)."),
    "Loan %(loan_id)s of CNY %(amount)s exceeds your %(role)s limit of CNY %(limit)s (%(rule)s %(rule_name)s).":
        N_("Loan %(loan_id)s of CNY %(amount)s exceeds the %(role)s limit of %(actor)s, CNY %(limit)s "
           "(%(rule)s %(rule_name)s)."),
    "Your %(role)s grant carries no approval limit, so it cannot cover loan %(loan_id)s of CNY %(amount)s "
    "(%(rule)s %(rule_name)s).":
        N_("The %(role)s grant of %(actor)s carries no approval limit, so it cannot cover loan %(loan_id)s of "
           "CNY %(amount)s (%(rule)s %(rule_name)s)."),
    "The business signature of loan %(loan_id)s is signed by a second customer manager who did not work on the "
    "file; you %(earlier_act)s it (%(rule)s %(rule_name)s).":
        N_("The business signature of loan %(loan_id)s is signed by a second customer manager who did not work on "
           "the file; %(actor)s had %(earlier_act)s it (%(rule)s %(rule_name)s)."),
    "You present loan %(loan_id)s as its customer manager and may not vote on it (%(rule)s %(rule_name)s).":
        N_("%(actor)s presents loan %(loan_id)s as its customer manager and may not vote on it "
           "(%(rule)s %(rule_name)s)."),
    "%(principal)s, for whom you are acting, presents loan %(loan_id)s and may not vote on it "
    "(%(rule)s %(rule_name)s).":
        N_("%(principal)s, for whom %(actor)s was acting, presents loan %(loan_id)s and may not vote on it "
           "(%(rule)s %(rule_name)s)."),
    "You %(earlier_duty_label)s loan %(loan_id)s on %(date)s; anyone who worked on the file may not vote on it "
    "(%(rule)s %(rule_name)s).":
        N_("%(actor)s had %(earlier_duty_label)s loan %(loan_id)s on %(date)s; anyone who worked on the file may "
           "not vote on it (%(rule)s %(rule_name)s)."),
    "%(principal)s, for whom you are acting, %(earlier_duty_label)s loan %(loan_id)s on %(date)s; anyone who "
    "worked on the file may not vote on it (%(rule)s %(rule_name)s).":
        N_("%(principal)s, for whom %(actor)s was acting, had %(earlier_duty_label)s loan %(loan_id)s on %(date)s; "
           "anyone who worked on the file may not vote on it (%(rule)s %(rule_name)s)."),
    "You can only release a task you have claimed.": N_("Only the person who claimed a task may release it."),
}


def display_name(username: str | None) -> str:
    """A user by the name the bank gave them (looked up once per request), the username when unknown."""
    if not username:
        return ""
    if "audit_names" not in g:
        from engine.audit.history import display_names

        with credit_engine().db.reading() as session:
            g.audit_names = display_names(session)
    return g.audit_names.get(username, username)


def _people(value) -> str:
    names = value if isinstance(value, list) else [value] if value else []
    return ("、" if is_chinese() else ", ").join(display_name(str(n)) for n in names) or "—"


def who(event) -> str:
    """The actor as a sentence names them: name, role, on whose behalf; the engine or a rule when nobody acted."""
    if not event.actor:
        return _("Someone at the command line") if event.source == "cli" and event.action in BY_OPERATORS \
            else _("The engine")
    if event.actor.startswith("system:"):
        return _("The servicing rules")
    name = display_name(event.actor)
    role = label(ROLE_LABELS, event.role) if event.role else ""
    if event.on_behalf_of and role:
        return _("%(name)s (%(role)s, on behalf of %(principal)s)", name=name, role=role,
                 principal=display_name(event.on_behalf_of))
    if event.on_behalf_of:
        return _("%(name)s (on behalf of %(principal)s)", name=name, principal=display_name(event.on_behalf_of))
    return _("%(name)s (%(role)s)", name=name, role=role) if role else name


def _step(event) -> str:
    if not event.step:
        return ""
    return step_name(event.process_id, event.step, event.step_name, event.process_version)


def _duty_or_code(code) -> str:
    if code in ATTEMPTS:
        return str(ATTEMPTS[code])
    spec = credit_engine().policy.duty_specs.get(code) if code else None
    return duty_name(code) if spec else _("an action")


def _params(event) -> dict:
    detail = event.detail if isinstance(event.detail, dict) else {}
    after = detail.get("after") if isinstance(detail.get("after"), dict) else {}
    fields = form_fields(event.process_id, event.process_version, event.step)
    role = detail.get("offered_to") or event.role
    params = {
        "who": who(event), "step": _step(event) or "—", "loan": event.loan_ref or "—",
        "process": process_name(event.process_id, version=event.process_version) if event.process_id else "—",
        "version": event.process_version or "—", "role": label(ROLE_LABELS, role) if role else _("anyone"),
        "person": display_name(detail.get("username") or detail.get("responsible") or detail.get("assignee")
                               or after.get("assigned_to")) or "—",
        "principal": display_name(detail.get("principal")), "stand_in": display_name(detail.get("stand_in")),
        "from": detail.get("from") or "—", "to": detail.get("to") or "—",
        "granted_role": label(ROLE_LABELS, detail.get("role")) if detail.get("role") else "—",
        "present": _people(detail.get("present")), "designer": display_name(detail.get("designed_by")) or "—",
        "change": detail.get("change", "—"), "policy": detail.get("version", event.policy_version or "—"),
        "message": step_name(event.process_id, detail.get("message") or event.step, None, event.process_version)
        if (detail.get("message") or event.step) else "—",
        "attempted": _duty_or_code(detail.get("attempted")),
        "why": str(ESCALATIONS.get(detail.get("reason"), detail.get("reason") or "—")),
        "amount": money(detail.get("amount")) if detail.get("amount") is not None else "—",
        "currency": detail.get("currency") or "CNY", "count": detail.get("count", "—"),
        "missed": detail.get("missed", "—"), "attempts": detail.get("attempts", "—"),
        "from_version": detail.get("from_version", "—"), "to_version": detail.get("to_version", "—"),
        "name": detail.get("name") or "—", "identifier": detail.get("identifier") or "—",
        "group": detail.get("group") or "—", "as_of": detail.get("as_of") or "—",
        "due_on": detail.get("due_on") or "—",
        "field": _field_title(detail["field"], fields) if detail.get("field") else "—",
    }
    return params


def _field_title(name: str, fields) -> str:
    from ..recorded import field_label

    return field_label(name, fields.get(name))


def _outcomes(value, found: list) -> None:
    """Outcome codes recorded anywhere in a step's data (a committee tally's "no_quorum" and the like)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("outcome", "result") and isinstance(item, str) and item in OUTCOME_WORDS:
                found.append(str(OUTCOME_WORDS[item]))
            else:
                _outcomes(item, found)
    elif isinstance(value, list):
        for item in value:
            _outcomes(item, found)


def _grant_terms(detail: dict) -> list[str]:
    terms = []
    if detail.get("branch"):
        terms.append(_("Branch %(branch)s.", branch=detail["branch"]))
    if detail.get("limit") not in (None, ""):
        terms.append(_("Limit CNY %(limit)s.", limit=money(detail["limit"])))
    if detail.get("valid_from") or detail.get("valid_to"):
        terms.append(_("Valid from %(start)s to %(end)s.", start=detail.get("valid_from") or "—",
                       end=detail.get("valid_to") or "—"))
    return terms


def refusal_reason_third_person(event) -> str:
    """A refusal's reason as the auditor reads it: translated from its template and parameters, about the person
    refused rather than to them; the stored sentence for rows recorded without a template."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    template, params = detail.get("template"), detail.get("params")
    params = dict(params) if isinstance(params, dict) else {}
    if not isinstance(template, str) or not template:
        template, params = (event.reason or ""), {}
        if template not in THIRD_PERSON:
            return _(template) if template else ""
    params["actor"] = display_name(event.actor) or _("the engine")
    try:
        return translate(THIRD_PERSON.get(template, template), params)
    except (KeyError, TypeError, ValueError):
        return event.reason or ""


def sentence(event) -> str:
    """The event in one or a few sentences, in the reader's language."""
    params = _params(event)
    template = SENTENCES.get(event.action)
    try:
        text = (template or GENERIC) % {**params, "action": ACTIONS.get(event.action, event.action)}
    except (KeyError, TypeError, ValueError):
        text = GENERIC % {**params, "action": ACTIONS.get(event.action, event.action)}
    more = []
    if event.step and "%(step)s" not in str(template or "") and "%(message)s" not in str(template or ""):
        more.append(ON_STEP % params)
    if event.loan_ref and "%(loan)s" not in str(template or "") and event.action not in ("signed_in", "signed_out"):
        if not event.step:
            more.append(ON_LOAN % params)
    if event.action == "role_granted":
        more.extend(_grant_terms(event.detail if isinstance(event.detail, dict) else {}))
    after = (event.detail or {}).get("after") if isinstance(event.detail, dict) else None
    if event.action == "task_completed" and isinstance(after, dict) and after.get("decision") not in (None, ""):
        fields = form_fields(event.process_id, event.process_version, event.step)
        more.append(_("Decision: %(decision)s.", decision=value_text("decision", after["decision"],
                                                                     fields.get("decision"), fields)))
    outcomes: list[str] = []
    _outcomes(event.detail, outcomes)
    if outcomes:
        more.append(_("Outcome: %(outcome)s.", outcome=("、" if is_chinese() else ", ").join(dict.fromkeys(outcomes))))
    if event.action == "refused" or event.outcome == "denied":
        reason = refusal_reason_third_person(event)
        if reason:
            more.append(_("Reason: %(reason)s", reason=reason))
        if event.rule:
            more.append(_("Rule %(rule)s.", rule=event.rule))
    elif event.reason:
        more.append(_("Reason given: %(reason)s", reason=event.reason))
    return " ".join([text, *more]) if not is_chinese() else "".join([text, *more])
