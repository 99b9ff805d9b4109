"""Logging setup: plain text or JSON lines, and structured events.

An event is one log record whose message is a short name (`request`, `run`, `socket`) and
whose fields travel in `record.fields`; the text format writes them as `key=value` pairs, the
JSON format as keys of the line's object. Callers choose the fields, so nothing reaches the
log that was not put there on purpose: never a token, a password, a query string or the text
of a message.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

FieldValue = str | int | float | bool | None


def event(logger: logging.Logger, name: str, /, **fields: FieldValue) -> None:
    """Log one structured event at INFO."""
    if logger.isEnabledFor(logging.INFO):
        logger.info(name, extra={"fields": fields})


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, Mapping) else {}


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger>: <message> key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        pairs = " ".join(f"{key}={_text_value(value)}" for key, value in _fields(record).items())
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _text_value(value: object) -> str:
    if value is None:
        return "-"
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the event's fields, exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


# Loggers whose lower levels carry what must never be logged, and the least level they keep:
# WebSocket frames with tokens and message text (websockets logs them at DEBUG, through
# `uvicorn.error` inside uvicorn), URLs with query strings, request bodies. (SQLAlchemy sets
# its own logger to WARNING, which hides SQL parameters; it is left alone.)
LEVEL_FLOORS = {
    "uvicorn.error": logging.INFO,
    "websockets": logging.WARNING,
    "httpcore": logging.WARNING,
    "httpx": logging.WARNING,
    "multipart": logging.WARNING,
    "python_multipart": logging.WARNING,
}


class _DropUvicornSocketLines(logging.Filter):
    """uvicorn logs each WebSocket handshake with its path and query string on `uvicorn.error`
    whatever `access_log` says; query strings can hold secrets, and our own `socket` event
    replaces those lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket '))


def configure_logging(level: str, json_lines: bool) -> None:
    """Send every logger, uvicorn's included, to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name, floor in LEVEL_FLOORS.items():
        logging.getLogger(name).setLevel(max(root.level, floor))
    logging.getLogger("uvicorn.error").addFilter(_DropUvicornSocketLines())
    # Uvicorn's access log is replaced by the `request` events of parley.telemetry.
    logging.getLogger("uvicorn.access").disabled = True
