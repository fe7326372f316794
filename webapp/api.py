"""JSON API for other systems: bearer tokens (`creditflow users token NAME`), errors as {code, message}."""
from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from flask import Blueprint, g, jsonify, request, url_for
from werkzeug.exceptions import Forbidden, Unauthorized

from engine.errors import InvalidInput
from engine.queries.inbox import INBOX_SORTS
from engine.roles import INCIDENT_ROLES

from .access import WebUser, get_loan
from .extensions import credit_engine
from .credit_file import SEARCH_KEYS, read_search
from .inbox import read_filters
from .notifications import reader_locale
from .openapi import KINDS, openapi_document
from .serialize import (act_json, done_json, incident_json, item_json, loan_json, loan_row_json, notification_json,
                        task_json)
from .templating import STAGE_LABELS

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {"api.openapi"}
MAX_NUMBER_CHARS = 40  # money has 18 digits; nothing the API takes needs more


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC:
        return
    scheme, _sep, token = (request.headers.get("Authorization") or "").partition(" ")
    user = credit_engine().user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None or not user.active:
        raise Unauthorized()
    g.api_user = WebUser(user)


def body() -> dict:
    """The JSON object sent; money stays exact (Decimal), whole numbers are ints, NaN and Infinity are refused."""
    if not request.is_json:
        raise InvalidInput("Send a JSON object with Content-Type: application/json.")
    try:
        data = json.loads(request.get_data(as_text=True) or "null", parse_float=_number, parse_int=_number,
                          parse_constant=_no_constant)
    except RecursionError as exc:
        raise InvalidInput("The body is nested too deeply.") from exc
    except ValueError as exc:
        raise InvalidInput("The body is not valid JSON: %(problem)s.", problem=str(exc)) from exc
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object.")
    _check_text(data)
    return data


def _number(literal: str):
    if len(literal) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number may have at most {MAX_NUMBER_CHARS} characters")
    value = Decimal(literal)
    if not value.is_zero() and value.adjusted() > 30:  # 1e999999999 would be a billion-digit integer
        raise ValueError(f"{literal} is out of range")
    if value == value.to_integral_value() and abs(value) < 10 ** 18:
        return int(value)  # 12.0 is a whole number, as JSON Schema says
    return value


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


def _check_text(value) -> None:
    """Refuse text no database stores faithfully: NUL characters and unpaired surrogates."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput("Text must be valid Unicode.") from exc
        if "\x00" in value:
            raise InvalidInput("Text may not contain NUL characters.")


def username() -> str:
    return g.api_user.username


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(credit_engine().new_loan_schema()))


@bp.post("/loans")
def start_loan():
    reference = credit_engine().start_loan(username(), body(), source="api")
    response = jsonify({"reference": reference, "url": url_for("api.loan_detail", reference=reference)})
    response.headers["Location"] = url_for("api.loan_detail", reference=reference)
    return response, 201


def _known_only(args, known) -> None:
    """A query parameter the route does not know is refused, not ignored (a misspelt filter would widen the list)."""
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise InvalidInput("Unknown parameter %(name)s; these are known: %(choices)s.", name=repr(unknown[0]),
                           choices=", ".join(known))


@bp.get("/loans")
def search_loans():
    """The credit files this client's user may open, searched and sorted like the loan list page."""
    args = request.args
    _known_only(args, (*SEARCH_KEYS, "page", "per_page"))
    page, per_page = _whole(args, "page", 1, 1, 100_000), _whole(args, "per_page", 50, 1, 200)
    rows, total = credit_engine().search_loans(username(), read_search(args), page=page, per_page=per_page)
    return jsonify({"page": page, "per_page": per_page, "total": total, "loans": [loan_row_json(r) for r in rows]})


@bp.get("/loans/<reference>")
def loan_detail(reference: str):
    loan = get_loan(reference, g.api_user, with_paths=True)
    return jsonify(loan_json(loan, credit_engine().loan_items(reference)))


@bp.get("/loans/<reference>/history")
def loan_history(reference: str):
    loan = get_loan(reference, g.api_user)
    return jsonify({"reference": loan.reference, "acts": [act_json(a) for a in loan.acts]})


@bp.get("/tasks")
def list_tasks():
    args = request.args
    kind = args.get("kind", "mine")
    if kind not in KINDS:
        raise InvalidInput("kind must be one of: %(choices)s.", choices=", ".join(KINDS))
    page, per_page = _whole(args, "page", 1, 1, 100_000), _whole(args, "per_page", 50, 1, 200)
    if args.get("stage") and args["stage"] not in STAGE_LABELS:
        raise InvalidInput("stage must be one of: %(choices)s.", choices=", ".join(sorted(STAGE_LABELS)))
    if "branch" in args and not 1 <= len(args["branch"]) <= 32:
        raise InvalidInput("branch must be 1 to 32 characters.")
    if args.get("overdue") not in (None, "true", "false"):
        raise InvalidInput("overdue must be true or false.")
    if len(args.get("q") or "") > 100:
        raise InvalidInput("%(field)s must be at most %(max)s characters.", field="q", max=100)
    if args.get("sort") not in (None, *INBOX_SORTS):
        raise InvalidInput("%(field)s must be one of: %(choices)s.", field="sort", choices=", ".join(INBOX_SORTS))
    filters, echo = read_filters(args)
    if "due" in args and "due" not in echo:
        raise InvalidInput("due must be a date, YYYY-MM-DD.")
    filters = replace(filters, overdue_only=args.get("overdue") == "true")
    rows, total = credit_engine().inbox(username(), kind, filters, page=page, per_page=per_page)
    now = credit_engine().clock.now()
    items = [done_json(r) for r in rows] if kind == "done" else [item_json(r, now) for r in rows]
    return jsonify({"kind": kind, "page": page, "per_page": per_page, "total": total, "items": items})


def _whole(args, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput("%(name)s must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high)
    return int(raw)


@bp.get("/tasks/<int(max=2147483647):item_id>")
def task_detail(item_id: int):
    view = credit_engine().task(username(), item_id)
    return jsonify(task_json(view, credit_engine().clock.now()))


@bp.post("/tasks/<int(max=2147483647):item_id>/claim")
def claim(item_id: int):
    credit_engine().claim(username(), item_id, source="api")
    return jsonify({"id": item_id, "claimed_by": username()})


@bp.post("/tasks/<int(max=2147483647):item_id>/release")
def release(item_id: int):
    credit_engine().release(username(), item_id, source="api")
    return jsonify({"id": item_id, "claimed_by": None})


@bp.post("/tasks/<int(max=2147483647):item_id>/complete")
def complete(item_id: int):
    payload = body()
    data, reason = payload.get("data", {}), payload.get("reason")
    if not isinstance(data, dict) or set(payload) - {"data", "reason"}:
        raise InvalidInput("Send {\"data\": {...form fields...}, \"reason\": optional text}.")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be text.")
    credit_engine().complete(username(), item_id, data, source="api", reason=reason)
    return jsonify({"id": item_id, "completed": True})


INCIDENT_STATUSES = {"open": "open", "resolved": "resolved", "all": None}


def _incident_staff():
    if not any(g.api_user.has_role(role) for role in INCIDENT_ROLES):
        raise Forbidden()


@bp.get("/incidents")
def list_incidents():
    _incident_staff()
    status = request.args.get("status", "open")
    if status not in INCIDENT_STATUSES:
        raise InvalidInput("status must be one of: %(choices)s.", choices=", ".join(INCIDENT_STATUSES))
    rows = credit_engine().incidents(status=INCIDENT_STATUSES[status])
    return jsonify({"status": status, "incidents": [incident_json(i, g.api_user) for i in rows]})


@bp.post("/incidents/<int(max=2147483647):incident_id>/retry")
def retry_incident(incident_id: int):
    _incident_staff()
    payload = body() if request.get_data() else {}
    if set(payload) - {"to_latest"} or not isinstance(payload.get("to_latest", False), bool):
        raise InvalidInput("Send {\"to_latest\": true or false}, or nothing.")
    incident = credit_engine().retry_incident(incident_id, username(), to_latest=payload.get("to_latest", False),
                                              source="api")
    return jsonify(incident_json(incident, g.api_user))


# -- documents on a loan's file (multipart upload; the download is the file itself) ------------------------------
def document_json(view) -> dict:
    return {"id": view.id, "loan_ref": view.loan_ref, "kind": view.kind, "filename": view.filename,
            "content_type": view.content_type, "size": view.size, "sha256": view.sha256,
            "uploaded_by": view.uploaded_by, "uploaded_at": view.uploaded_at.isoformat(), "step": view.step,
            "step_name": view.step_name, "task": view.work_item_id,
            "url": url_for("api.download_document", document_id=view.id)}


@bp.get("/loans/<reference>/documents")
def loan_documents(reference: str):
    loan = get_loan(reference, g.api_user)
    return jsonify({"reference": loan.reference,
                    "documents": [document_json(d) for d in credit_engine().documents(loan.reference)]})


@bp.post("/loans/<reference>/documents")
def upload_document(reference: str):
    """multipart/form-data: `kind`, `file`, and `task` (a task id on this loan) to attach it on that task."""
    loan = get_loan(reference, g.api_user)
    upload, task = request.files.get("file"), request.form.get("task")
    if task is not None and (not task.isdigit() or not 1 <= int(task) <= 2_147_483_647):
        raise InvalidInput("task must be the id of a task on this loan.")
    name, data = (upload.filename or "", upload.read()) if upload is not None else ("", b"")
    engine = credit_engine()  # who may attach is checked before what was sent
    document_id = engine.attach_document(username(), request.form.get("kind", ""), name, data,
                                         loan_ref=loan.reference, item_id=int(task) if task else None, source="api")
    view = next(d for d in engine.documents(loan.reference) if d.id == document_id)
    response = jsonify(document_json(view))
    response.headers["Location"] = url_for("api.download_document", document_id=document_id)
    return response, 201


@bp.get("/documents/<int(max=2147483647):document_id>")
def download_document(document_id: int):
    from .documents import download

    return download(document_id, user=g.api_user.username, source="api")

@bp.get("/notifications")
def list_notifications():
    _known_only(request.args, ("unread", "limit"))
    if request.args.get("unread") not in (None, "true", "false"):
        raise InvalidInput("unread must be true or false.")
    limit = _whole(request.args, "limit", 50, 1, 500)
    rows = credit_engine().notifications(username(), reader_locale(), limit,
                                         unread_only=request.args.get("unread") == "true")
    return jsonify({"unread": credit_engine().unread_notifications(username()),
                    "notifications": [notification_json(n) for n in rows]})
