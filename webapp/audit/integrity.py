"""The audit trail's integrity page: the auditor runs a verification (incremental from the last verified checkpoint,
or full), sees the newest checkpoint and the history of verifications; every audit page raises a red banner while
the newest verification found the chain broken.

Running a verification is the one write an auditor may do: it changes no business data, only records itself (its
result, the checkpoint it leaves, its audit event)."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..extensions import credit_engine
from .blueprint import AUDITOR, bp

MODES = {"incremental": _l("Incremental"), "full": _l("Full")}


@bp.context_processor
def chain_alarm():
    """The newest verification, when it found the chain broken, for the banner on every audit page."""
    if not (current_user.is_authenticated and current_user.has_role(AUDITOR)):
        return {}
    return {"chain_alarm": credit_engine().chain_alarm(), "verification_modes": MODES}


@bp.get("/integrity")
def integrity():
    return render_template("audit/integrity.html", status=credit_engine().integrity_status())


@bp.post("/integrity/verify")
def verify():
    mode = request.form.get("mode", "incremental")
    credit_engine().verify_audit_trail(current_user.username, mode if mode in MODES else "incremental", source="web")
    return redirect(url_for("audit.integrity"), code=303)
