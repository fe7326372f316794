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


def _batch(key: str) -> tuple[str, list]:
    """The body {"as_of", key: [...]}, or 400."""
    payload = body()
    if set(payload) - {"as_of", key} or "as_of" not in payload or key not in payload:
        raise InvalidInput("Send {\"as_of\": \"YYYY-MM-DD\", \"%(key)s\": [...]}.", key=key)
    if not isinstance(payload["as_of"], str):
        raise InvalidInput("as_of must be a date (YYYY-MM-DD), not '%(value)s'.", value=str(payload["as_of"])[:40])
    rows = payload[key]
    if not isinstance(rows, list) or len(rows) > MAX_POSITIONS:
        raise InvalidInput("%(key)s must be a list of at most %(max)s rows.", key=key, max=MAX_POSITIONS)
    return payload["as_of"], rows


@bp.post("/servicing/positions")
def record_positions():
    """A batch of positions as of one business date: 200 with what landed and each refused row, 400 for a bad body."""
    engine = credit_engine()
    engine.check_feed(username(), source="api")  # anyone else: 403, recorded
    as_of, positions = _batch("positions")
    summary = engine.import_positions(as_of, positions, actor=username(), source="api")
    return jsonify(summary_json(summary))


@bp.post("/servicing/onboarding")
def onboard_loans():
    """Loans disbursed before creditflow, each a position with its credit file's fields: 200 with what was onboarded,
    what was on file already and each refused row; the same batch again opens nothing new."""
    engine = credit_engine()
    engine.check_feed(username(), source="api")  # anyone else: 403, recorded
    as_of, loans = _batch("loans")
    summary = engine.import_positions(as_of, loans, actor=username(), source="api", onboard=True)
    return jsonify({**summary_json(summary), "onboarded": summary.onboarded})
