"""Structured logs: one JSON object per line, each carrying the request id.

The request id comes from ``X-Request-Id`` when a proxy set a sane one, else it is generated; it is
echoed in the response header and in problem bodies, so a learner's screenshot of an error leads
an operator straight to the log line. Secrets never reach the log: only method, path (no query
string, which may hold tokens), status and timing are logged per request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from flask import g, has_request_context

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_FIELDS = ("method", "path", "status", "duration_ms", "event", "job")


def sane_request_id(candidate: str | None) -> str | None:
    return candidate if candidate and _SANE_ID.match(candidate) else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context() and g.get("request_id"):
            entry["request_id"] = g.request_id
        for key in _FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    """The same fields as :class:`JsonFormatter`, as ``key=value`` pairs for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{key}={getattr(record, key)}" for key in _FIELDS if hasattr(record, key)]
        if has_request_context() and g.get("request_id"):
            fields.append(f"request_id={g.request_id}")
        return " ".join([line, *fields])


def configure(level: str, *, as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    text = TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter() if as_json else text)
    logger = logging.getLogger("wallet")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
