"""JSON logs, one object per line, with the event id when there is one.

A line written while a request is answered carries its ``request_id``; one written inside
a trace carries its ``trace_id``.

Query-string values of parameters that carry credentials (``?token=``, ``crc_token``,
``hub.verify_token``, signatures...) are replaced by ``[redacted]`` in every line, so an
access log or a client's request log never holds a usable token.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from shared import tracing
from shared.request_log import current_request

__all__ = ["configure_logging", "redact_query_secrets"]

REDACTED = "[redacted]"
#: A query parameter: its separator, its name and its value.
_QUERY_PARAMETER = re.compile(r"(?P<lead>[?&;](?P<name>[^=&;\s\"'#?]+)=)(?P<value>[^&;\s\"'#]*)")
#: Names that carry a credential wherever they appear in a parameter's name.
_SENSITIVE_PARTS = ("token", "secret", "password", "passwd", "signature", "api_key", "apikey")
#: Names that carry a credential only as a whole (``key``, not ``monkey``).
_SENSITIVE_NAMES = frozenset({"sig", "key", "auth", "authorization", "code", "jwt", "session"})

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _is_sensitive(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SENSITIVE_NAMES or any(part in lowered for part in _SENSITIVE_PARTS)


def redact_query_secrets(text: str) -> str:
    """``text`` with the values of credential-bearing query parameters replaced.

    ``/chat/stream?token=abc&after=3`` becomes ``/chat/stream?token=[redacted]&after=3``.
    """
    if "=" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if not match["value"] or not _is_sensitive(match["name"]):
            return match[0]
        return f"{match['lead']}{REDACTED}"

    return _QUERY_PARAMETER.sub(replace, text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": redact_query_secrets(record.getMessage()),
        }
        request = current_request()
        if request is not None:
            entry["request_id"] = request.request_id
        trace_id = tracing.current_trace_id()
        if trace_id is not None:
            entry["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = redact_query_secrets(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact_query_secrets(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, level: str = "INFO", *, access_log: bool = True) -> None:
    """Send every log record to stderr as JSON tagged with the service name.

    ``access_log`` keeps uvicorn's line per request (its query's credentials redacted).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka logs every reconnect attempt at ERROR; keep them, but not twice.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.INFO if access_log else logging.WARNING)
