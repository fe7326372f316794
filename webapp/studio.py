"""The process library for process designers and auditors: every version, its diagram and steps, and what changed
between two versions, in words and marked on both diagrams."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .extensions import credit_engine
from .serialize import diagram_response
from .templating import step_texts

bp = Blueprint("studio", __name__, url_prefix="/processes")
READERS = ("process_designer", "auditor")
# How the changes are grouped on the page, in this order; anything else falls under "Other changes".
GROUPS = (
    (_l("Processes and steps"), ("process", "task", "event", "gateway")),
    (_l("Lanes"), ("lane",)),
    (_l("Duties, assignees and stages"), ("duty", "assignee", "stage", "property")),
    (_l("Conditions and flows"), ("condition", "flow")),
    (_l("Timers, deadlines and messages"), ("timer", "due", "message")),
    (_l("Forms"), ("form", "form field")),
    (_l("Decision tables"), ("decision", "decision column", "decision rule")),
    (_l("Scripts, instructions and wording"), ("script", "instructions", "documentation", "wording")),
)


def may_read(user) -> bool:
    return any(user.has_role(role) for role in READERS)


@bp.before_request
@login_required
def readers_only():
    if not may_read(current_user):
        abort(403)


def change_text(change) -> str:
    """A change's sentence in the reader's language (element types and names too)."""
    return change.text(_)


def grouped(changes) -> list[tuple[str, list]]:
    """(group label, changes) in the page's order; the layout note and unknown kinds last."""
    groups, placed = [], set()
    for label, whats in GROUPS:
        members = [c for c in changes if c.what in whats]
        placed.update(id(c) for c in members)
        if members:
            groups.append((str(label), members))
    rest = [c for c in changes if id(c) not in placed]
    if rest:
        groups.append((_("Other changes"), rest))
    return groups


@bp.get("/")
def index():
    return render_template("studio/index.html", processes=credit_engine().process_library())


@bp.get("/<process_id>/<int(max=2147483647):version>")
def version(process_id: str, version: int):
    engine = credit_engine()
    entry = engine.process_version(process_id, version)
    return render_template("studio/version.html", entry=entry, steps=engine.version_steps(process_id, version))


@bp.get("/<process_id>/<int(max=2147483647):version>/diagram.bpmn")
def diagram(process_id: str, version: int):
    """The version's BPMN with names in the reader's language, for the bpmn-js viewer."""
    entry = credit_engine().process_version(process_id, version)
    found = step_texts().diagram(entry.id)
    if found is None:
        abort(404)
    response = diagram_response(found[1], found[0])
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


@bp.get("/<process_id>/diff")
def diff(process_id: str):
    """Version `a` against version `b` (by default the newest against the one before it)."""
    engine = credit_engine()
    entry = next((p for p in engine.process_library() if p.process_id == process_id), None)
    if entry is None:
        abort(404)
    numbers = [v.version for v in entry.versions]
    b = request.args.get("b", default=entry.newest.version, type=int)
    a = request.args.get("a", default=max([n for n in numbers if n < b] or [b]), type=int)
    if a not in numbers or b not in numbers:
        abort(404)
    comparison = engine.compare_versions(process_id, a, b, str(get_locale() or ""))
    return render_template("studio/diff.html", entry=entry, a=a, b=b, numbers=numbers, comparison=comparison)


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(change_text=change_text, grouped_changes=grouped, may_read_processes=may_read)
