"""Structured logs: one JSON line per request and per engine command (human-readable on a terminal)."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

# Fields a log line may carry besides the message; nothing personal beyond user ids.
FIELDS = ("command", "source", "loan", "instance", "outcome", "error", "duration_ms", "method", "path", "status",
          "user", "incident", "step", "attempts")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update({k: getattr(record, k) for k in FIELDS if getattr(record, k, None) is not None})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={getattr(record, k)}" for k in FIELDS if getattr(record, k, None) is not None)
        text = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        text = f"{text}  {extra}" if extra else text
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def configure_logging(settings, stream=None) -> None:
    """Install one handler on the `creditflow` logger (idempotent); JSON unless told otherwise or on a terminal."""
    stream = stream or sys.stderr
    kind = settings.log_format
    if kind == "auto":
        kind = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    logger = logging.getLogger("creditflow")
    for handler in list(logger.handlers):
        if getattr(handler, "creditflow", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.creditflow = True
    handler.setFormatter(JsonFormatter() if kind == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(settings.log_level.upper())
    logger.propagate = False
