"""Logging of ``server start`` and ``cas serve``: one handler on the root logger, writing to
stderr either one JSON object per line (``log_format = "json"``) or plain text.

Every record carries the request id of the request it was logged in (:data:`REQUEST_ID`).
uvicorn's own loggers are routed through the same handler and its access log is switched off
(``serve`` runs uvicorn with ``access_log=False``): the access lines are ours
(telemetry/requests.py), with the route template and the request id.

The JSON formatter is written here rather than taken from a library: it is one ``json.dumps``
of a fixed set of fields, and docs/operations.md documents exactly those.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from chainproof.errors import InvalidInput
from chainproof.server.telemetry.requests import REQUEST_ID

__all__ = ["FORMATS", "LEVELS", "JsonFormatter", "RequestIdFilter", "configure_logging"]

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
#: Fields of access lines (telemetry/requests.py), passed as ``extra``.
ACCESS_FIELDS = ("method", "route", "path", "status", "duration_ms")
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


class RequestIdFilter(logging.Filter):
    """Stamp each record with the request id of the request it was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "pid", "request_id"?, access fields?,
    "exception"?}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # Which process wrote it: with `server start --workers N`, N+1 share one stderr.
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [request_id={request_id}]" if request_id else text


_handler: logging.Handler | None = None


def configure_logging(log_format: str = "text", level: str = "info") -> None:
    """Send every log record to stderr in ``log_format`` from ``level`` up (replacing what an
    earlier call set up); InvalidInput for an unknown format or level."""
    global _handler
    if log_format not in FORMATS:
        raise InvalidInput(
            f"unknown log format {log_format!r}", hint="set CHAINPROOF_LOG_FORMAT to text or json"
        )
    if level.lower() not in LEVELS:
        raise InvalidInput(
            f"unknown log level {level!r}", hint=f"set CHAINPROOF_LOG_LEVEL to {', '.join(LEVELS)}"
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else _TextFormatter())
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(level.upper())
    _handler = handler
    logging.captureWarnings(True)  # Python warnings become records too: one format on stderr
    for name in _UVICORN:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        # uvicorn's access lines are replaced by ours, even where uvicorn configured its
        # loggers first (a `--workers` process sets up logging after uvicorn did).
        logger.propagate = name != "uvicorn.access"
