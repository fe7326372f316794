"""A loan's file (instances, diagram with the path taken, history) and starting a new loan."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.roles import PERSONAL_DUTIES, SUPERVISOR_ROLES

from .access import get_loan, role_required
from .errors import field_messages
from .documents import kind_options
from .extensions import credit_engine
from .i18n import error_message
from .schema_forms import build_fields, parse_submission
from .serialize import diagram_response
from .templating import step_texts

bp = Blueprint("loans", __name__, url_prefix="/loans")
WARNING_ROLES = {"customer_manager", "risk_manager", "post_loan_manager", "post_loan_head"}


def _branch_choice() -> tuple[str, ...]:
    """Hide the branch field when the customer manager works in exactly one branch."""
    branches = current_user.branches("customer_manager")
    return ("branch",) if len(branches) == 1 and None not in branches else ()


def _render_new(values=None, errors=None, status=200, problem=None):
    schema = credit_engine().new_loan_schema()
    fields = build_fields(schema, values, errors, skip=_branch_choice())
    return render_template("loans/new.html", fields=fields, problem=problem), status


@bp.get("/new")
@role_required("customer_manager")
def new():
    return _render_new()


@bp.post("/new")
@role_required("customer_manager")
def create():
    engine = credit_engine()
    data = parse_submission(engine.new_loan_schema(), request.form, skip=_branch_choice())
    try:
        reference = engine.start_loan(current_user.username, data, source="web")
    except InvalidInput as exc:
        return _render_new(request.form.to_dict(), field_messages(exc), 400, error_message(exc))
    flash(_("Loan %(loan)s started; the investigation is in your tasks.", loan=reference), "success")
    return redirect(url_for("loans.show", reference=reference))


@bp.get("/<reference>")
@login_required
def show(reference: str):
    return _render_show(reference)


def _render_show(reference: str, comment: str = "", problem: str | None = None, status: int = 200):
    loan = get_loan(reference, with_paths=True)
    items = credit_engine().loan_items(reference)
    incidents = credit_engine().incidents(loan_ref=reference) if current_user.has_role("process_designer") else []
    supervised = {process for role, processes in SUPERVISOR_ROLES.items() if current_user.has_role(role)
                  for process in processes}
    reassignable = {i.id: credit_engine().reassign_candidates(i.id) for i in items
                    if i.process_id in supervised and i.duty not in PERSONAL_DUTIES}
    missing_votes = [i for i in items if i.duty == "vote"] if current_user.has_role("committee_chair") else []
    return render_template("loans/show.html", loan=loan, items=items, warning_roles=WARNING_ROLES,
                           incidents=incidents, reassignable=reassignable, missing_votes=missing_votes,
                           record=credit_engine().file_record(reference), comment=comment,
                           comment_problem=problem, documents=credit_engine().documents(reference),
                           document_kinds=kind_options(), collateral=credit_engine().collateral(reference)), status


@bp.post("/<reference>/comments")
@login_required
def add_comment(reference: str):
    """Write on the file; a refused comment comes back with what was typed and why."""
    get_loan(reference)
    text = request.form.get("comment", "")
    try:
        credit_engine().add_comment(current_user.username, reference, text, source="web")
    except InvalidInput as exc:
        return _render_show(reference, text, error_message(exc), 400)
    flash(_("Comment added to the file."), "success")
    return redirect(url_for("loans.show", reference=reference, _anchor="file-record"))


@bp.post("/<reference>/tasks/<int(max=2147483647):item_id>/reassign")
@login_required
def reassign(reference: str, item_id: int):
    """A supervisor hands an open task to someone else; the engine checks the supervisor, the person and the rules."""
    get_loan(reference)
    if item_id not in {i.id for i in credit_engine().loan_items(reference)}:
        abort(404)
    try:
        credit_engine().reassign(current_user.username, item_id, request.form.get("to_user", ""),
                                 request.form.get("reason", ""), source="web")
    except InvalidInput as exc:
        flash(error_message(exc) + " " + " ".join(field_messages(exc).values()), "error")
    else:
        flash(_("Task reassigned to %(user)s.", user=request.form.get("to_user", "")), "success")
    return redirect(url_for("loans.show", reference=reference))


def _act(reference: str, act, done, refused=(InvalidInput, NotAllowed, NotFound)):
    """A button on a loan's page: the engine acts (`act()`); a refusal is flashed and changes nothing. `done(result)`
    gives the success message and the loan to show next (this one, or the one the act made)."""
    get_loan(reference)
    try:
        result = act()
    except refused as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("loans.show", reference=reference))
    message, shown = done(result)
    flash(message, "success")
    return redirect(url_for("loans.show", reference=shown or reference))


@bp.post("/<reference>/close-meeting")
@role_required("committee_chair")
def close_meeting(reference: str):
    """The chair closes the committee meeting with those present once the others' time to vote is over."""
    return _act(reference, lambda: credit_engine().close_meeting(
        current_user.username, reference, request.form.get("reason", ""), source="web"),
        lambda absent: (_("Meeting closed with the members present; recorded absent: %(members)s.",
                          members=", ".join(absent)), None))


@bp.post("/<reference>/warnings")
@login_required
def raise_warning(reference: str):
    """Raise a risk warning; the engine checks the raiser's role and duties and starts the warning process."""
    return _act(reference, lambda: credit_engine().raise_warning(
        current_user.username, reference, request.form.get("signal", ""), source="web"),
        lambda _instance: (_("Warning raised; the credit risk department will register and decide it."), None),
        refused=(InvalidInput,))


@bp.post("/<reference>/extension")
@role_required("customer_manager")
def request_extension(reference: str):
    """展期: before maturity; the engine checks the maturity, the policy's limit and any extension already open."""
    return _act(reference, lambda: credit_engine().request_extension(
        current_user.username, reference, request.form.get("months", ""), request.form.get("reason", ""),
        source="web"),
        lambda _instance: (_("Extension requested; its investigation is in your inbox."), None),
        refused=(InvalidInput, NotAllowed))


@bp.post("/<reference>/replacement")
@role_required("customer_manager")
def replace(reference: str):
    """借新还旧 or 重组: a new linked loan, which starts with its investigation."""
    return _act(reference, lambda: credit_engine().replace_loan(
        current_user.username, reference, request.form.get("kind", ""), source="web"),
        lambda new_loan: (_("%(new)s replaces %(loan)s; it starts with its investigation.", new=new_loan,
                            loan=reference), new_loan),
        refused=(InvalidInput, NotAllowed))


@bp.get("/<reference>/instances/<int(max=2147483647):instance_id>/diagram.bpmn")
@login_required
def diagram(reference: str, instance_id: int):
    """The BPMN file of the version this instance runs on (for the bpmn-js viewer)."""
    loan = get_loan(reference)
    instance = next((i for i in loan.instances if i.id == instance_id), None)
    if instance is None:
        abort(404)
    found = step_texts().diagram(instance.version_id)  # names in the reader's language
    if found is None:
        abort(404)
    response = diagram_response(found[1], found[0])
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response
