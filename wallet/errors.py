"""Domain errors: raised by services, rendered once by the API as RFC 9457 problem+json.

The codes, statuses and titles live in :mod:`wallet_protocol.errors` so the SDK raises the same
codes as matching exception classes.
"""

from __future__ import annotations

from typing import Any

from wallet_protocol.errors import lookup


class DomainError(Exception):
    """An error a client can act on, identified by a stable ``code``."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        entry = lookup(code)
        self.code = code
        self.status = entry.status
        self.title = entry.title
        self.detail = detail or entry.title
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")
