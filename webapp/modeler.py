"""The modeler in the browser: a process designer edits a deployed process's BPMN and DMN, checks them against
validation and lint, and saves a draft change (four eyes follow on the change's page)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import InvalidInput
from engine.roles import LANE_ROLES, ROLES

from .api_changes import change_json
from .extensions import credit_engine
from .i18n import is_chinese, translate
from .modeler_texts import bpmn_js_translations, page_labels

bp = Blueprint("modeler", __name__, url_prefix="/studio")
CALLED_DECISION = re.compile(r"<(?:\w+:)?calledDecisionId>\s*([\w\-.]+)\s*</", re.UNICODE)
PROCESS_ID = r"<(?:\w+:)?process\b[^>]*\bid=\"%s\""
DECISION_ID = r"<(?:\w+:)?decision\b[^>]*\bid=\"%s\""


@bp.before_request
@login_required
def designers_only():
    if not current_user.has_role("process_designer"):
        abort(403)


def process_files(files: dict[str, str], process_id: str) -> tuple[str, list[str]]:
    """The BPMN file that defines the process, and the DMN files its business rule tasks call."""
    pattern = re.compile(PROCESS_ID % re.escape(process_id))
    diagrams = sorted(name for name, text in files.items() if name.endswith(".bpmn") and pattern.search(text))
    preferred = f"{process_id}.bpmn"
    if not diagrams:
        abort(404)
    bpmn = preferred if preferred in diagrams else diagrams[0]
    decisions = set(CALLED_DECISION.findall(files[bpmn]))
    tables = sorted(name for name, text in files.items() if name.endswith(".dmn") and any(
        re.search(DECISION_ID % re.escape(d), text) for d in decisions))
    return bpmn, tables


def duty_choices() -> list[dict]:
    specs = credit_engine().policy.duty_specs
    return [{"id": name, "label": spec.zh if is_chinese() else spec.en} for name, spec in sorted(specs.items())]


@bp.get("/edit/<process_id>")
def edit(process_id: str):
    files = credit_engine().current_files()
    bpmn, tables = process_files(files, process_id)
    data = {
        "process": process_id,
        "bpmn": {"name": bpmn, "xml": files[bpmn]},
        "dmn": [{"name": name, "xml": files[name]} for name in tables],
        "settings": {"duties": duty_choices(), "forms": sorted(n for n in files if n.startswith("forms/")),
                     "roles": {role: ROLES[role] for role in sorted(LANE_ROLES)}, "labels": page_labels()},
        "translations": bpmn_js_translations() if is_chinese() else {},
        "urls": {"check": url_for(".check"), "drafts": url_for(".save_draft"),
                 "change": url_for("changes.show", change_id=0)},
    }
    return render_template("studio/modeler.html", data=data, process_id=process_id, bpmn_name=bpmn,
                           tables=tables)


def posted() -> tuple[dict[str, str], str, int | None]:
    """The JSON body: files (name -> text), an optional note and the draft's id to save into. Refusals answer
    as JSON through errors.py ({"code", "message"})."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object with 'files'.")
    files, note, change_id = data.get("files"), data.get("note") or "", data.get("change_id")
    if not isinstance(files, dict) or not files or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise InvalidInput("Send 'files' as an object of file name to file text.")
    if not isinstance(note, str):
        raise InvalidInput("The note must be text.")
    if change_id is not None and (isinstance(change_id, bool) or not isinstance(change_id, int)):
        raise InvalidInput("The change id must be a number.")
    return files, note, change_id


def problems_json(problems) -> list[dict]:
    """Each problem with its message in the reader's language."""
    return [{"file": p.file, "line": p.line, "element": p.element,
             "message": translate(getattr(p, "template", None) or p.message, getattr(p, "params", None)),
             "severity": p.severity, "rule": p.rule} for p in problems]


@bp.post("/api/check")
def check():
    """Validation and lint of the edited files laid over the deployed ones; nothing is stored."""
    engine = credit_engine()
    files, _note, _change = posted()
    return jsonify({"problems": problems_json(engine.check_files({**engine.current_files(), **files}))})


@bp.post("/api/drafts")
def save_draft():
    """A new draft change, or the author's open draft updated; answers with the change and its problems."""
    files, note, change_id = posted()
    change = credit_engine().save_change(current_user.username, files, note, change_id)
    return jsonify({"change": change_json(change), "problems": problems_json(change.problems),
                    "url": url_for("changes.show", change_id=change.id)}), 201
