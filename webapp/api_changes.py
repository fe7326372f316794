"""/api/v1/changes: process changes through four eyes, for designers who work from their own tools."""
from __future__ import annotations

from flask import jsonify, request
from werkzeug.exceptions import Forbidden

from engine.errors import InvalidInput

from .api import body, bp, username
from .extensions import credit_engine
from .i18n import translate

READERS = ("process_designer", "auditor")


def change_json(view, full: bool = False) -> dict:
    data = {
        "id": view.id, "author": view.author, "status": view.status, "note": view.note,
        "files": sorted(view.files), "created_at": view.created_at.isoformat(),
        "submitted_at": view.submitted_at.isoformat() if view.submitted_at else None,
        "reviewer": view.reviewer, "decided_at": view.decided_at.isoformat() if view.decided_at else None,
        "reason": view.reason,
        "deployed": [{"process_id": r.process_id, "version": r.version, "created": r.created} for r in view.deployed],
    }
    if full:
        data["problems"] = [problem_json(p) for p in view.problems]
    return data


def problem_json(p) -> dict:
    return {"file": p.file, "line": p.line, "element": p.element, "severity": p.severity, "rule": p.rule,
            "message": translate(p.template, p.params) if p.template else p.message}


def _reader() -> None:
    from flask import g
    if not any(g.api_user.has_role(role) for role in READERS):
        raise Forbidden()


def _known(data: dict, *keys: str) -> dict:
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise InvalidInput("Unknown field %(name)s; these are known: %(choices)s.", name=repr(unknown[0]),
                           choices=", ".join(keys))
    return data


def _files(data: dict) -> dict:
    _known(data, "files", "note")
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise InvalidInput("Send 'files' as an object of file name to file text.")
    return files


@bp.get("/changes")
def list_changes():
    _reader()
    status = request.args.get("status") or None
    return jsonify({"changes": [change_json(c) for c in credit_engine().changes(username(), status)]})


@bp.post("/changes")
def create_change():
    data = body()
    view = credit_engine().save_change(username(), _files(data), str(data.get("note") or ""), source="api")
    return jsonify(change_json(view, full=True)), 201


@bp.route("/changes/<int(max=2147483647):change_id>", methods=["GET", "PUT"])
def change_detail(change_id: int):
    """GET: one change with its problems; PUT: more edits on the author's own draft."""
    if request.method == "PUT":
        return edit_change(change_id)
    _reader()
    return jsonify(change_json(credit_engine().change(username(), change_id), full=True))


def edit_change(change_id: int):
    data = body()
    view = credit_engine().save_change(username(), _files(data), str(data.get("note") or ""), change_id, source="api")
    return jsonify(change_json(view, full=True))


@bp.post("/changes/<int(max=2147483647):change_id>/submit")
def submit_change(change_id: int):
    return jsonify(change_json(credit_engine().submit_change(username(), change_id, source="api"), full=True))


@bp.post("/changes/<int(max=2147483647):change_id>/withdraw")
def withdraw_change(change_id: int):
    return jsonify(change_json(credit_engine().withdraw_change(username(), change_id, source="api")))


@bp.post("/changes/<int(max=2147483647):change_id>/approve")
def approve_change(change_id: int):
    data = _known(body(), "reason")
    view = credit_engine().decide_change(username(), change_id, True, str(data.get("reason") or ""), source="api")
    return jsonify(change_json(view))


@bp.post("/changes/<int(max=2147483647):change_id>/reject")
def reject_change(change_id: int):
    data = _known(body(), "reason")
    view = credit_engine().decide_change(username(), change_id, False, str(data.get("reason") or ""), source="api")
    return jsonify(change_json(view))

