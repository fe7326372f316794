"""The inbox: my tasks, tasks I may take, tasks I did; filtered, paged, overdue work first."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

from engine.queries.inbox import INBOX_KINDS, INBOX_SORTS, InboxFilter
from engine.roles import SUPERVISOR_ROLES

from .extensions import credit_engine
from .templating import STAGE_LABELS, bank_time

bp = Blueprint("inbox", __name__)


def read_filters(args) -> tuple[InboxFilter, dict]:
    """Filters from the query string; anything malformed is ignored (and left out of the echo)."""
    echo = {}
    stage = args.get("stage") or None
    if stage not in STAGE_LABELS:
        stage = None
    branch = (args.get("branch") or "").strip()[:32] or None
    due_before = None
    if args.get("due"):
        try:
            day = datetime.strptime(args["due"], "%Y-%m-%d").date()
            due_before = datetime.combine(day + timedelta(days=1), time(0), bank_time())
            echo["due"] = day.isoformat()
        except ValueError:
            pass
    overdue = args.get("overdue") in ("1", "on", "true")
    text = " ".join((args.get("q") or "").split())[:100] or None
    sort = args.get("sort") if args.get("sort") in INBOX_SORTS else "due"
    echo.update({k: v for k, v in (("stage", stage), ("branch", branch), ("q", text)) if v})
    if sort != "due":
        echo["sort"] = sort
    if overdue:
        echo["overdue"] = "1"
    return InboxFilter(stage=stage, branch=branch, due_before=due_before, overdue_only=overdue, text=text,
                       sort=sort), echo


def page_number(args) -> int:
    try:
        return max(1, min(int(args.get("page", 1)), 100_000))
    except ValueError:
        return 1


@bp.get("/")
@login_required
def index():
    kind = request.args.get("kind", "mine")
    if kind not in INBOX_KINDS:
        kind = "mine"
    filters, echo = read_filters(request.args)
    page, per_page = page_number(request.args), current_app.config["INBOX_PAGE_SIZE"]
    rows, total = credit_engine().inbox(current_user.username, kind, filters, page=page, per_page=per_page)
    pages = max(1, -(-total // per_page))
    return render_template("inbox/index.html", kind=kind, rows=rows, total=total, page=page, pages=pages,
                           filters=echo, branches=sorted(b for b in current_user.branches() if b),
                           supervisor_roles=(*SUPERVISOR_ROLES, "committee_chair"))
