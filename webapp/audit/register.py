"""The accountability register for compliance (连带问责): the loans gone bad, who answers for each, the findings;
read-only, with the same exports and their SHA-256 as the desk."""
from __future__ import annotations

from flask import render_template

from ..accountability import digests, export_response, loan_page
from ..extensions import credit_engine
from .blueprint import bp


@bp.get("/register")
def register():
    return render_template("register/index.html", loans=credit_engine().register_loans(), desk=False,
                           digests=digests())


@bp.get("/register/<reference>")
def register_loan(reference: str):
    return loan_page(reference, "register/loan.html", desk=False, digests=digests(reference),
                     may_propose=False, may_decide=False)


@bp.get("/register.<fmt>")
def register_export(fmt: str):
    return export_response(fmt)


@bp.get("/register/<reference>/export.<fmt>")
def register_loan_export(reference: str, fmt: str):
    return export_response(fmt, reference)
