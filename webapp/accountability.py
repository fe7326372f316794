"""The accountability desk (连带问责): the credit risk department proposes a finding on a loan in the register, a
branch or department head decides it. Compliance reads the same register under /audit and changes nothing."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.errors import EngineError, NotFound

from .access import head_office
from .extensions import credit_engine
from .i18n import error_message
from .recorded import recorded
from .templating import form_fields

bp = Blueprint("accountability", __name__, url_prefix="/accountability")
PROPOSERS, DECIDERS = ("credit_risk_officer",), ("branch_head",)  # the policy's roles for the two duties
LEVELS = ("none", "minor", "major")
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@bp.before_request
@login_required
def desk_only():
    if not any(current_user.has_role(role) for role in PROPOSERS + DECIDERS):
        abort(403)


def in_words(entry) -> dict:
    """A register entry's decision and reasons under the form's own titles, values in words."""
    fields = form_fields(entry.process_id, None, entry.step)
    return {"decision": recorded(list(entry.decision.items()), fields),
            "reasons": recorded(list(entry.reasons.items()), fields)}


def opened(reference: str):
    """The loan's register if this person may open it: 404 when the loan is not in the register, 403 for another
    branch's loan (like a credit file: the loan's branch, head office or a bank-wide grant)."""
    try:
        register = credit_engine().loan_register(reference)
    except NotFound:
        abort(404)
    if not current_user.sees_branch(register.loan.branch, head_office()):
        abort(403)
    return register


def loan_page(reference: str, template: str, **context):
    register = opened(reference)
    words = [in_words(e) for e in register.entries]
    return render_template(template, register=register, words=words, levels=LEVELS, **context)


def export_response(fmt: str, reference: str | None = None) -> Response:
    """The register as a file; its SHA-256 travels in a header (the pages show it too)."""
    if fmt not in FORMATS:
        abort(404)
    try:
        body, digest = credit_engine().export_register(fmt, reference)
    except NotFound:
        abort(404)
    name = "accountability-register" + (f"-{reference}" if reference else "")
    return Response(body, mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                             "X-Content-SHA256": digest, "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})


def digests(reference: str | None = None) -> dict:
    """The SHA-256 of each export as it would be downloaded now."""
    return credit_engine().register_digests(FORMATS, reference)


def visible(loans: list) -> list:
    """The register's loans this person may open (their branches, head office or bank-wide)."""
    return [loan for loan in loans if current_user.sees_branch(loan.branch, head_office())]


@bp.get("/")
def index():
    loans = credit_engine().register_loans()
    shown = visible(loans)
    return render_template("register/index.html", loans=shown, desk=True,
                           digests=digests() if len(shown) == len(loans) else None)


@bp.get("/<reference>")
def show(reference: str):
    return loan_page(reference, "register/loan.html", desk=True, digests=digests(reference),
                     may_propose=any(current_user.has_role(r) for r in PROPOSERS),
                     may_decide=any(current_user.has_role(r) for r in DECIDERS))


@bp.post("/<reference>/findings")
def propose(reference: str):
    form = request.form
    people = form.getlist("person")
    responsibility = [{"person": p, "level": form.get(f"level_{p}"), "note": form.get(f"note_{p}", "")}
                      for p in people if form.get(f"level_{p}")]
    try:
        finding = credit_engine().propose_finding(current_user.username, reference, form.get("finding", ""),
                                                  responsibility, form.get("sanction", ""), source="web")
    except EngineError as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Finding %(id)s proposed; a branch or department head decides it.", id=finding), "success")
    return redirect(url_for("accountability.show", reference=reference))


@bp.post("/findings/<int(max=2147483647):finding_id>/decision")
def decide(finding_id: int):
    reference = request.form.get("loan", "")
    try:
        status = credit_engine().decide_finding(current_user.username, finding_id, request.form.get("decision", ""),
                                                request.form.get("reason", ""), source="web")
    except EngineError as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Finding %(id)s %(status)s.", id=finding_id,
                status=_("accepted") if status == "accepted" else _("rejected")), "success")
    if not reference.isascii() or not reference.replace("-", "").isalnum():
        return redirect(url_for("accountability.index"))
    return redirect(url_for("accountability.show", reference=reference))


@bp.get("/<reference>/export.<fmt>")
def export_loan(reference: str, fmt: str):
    opened(reference)
    return export_response(fmt, reference)


@bp.get("/export.<fmt>")
def export_all(fmt: str):
    loans = credit_engine().register_loans()
    if len(visible(loans)) != len(loans):
        abort(403)  # the whole register only for those who may open every loan in it
    return export_response(fmt)

