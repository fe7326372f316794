"""The loan list (信贷档案): search and sort the files a person may open; the same reader serves the JSON API."""
from __future__ import annotations

import re
from decimal import Decimal

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

from engine.errors import InvalidInput
from engine.queries.loan_search import LOAN_SORTS, LoanSearch

from .extensions import credit_engine
from .i18n import error_message
from .inbox import page_number
from .templating import CLASSIFICATION_LABELS, STAGE_LABELS, STATUS_LABELS

bp = Blueprint("credit_file", __name__, url_prefix="/loans")
LOAN_STATUSES = ("active", "disbursed", "closed", "settled", "rejected", "withdrawn")
AMOUNT = re.compile(r"\d[\d,]{0,17}(\.\d{1,2})?", re.ASCII)  # yuan as people type it: 1,500,000.00
SEARCH_KEYS = ("q", "branch", "stage", "status", "classification", "min", "max", "sort")


def _amount(args, name: str) -> Decimal | None:
    """An amount in yuan as typed: digits with at most two decimals, no exponent; anything else is refused."""
    typed = args.get(name) or ""
    if not typed:
        return None
    if not AMOUNT.fullmatch(typed):
        value = None
    else:
        value = Decimal(typed.replace(",", ""))
    if value is None:
        raise InvalidInput("%(field)s must be an amount in yuan, at most two decimals, no exponent: %(value)s.",
                           field=name, value=typed[:40])
    return value


def read_search(args) -> LoanSearch:
    """The search a query string asks for; a value that cannot be understood is refused, naming it."""
    for name, longest in (("q", 100), ("branch", 32)):
        if len(args.get(name) or "") > longest:
            raise InvalidInput("%(field)s must be at most %(max)s characters.", field=name, max=longest)
    picks = {}
    for name, allowed in (("stage", STAGE_LABELS), ("status", LOAN_STATUSES),
                          ("classification", CLASSIFICATION_LABELS)):
        value = args.get(name) or None
        if value is not None and value not in allowed:
            raise InvalidInput("%(field)s must be one of: %(choices)s.", field=name, choices=", ".join(allowed))
        picks[name] = value
    low, high = _amount(args, "min"), _amount(args, "max")
    sort = args.get("sort") or "newest"
    if sort not in LOAN_SORTS:
        raise InvalidInput("%(field)s must be one of: %(choices)s.", field="sort", choices=", ".join(LOAN_SORTS))
    return LoanSearch(text=" ".join((args.get("q") or "").split())[:100] or None,
                      branch=(args.get("branch") or "").strip()[:32] or None, amount_min=low, amount_max=high,
                      sort=sort, **picks)


@bp.get("/")
@login_required
def index():
    echo = {k: v[:200] for k, v in request.args.items() if k in SEARCH_KEYS and v}
    page, per_page = page_number(request.args), current_app.config["INBOX_PAGE_SIZE"]
    problem, rows, total = None, [], 0
    try:
        search = read_search(request.args)
        if search.amount_min is not None and search.amount_max is not None and search.amount_min > search.amount_max:
            raise InvalidInput("The smallest amount (%(low)s) is larger than the largest (%(high)s).",
                               low=search.amount_min, high=search.amount_max)
    except InvalidInput as exc:
        problem = error_message(exc)
    else:
        rows, total = credit_engine().search_loans(current_user.username, search, page=page, per_page=per_page)
    pages = max(1, -(-total // per_page))
    return render_template("loans/index.html", rows=rows, total=total, page=page, pages=pages, filters=echo,
                           problem=problem, statuses=LOAN_STATUSES, status_labels=STATUS_LABELS,
                           classification_labels=CLASSIFICATION_LABELS,
                           branches=sorted(b for b in current_user.branches() if b)), 400 if problem else 200
