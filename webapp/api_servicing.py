"""/api/v1/servicing: the core banking system (核心系统) reports each loan's position every business day."""
from __future__ import annotations

from flask import jsonify

from engine.commands.servicing import MAX_BATCH as MAX_POSITIONS
from engine.errors import InvalidInput

from .api import body, bp, username
from .extensions import credit_engine
from .i18n import translate



def summary_json(summary) -> dict:
    return {"as_of": summary.as_of.isoformat(), "accepted": summary.accepted, "unchanged": summary.unchanged,
            "refused": [{"row": e.row, "loan": e.loan, "field": e.field, "message": translate(e.template, e.params)}
                        for e in summary.refused]}


@bp.post("/servicing/positions")
def record_positions():
    """A batch of positions as of one business date: 200 with what landed and each refused row, 400 for a bad body."""
    engine = credit_engine()
    engine.check_feed(username(), source="api")  # anyone else: 403, recorded
    payload = body()
    if set(payload) - {"as_of", "positions"} or "as_of" not in payload or "positions" not in payload:
        raise InvalidInput("Send {\"as_of\": \"YYYY-MM-DD\", \"positions\": [...]}.")
    if not isinstance(payload["as_of"], str):
        raise InvalidInput("as_of must be a date (YYYY-MM-DD), not '%(value)s'.", value=str(payload["as_of"])[:40])
    positions = payload["positions"]
    if not isinstance(positions, list) or len(positions) > MAX_POSITIONS:
        raise InvalidInput("positions must be a list of at most %(max)s rows.", max=MAX_POSITIONS)
    summary = engine.import_positions(payload["as_of"], positions, actor=username(), source="api")
    return jsonify(summary_json(summary))
