"""The composition root: wires settings, database, clock, policy set and engine so tests can swap any of them."""
from __future__ import annotations

from pathlib import Path

from engine.commands.policy_versions import load_newest
from policies import PolicyFormatError, load_policy

from engine.clock import SystemClock
from engine.store.db import Database
from engine.service import CreditEngine
from engine.settings import ConfigurationError, Settings, default_database_url, load_settings

BUNDLED_BPMN = Path(__file__).resolve().parent.parent / "bpmn"


def database_url(url: str | None = None, settings: Settings | None = None) -> str:
    """Explicit URL, else the setting CREDITFLOW_DATABASE_URL, else the embedded SQLite file in ./instance."""
    return url or default_database_url(settings or load_settings())


def build_engine(url: str | None = None, clock=None, policy=None, policy_path: str | None = None,
                 settings: Settings | None = None) -> CreditEngine:
    settings = (settings or load_settings()).merged(database_url=url, policy_path=policy_path)
    explicit_policy = policy
    if policy is None:
        try:
            policy = load_policy(settings.policy_path)
        except PolicyFormatError as exc:
            raise ConfigurationError(str(exc)) from None
    engine = CreditEngine(Database(default_database_url(settings)), clock or SystemClock(), policy)
    engine.settings = settings
    if explicit_policy is None:
        load_newest(engine.kernel)  # a policy approved in the studio wins over the file
    return engine
