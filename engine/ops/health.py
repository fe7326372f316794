"""Readiness: the database answers, its schema is the newest migration, and due timers are not left waiting."""
from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from engine.commands import failures
from engine.store.models import ProcessInstance
from engine.store.schema import alembic_config


def readiness(engine, max_timer_lag_seconds: float) -> dict:
    """{"ready": bool, "checks": {name: {"ok": bool, ...}}}; never raises."""
    checks: dict[str, dict] = {}
    try:
        with engine.db.reading() as session:
            session.execute(text("SELECT 1"))
            checks["database"] = {"ok": True}
            current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            head = ScriptDirectory.from_config(alembic_config(engine.db.url)).get_current_head()
            checks["migrations"] = {"ok": current == head, "current": current, "head": head}
            now = engine.clock.now()
            oldest = session.scalar(select(func.min(ProcessInstance.next_timer_due)).where(
                ProcessInstance.status == "running", ProcessInstance.next_timer_due <= now, ~failures.blocked(now)))
            lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
            checks["timers"] = {"ok": lag <= max_timer_lag_seconds, "lag_seconds": round(lag, 1),
                                "max_lag_seconds": max_timer_lag_seconds}
    except Exception as exc:  # noqa: BLE001 - readiness reports, it does not fail
        checks.setdefault("database", {"ok": False, "error": type(exc).__name__})
        if checks["database"]["ok"]:
            checks["schema"] = {"ok": False, "error": type(exc).__name__}
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}
