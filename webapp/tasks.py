"""A task page: the loan in brief, what to do, the form; and claim, release, complete."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import InvalidInput

from .access import head_office
from .errors import field_messages
from .extensions import credit_engine
from .i18n import error_message
from .documents import kind_options
from .recorded import recorded
from .schema_forms import build_fields, parse_submission
from .templating import ROLE_LABELS, form_fields, label, step_name, task_name

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

# Task data that is plumbing, not part of the credit file shown to people.
HIDDEN_DATA = {"loan_id", "originator", "completed_by", "dual_investigation_threshold", "first_inspection_days_small",
               "first_inspection_days_other", "chair_veto_hours", "days_past_due"}


def people_picker(loan):
    """Who may be named in a user field: holders of the role in the loan's branch (head office for its committee)."""
    engine = credit_engine()
    tier = engine.loan_tier(loan.reference)

    def people(role, _name):
        if not role:
            return []
        branch = head_office() if role.startswith("committee") and tier == "head_office_committee" else loan.branch
        return [(name, _("%(name)s (%(user)s) · %(count)s open task(s)", name=shown, user=name, count=load))
                for name, shown, load in engine.people_to_pick(role, branch)]
    return people


def case_data(view, loan) -> list[tuple[str, object]]:
    """Scalar values recorded on the case so far (findings, opinions), for the reader of the next step."""
    skip = HIDDEN_DATA | set(loan.application)
    pairs = [(k, v) for k, v in sorted(view.data.items())
             if k not in skip and not k.startswith("_") and isinstance(v, (str, int, float, bool)) and v != ""]
    return recorded(pairs, form_fields(view.item.process_id))


def render_task(item_id: int, values=None, errors=None, status: int = 200, refusal: str | None = None):
    engine = credit_engine()
    view = engine.task(current_user.username, item_id)
    loan = engine.loan(view.item.loan_ref)
    checklist, attached = engine.checklist(item_id)
    here = {d.id for d in attached}
    on_file = [d for d in engine.documents(loan.reference) if d.id not in here]  # e.g. the investigation's files
    draft = engine.draft(current_user.username, item_id)  # only this person's own
    if values is None and draft is not None:
        values = draft.values  # as typed, amounts in yuan
    fields = build_fields(view.form, values, errors, people=people_picker(loan))
    return render_template("tasks/task.html", task=view, item=view.item, loan=loan, fields=fields,
                           case_data=case_data(view, loan), refusal=refusal, checklist=checklist,
                           attached=attached, on_file=on_file, kinds=kind_options(checklist), draft=draft), status


@bp.get("/<int(max=2147483647):item_id>")
@login_required
def show(item_id: int):
    return render_task(item_id)


@bp.post("/<int(max=2147483647):item_id>/complete")
@login_required
def complete(item_id: int):
    engine = credit_engine()
    task = engine.task_form(item_id)
    data = parse_submission(task.form, request.form)
    try:
        engine.complete(current_user.username, item_id, data, source="web")  # refusals are audited there
    except InvalidInput as exc:
        return render_task(item_id, _flat(request.form), field_messages(exc),
                           status=400, refusal=error_message(exc))
    flash(_("Done: %(task)s on loan %(loan)s.", task=step_name(task.process_id, task.bpmn_id, task.name),
                                                      loan=task.loan_ref), "success")
    loan = engine.loan(task.loan_ref)
    ended = {"rejected": _("The loan was rejected; its file is closed."),
             "withdrawn": _("The application was withdrawn; its file is closed."),
             "archived": _("The loan is closed and its file archived.")}.get(
        "archived" if loan.stage == "archived" else loan.status)  # repaid and under review: not ended yet
    if ended:  # a decision that ends the loan says so, not only "done"
        flash(ended, "info")
    else:  # and one that moves it on, or sends it back, says where it is now
        flash(_next_steps(engine, task.loan_ref), "info")
    return redirect(url_for("inbox.index"))


def _next_steps(engine, loan_ref: str) -> str:
    items = engine.loan_items(loan_ref)
    if not items:
        return _("Nothing is open on loan %(loan)s now; it waits for a date or an outside event.", loan=loan_ref)
    steps = []
    for item in items:
        who = item.claimed_by or item.candidate_user
        name, role = task_name(item), label(ROLE_LABELS, item.role)
        steps.append(_("%(task)s (%(role)s, %(who)s)", task=name, role=role, who=who)
                     if who else _("%(task)s (%(role)s)", task=name, role=role))
    return _("Now open on loan %(loan)s: %(steps)s.", loan=loan_ref, steps="; ".join(dict.fromkeys(steps)))


def _flat(form) -> dict:
    """Echo what was typed: single values as strings, multi-selects as lists."""
    return {k: (v if len(v) > 1 else v[0]) for k, v in form.to_dict(flat=False).items()}


flat_form = _flat  # a draft keeps what was typed the same way


@bp.post("/<int(max=2147483647):item_id>/claim")
@login_required
def claim(item_id: int):
    credit_engine().claim(current_user.username, item_id, source="web")
    flash(_("You have claimed this task; it is now in your tasks."), "success")
    return redirect(url_for("tasks.show", item_id=item_id))


@bp.post("/<int(max=2147483647):item_id>/release")
@login_required
def release(item_id: int):
    credit_engine().release(current_user.username, item_id, source="web")
    flash(_("Task released: others in the role can take it again."), "info")
    return redirect(url_for("inbox.index"))
