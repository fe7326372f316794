"""Process changes in the studio: the list, one change with its problems, and the four-eyes decision."""
from __future__ import annotations

import difflib

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from engine.errors import EngineError
from engine.replay.summary import render as render_replay

from .extensions import credit_engine
from .i18n import error_message, translate

bp = Blueprint("changes", __name__, url_prefix="/studio/changes")
READERS = ("process_designer", "auditor")
STATUS_WORDS = {"draft": _l("Draft"), "submitted": _l("Awaiting approval"), "approved": _l("Approved and deployed"),
                "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn")}
TABS = {"submitted": "submitted", "draft": "draft", "approved": "approved", "rejected": "rejected", "all": None}


@bp.before_request
@login_required
def designers_and_auditors():
    if not any(current_user.has_role(role) for role in READERS):
        abort(403)


@bp.app_template_global("change_status")
def change_status(status: str) -> str:
    return str(STATUS_WORDS.get(status, status))


@bp.app_template_global("problem_text")
def problem_text(problem) -> str:
    """A validation or lint message in the reader's language."""
    return translate(problem.template, problem.params) if problem.template else problem.message


@bp.app_template_global("replay_text")
def replay_text(kind: str, template: str, params: dict) -> str:
    return render_replay(kind, template, params, _)


def _designer_only() -> None:
    if not current_user.has_role("process_designer"):
        abort(403)


@bp.get("/")
def index():
    tab = request.args.get("status", "submitted")
    if tab not in TABS:
        abort(400)
    rows = credit_engine().changes(current_user.username, TABS[tab])
    return render_template("changes/index.html", changes=rows, tab=tab)


@bp.get("/<int(max=2147483647):change_id>")
def show(change_id: int):
    engine = credit_engine()
    try:
        change = engine.change(current_user.username, change_id)
    except EngineError:
        abort(404)
    may_decide = (change.status == "submitted" and current_user.has_role("process_designer")
                  and change.author != current_user.username)
    comparison = engine.compare_files(change.base_files, change.files, str(get_locale() or "")) \
        if change.files else None
    is_author = change.author == current_user.username
    current_policy = engine.current_policy_text() if change.policy_text or is_author else None
    policy_diff = "".join(difflib.unified_diff((current_policy or "").splitlines(True),
                                               change.policy_text.splitlines(True), "policy (in use)",
                                               "policy.yaml (this change)")) if change.policy_text else ""
    return render_template("changes/show.html", change=change, may_decide=may_decide, comparison=comparison,
                           policy_diff=policy_diff, policy_text=change.policy_text or current_policy or "",
                           is_author=change.author == current_user.username,
                           errors=[p for p in change.problems if p.severity == "error"],
                           warnings=[p for p in change.problems if p.severity != "error"])


def _act(change_id: int, action, done: str):
    _designer_only()
    try:
        action()
    except EngineError as exc:
        flash(error_message(exc), "error")
    else:
        flash(done, "success")
    return redirect(url_for("changes.show", change_id=change_id))


@bp.post("/new")
def new():
    """An empty draft, to carry a policy change (process edits come from the modeler)."""
    _designer_only()
    try:
        change = credit_engine().save_change(current_user.username, {}, request.form.get("note", ""))
    except EngineError as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("changes.index"))
    return redirect(url_for("changes.show", change_id=change.id, _anchor="policy-edit"))


@bp.post("/<int(max=2147483647):change_id>/policy")
def policy(change_id: int):
    text = request.form.get("policy_text", "")
    return _act(change_id, lambda: credit_engine().save_change(current_user.username, {}, "", change_id,
                                                               policy_text=text),
                _("The policy of change %(id)s is saved; it is checked against the processes below.", id=change_id))


@bp.post("/<int(max=2147483647):change_id>/submit")
def submit(change_id: int):
    return _act(change_id, lambda: credit_engine().submit_change(current_user.username, change_id),
                _("Change %(id)s submitted; another process designer decides it.", id=change_id))


@bp.post("/<int(max=2147483647):change_id>/replay")
def replay(change_id: int):
    _designer_only()
    return _act(change_id, lambda: credit_engine().replay_change(current_user.username, change_id),
                _("Change %(id)s replayed again over the recorded loans.", id=change_id))


@bp.post("/<int(max=2147483647):change_id>/withdraw")
def withdraw(change_id: int):
    return _act(change_id, lambda: credit_engine().withdraw_change(current_user.username, change_id),
                _("Change %(id)s withdrawn.", id=change_id))


@bp.post("/<int(max=2147483647):change_id>/decide")
def decide(change_id: int):
    _designer_only()
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    reason = request.form.get("reason", "")
    approve = decision == "approve"
    done = _("Change %(id)s approved and deployed.", id=change_id) if approve else \
        _("Change %(id)s rejected; its author reads your reason.", id=change_id)
    return _act(change_id, lambda: credit_engine().decide_change(current_user.username, change_id, approve, reason),
                done)
