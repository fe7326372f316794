"""Documents on a loan's file: uploads on a task or on the loan, and downloads for whoever may read the loan."""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from engine.documents import KINDS
from engine.errors import InvalidInput

from .access import get_loan
from .errors import error_body, handle_http_error
from .extensions import credit_engine
from .i18n import error_message, is_chinese, translate

bp = Blueprint("documents", __name__)
UPLOADS = {"documents.upload_on_task", "documents.upload_on_loan", "api.upload_document"}
FORM_ROOM = 64 * 1024  # the multipart envelope and the other fields, on top of the largest file


def kind_label(kind: str, checklist=()) -> str:
    """A kind in the reader's language: the checklist's own title, else the standard vocabulary, else the code."""
    for entry in checklist:
        if entry.kind == kind:
            return (entry.title_zh if is_chinese() and entry.title_zh else entry.title)
    return translate(KINDS[kind]) if kind in KINDS else kind


def kind_options(checklist=()) -> list[tuple[str, str]]:
    """What a person may choose when attaching: the checklist's kinds first, then the standard ones."""
    kinds = [e.kind for e in checklist] + [k for k in KINDS if k not in {e.kind for e in checklist}]
    return [(kind, kind_label(kind, checklist)) for kind in kinds]


def filesize(size: int) -> str:
    if size < 1024:
        return _("%(n)s B", n=size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=f"{size / 1024:.1f}")
    return _("%(n)s MB", n=f"{size / (1024 * 1024):.1f}")


def _upload(loan_ref: str | None, item_id: int | None) -> None:
    """Attach the posted file; the engine decides who may, and refuses a wrong type or size with a reason."""
    upload = request.files.get("file")
    name, data = (upload.filename or "", upload.read()) if upload is not None else ("", b"")
    try:  # who may attach is checked first: a refusal is a 403 page, as for a claim
        credit_engine().attach_document(current_user.username, request.form.get("kind", ""), name, data,
                                        loan_ref=loan_ref, item_id=item_id, source="web")
    except InvalidInput as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Document %(name)s attached.", name=name), "success")


@bp.post("/tasks/<int(max=2147483647):item_id>/documents")
@login_required
def upload_on_task(item_id: int):
    _upload(None, item_id)
    return redirect(url_for("tasks.show", item_id=item_id) + "#documents", 303)


@bp.post("/loans/<reference>/documents")
@login_required
def upload_on_loan(reference: str):
    get_loan(reference)
    _upload(reference, None)
    return redirect(url_for("loans.show", reference=reference) + "#documents", 303)


@bp.get("/documents/<int(max=2147483647):document_id>")
@login_required
def download_page(document_id: int):
    return download(document_id, current_user.username, "web")


def download(document_id: int, user: str, source: str):
    """The file as attached, only to people who may read the loan; bytes that no longer match the recorded
    SHA-256 are refused by the engine (and the refusal recorded)."""
    view, data = credit_engine().document_file(user, document_id, source=source)
    response = send_file(BytesIO(data), mimetype=view.content_type, as_attachment=True, download_name=view.filename,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def allow_uploads():
    """Room for the largest accepted file on the upload addresses (the rest of the site keeps its small limit).
    Runs before the CSRF check, which reads the form."""
    if request.endpoint in UPLOADS:
        request.max_content_length = credit_engine().settings.document_max_bytes + FORM_ROOM


def too_large(error: RequestEntityTooLarge):
    if request.endpoint not in UPLOADS:
        return handle_http_error(error)
    message = _("The file is larger than %(limit)s, the largest accepted.",
                limit=filesize(credit_engine().settings.document_max_bytes))
    if request.blueprint == "api":
        return error_body("too_large", message, 413)
    flash(message, "error")
    target = url_for("tasks.show", item_id=request.view_args["item_id"]) if "item_id" in (request.view_args or {}) \
        else url_for("loans.show", reference=request.view_args["reference"])
    return redirect(target + "#documents", 303)


def init_app(app) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, allow_uploads)
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.add_template_filter(filesize, "filesize")
    app.add_template_global(kind_label, "document_kind")
    app.add_template_global(lambda: credit_engine().settings.document_max_bytes, "document_max_bytes")
    app.register_blueprint(bp)
