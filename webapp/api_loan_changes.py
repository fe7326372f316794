"""/api/v1/loans/<reference>/extension and /replacement: changes to a disbursed loan (展期, 借新还旧, 重组)."""
from __future__ import annotations

from flask import jsonify, url_for

from engine.errors import InvalidInput

from .api import body, bp, username
from .extensions import credit_engine

REPLACEMENT_CHANGES = ("amount", "term_months")


@bp.post("/loans/<reference>/extension")
def request_extension(reference: str):
    """An extension before maturity: 201 with the extension's process instance; 403 after maturity or while another
    extension is open."""
    payload = body()
    if set(payload) - {"months", "reason"}:
        raise InvalidInput("Send {\"months\": n, \"reason\": \"...\"}.")
    instance = credit_engine().request_extension(username(), reference, payload.get("months"),
                                                 str(payload.get("reason") or ""), source="api")
    return jsonify({"reference": reference, "instance_id": instance,
                    "url": url_for("api.loan_detail", reference=reference)}), 201


@bp.post("/loans/<reference>/replacement")
def replace_loan(reference: str):
    """Refinancing or restructuring: 201 with the new loan, which replaces this one when it is paid out."""
    payload = body()
    if set(payload) - {"kind", *REPLACEMENT_CHANGES}:
        raise InvalidInput("Send {\"kind\": \"refinancing\" or \"restructuring\"}, optionally amount and term_months.")
    changes = {k: payload[k] for k in REPLACEMENT_CHANGES if k in payload}
    new = credit_engine().replace_loan(username(), reference, str(payload.get("kind") or ""), changes, source="api")
    response = jsonify({"reference": new, "replaces": reference, "url": url_for("api.loan_detail", reference=new)})
    response.headers["Location"] = url_for("api.loan_detail", reference=new)
    return response, 201
