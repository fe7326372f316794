"""One configuration for the web app, the CLI and the worker: CREDITFLOW_* variables, optionally a TOML file."""
from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from difflib import get_close_matches
from pathlib import Path

PREFIX = "CREDITFLOW_"
log = logging.getLogger("creditflow.settings")


class ConfigurationError(ValueError):
    """A setting or the policy file cannot be used; the message names the source and the key."""


@dataclass(frozen=True)
class Settings:
    """Every key, its type and default; docs/operations.md describes each one."""

    database_url: str | None = None          # default: sqlite file instance/creditflow.sqlite
    policy_path: str | None = None           # default: the bundled policies/default.yaml
    instance_path: str = "instance"          # SQLite file, secret key file
    secret_key: str | None = None            # default: a random key kept in instance/secret_key
    tls: bool = False                        # served over HTTPS: Secure cookies and HSTS
    log_format: str = "auto"                 # json | text | auto (text on a terminal, else json)
    log_level: str = "INFO"
    lang: str | None = None                  # language of CLI output (zh_CN or en); default: the POSIX locale
    worker_interval: float = 30.0            # seconds between two ticks of `creditflow worker`
    worker_db_outage_seconds: float = 300.0  # the worker exits (status 3) when the database is away this long
    incident_max_attempts: int = 5           # automatic attempts before an incident waits for a person
    incident_backoff_seconds: float = 60.0   # first wait before a retry; doubles with every attempt
    ready_max_timer_lag_seconds: float = 900.0  # /readyz fails when a due timer waits longer than this
    sign_in_free_attempts: int = 3
    sign_in_max_lock_seconds: int = 900
    inbox_page_size: int = 50
    live_cache_mb: int = 64                  # saved workflow state this process keeps live between commands (0: none)
    replay_loans: int = 500                  # the newest loans a submitted change is replayed against
    replay_seconds: float = 10.0             # and the time the submission may spend on it (newest loans first)
    token_valid_days: int = 90               # API bearer tokens expire after this many days
    smtp_host: str | None = None             # e-mail notifications through this SMTP server; none: in-app only
    smtp_port: int = 587
    smtp_from: str | None = None             # the sender address of notification e-mails
    smtp_user: str | None = None             # sign in to the SMTP server when set
    smtp_password: str | None = None
    smtp_starttls: bool = True               # upgrade the SMTP connection with STARTTLS before signing in
    smtp_timeout_seconds: float = 20.0
    mail_max_attempts: int = 5               # sending attempts before an e-mail is marked failed
    mail_backoff_seconds: float = 60.0       # first wait after a failed attempt; doubles with every attempt
    public_base_url: str = "http://localhost:5000"  # links in e-mails point here
    config: str | None = None                # a TOML file with any of these keys (lower case)
    test_postgres_url: str | None = None     # the test suite's PostgreSQL server
    documents_path: str | None = None        # where attached files are kept; default: <instance>/documents
    document_max_bytes: int = 20 * 1024 * 1024  # the largest file a person may attach
    checkpoint_key: str | None = None        # PEM file of the Ed25519 key that signs checkpoints (outside the database)
    checkpoint_public_key: str | None = None  # PEM file of its public key, to check signed checkpoints (default:
                                             # the public half of checkpoint_key)
    checkpoint_every: str | None = None      # the worker signs and exports a checkpoint this often: 30m, 6h, 1d
    checkpoint_dir: str | None = None        # where it appends them (checkpoints.jsonl); default <instance>/checkpoints

    def merged(self, **overrides) -> Settings:
        """These settings with explicit values (CLI options, test configuration) on top; None keeps the setting."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


KEYS = {f.name: f for f in fields(Settings)}


def _convert(key: str, raw, source: str):
    kind = KEYS[key].type
    try:
        if "bool" in kind:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        return str(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise ConfigurationError(f"{source}: '{raw}' is not a valid {kind.split(' ')[0]}") from None


def load_settings(environ=None) -> Settings:
    """Defaults, then the TOML file named by CREDITFLOW_CONFIG, then CREDITFLOW_* variables. Read once per process."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    config_file = environ.get(PREFIX + "CONFIG")
    if config_file:
        try:
            document = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"{config_file}: (file): cannot read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{config_file}: (document): not valid TOML: {exc}") from None
        for key, raw in document.items():
            name = key.lower()
            if name not in KEYS or name == "config":
                raise ConfigurationError(f"{config_file}: {key}: unknown setting")
            values[name] = _convert(name, raw, f"{config_file}: {key}")
        values["config"] = config_file
    for variable, raw in environ.items():
        if not variable.startswith(PREFIX):
            continue
        name = variable[len(PREFIX):].lower()
        if name in KEYS:
            values[name] = _convert(name, raw, variable)
        else:
            hint = get_close_matches(name, KEYS, n=1)
            log.warning("unknown setting %s is ignored%s", variable,
                        f" (did you mean {PREFIX}{hint[0].upper()}?)" if hint else "")
    settings = Settings(**values)
    if settings.log_format not in ("auto", "json", "text"):
        raise ConfigurationError(f"{PREFIX}LOG_FORMAT: '{settings.log_format}' is not one of auto, json, text")
    checkpoint_interval(settings)  # refuses a malformed CREDITFLOW_CHECKPOINT_EVERY now, not at the first checkpoint
    return settings


_UNITS = {"m": 60, "h": 3600, "d": 86400}


def checkpoint_interval(settings: Settings) -> timedelta | None:
    """How often the worker signs a checkpoint (`checkpoint_every`: a whole number of minutes, hours or days)."""
    raw = (settings.checkpoint_every or "").strip().lower()
    if not raw:
        return None
    number, unit = raw[:-1], raw[-1:]
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise ConfigurationError(f"{PREFIX}CHECKPOINT_EVERY: '{settings.checkpoint_every}' is not a period such as "
                                 "30m, 6h or 1d")
    return timedelta(seconds=int(number) * _UNITS[unit])


def default_database_url(settings: Settings) -> str:
    """The explicit URL, else the embedded SQLite file in the instance folder."""
    if settings.database_url:
        return settings.database_url
    folder = Path(settings.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'creditflow.sqlite').resolve()}"
