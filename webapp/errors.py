"""The one place that turns engine refusals and HTTP errors into responses: JSON under /api, pages elsewhere."""
from __future__ import annotations

from flask import abort, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import (ConcurrentChange, DatabaseUnavailable, EngineError, InvalidInput, NotAllowed,
                           NotFound, TooManyAttempts)

from .i18n import error_message, translate

STATUS = ((InvalidInput, 400), (TooManyAttempts, 429), (NotAllowed, 403), (NotFound, 404), (ConcurrentChange, 409),
          (DatabaseUnavailable, 503))
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 413: "too_large", 415: "unsupported_media_type", 429: "too_many_attempts",
              500: "internal_error", 503: "unavailable"}


def status_for(error: EngineError) -> int:
    """HTTP status of an engine error: 400 bad input, 403 refusal, 404 missing, 409 concurrent change,
    503 database away."""
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 422  # e.g. a BPMN script failed: the request was fine, the process could not go on


def field_messages(error: InvalidInput) -> dict[str, str]:
    """Per-field problems in the reader's language (templates when the engine provides them)."""
    templates = getattr(error, "field_templates", None) or {}
    out = {}
    for name, text in (error.fields or {}).items():
        if name in templates:
            template, params = templates[name]
            out[name] = translate(template, params)
        else:
            out[name] = translate(text)
    return out


def wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith(("/api/", "/studio/api/"))


def error_body(code: str, message: str, status: int, **extra):
    body = {"code": code, "message": message, **extra}
    return jsonify(body), status


def handle_engine_error(error: EngineError):
    status = status_for(error)
    message = error_message(error)
    if wants_json():
        extra = {"fields": field_messages(error)} if isinstance(error, InvalidInput) else {}
        if getattr(error, "rule", None):
            extra["rule"] = error.rule
        return error_body(error.code, message, status, **extra)
    return render_template("errors/error.html", status=status, message=message, code=error.code), status


def handle_http_error(error: HTTPException):
    status = error.code or 500
    code = HTTP_CODES.get(status, "http_error")
    if wants_json():
        response, status = error_body(code, _http_message(status), status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="creditflow"'
    else:
        response = make_response(render_template("errors/error.html", status=status, message=_http_message(status),
                                                 code=code), status)
    for name, value in error.get_headers():  # e.g. Allow on 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def _http_message(status: int) -> str:
    return {
        400: _("The request could not be understood; check the form and try again."),
        401: _("Sign in, or send a valid bearer token."),
        403: _("You may not see or do this."),
        404: _("There is nothing at this address."),
        405: _("This address does not accept that method."),
        413: _("The request is too large: at most %(limit)s MB is accepted here.",
               limit=round((request.max_content_length or 0) / 2**20, 1)),
        415: _("Send JSON (Content-Type: application/json)."),
        429: _("Too many attempts; wait a moment and try again."),
    }.get(status, _("Something went wrong on our side; the change was not saved."))


def handle_csrf_error(error: CSRFError):
    message = _("This form has expired or did not come from this site; reload the page and try again.")
    if wants_json():
        return error_body("csrf_failed", message, 400)
    return render_template("errors/error.html", status=400, message=message, code="csrf_failed"), 400


def reject_nul_characters():
    """No database stores NUL in text faithfully (PostgreSQL refuses it): refuse it at the door."""
    if "\x00" in request.path:
        if wants_json():
            return error_body("invalid_input", _("Text may not contain NUL characters."), 400)
        abort(400)
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in (key or "") or "\x00" in (value or ""):  # a multipart part may come without a name
                if wants_json():
                    return error_body("invalid_input", _("Text may not contain NUL characters."), 400)
                abort(400)
    return None


def init_app(app) -> None:
    app.before_request(reject_nul_characters)
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
