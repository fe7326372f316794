"""The composition root: wires database, clock, policy set and engine so tests can swap any of them."""
from __future__ import annotations

import os
from pathlib import Path

from policies import load_policy

from .clock import SystemClock
from .db import Database, sqlite_url
from .service import CreditEngine

BUNDLED_BPMN = Path(__file__).resolve().parent.parent / "bpmn"
DEFAULT_DB_FILE = Path("instance") / "creditflow.sqlite"


def database_url(url: str | None = None) -> str:
    """Explicit URL, else CREDITFLOW_DATABASE_URL, else the embedded SQLite file in ./instance."""
    if url:
        return url
    if os.environ.get("CREDITFLOW_DATABASE_URL"):
        return os.environ["CREDITFLOW_DATABASE_URL"]
    DEFAULT_DB_FILE.parent.mkdir(parents=True, exist_ok=True)
    return sqlite_url(DEFAULT_DB_FILE)


def build_engine(url: str | None = None, clock=None, policy=None, policy_path: str | None = None) -> CreditEngine:
    db = Database(database_url(url))
    return CreditEngine(db, clock or SystemClock(), policy or load_policy(policy_path))
