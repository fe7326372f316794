"""The WSGI entry point for gunicorn (`gunicorn 'webapp.wsgi:app'`): settings from CREDITFLOW_* variables."""
from __future__ import annotations

import sys

from engine.settings import ConfigurationError

from . import create_app

try:
    app = create_app()
except ConfigurationError as exc:  # a clean one-line error, not a traceback in the server log
    sys.exit(f"creditflow: configuration error: {exc}")
