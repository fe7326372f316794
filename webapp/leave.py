"""Mandatory leave (强制休假) for the branch head and compliance: who in a sensitive role has had it, by year."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from engine.roles import LEAVE_REPORT_ROLES

from .extensions import credit_engine

bp = Blueprint("leave", __name__, url_prefix="/leave")
YEARS_SHOWN = 5  # the selector offers this year and the four before it


@bp.before_request
@login_required
def branch_head_and_compliance_only():
    if not any(current_user.has_role(role) for role in LEAVE_REPORT_ROLES):
        abort(403)


@bp.get("/")
def index():
    year = request.args.get("year")
    if year is not None and not (year.isascii() and year.isdigit() and len(year) == 4):
        abort(400)
    engine = credit_engine()
    report = engine.leave_report(int(year) if year else None)
    this_year = engine.policy.local_date(engine.clock.now()).year
    years = sorted({*range(this_year - YEARS_SHOWN + 1, this_year + 1), report.year}, reverse=True)
    return render_template("leave/index.html", report=report, years=years)
