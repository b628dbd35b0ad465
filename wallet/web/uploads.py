"""Uploads larger than the app-wide body limit, on the few routes that take files.

``MAX_CONTENT_LENGTH`` (``max_request_bytes``) keeps every other route's bodies small; a view marked
with :func:`max_body` gets its own limit, applied by the app's first request hook before anything reads
the body (the NUL check reads forms), so an over-large upload is still a clean 413.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import request

View = TypeVar("View", bound=Callable[..., Any])


def max_body(limit: int) -> Callable[[View], View]:
    """Let this view take request bodies of up to ``limit`` bytes."""

    def decorator(view: View) -> View:
        view._wallet_max_body = limit  # type: ignore[attr-defined]
        return view

    return decorator


def apply_body_limit(view: Callable[..., Any] | None) -> None:
    """Raise this request's body limit to the view's own, if it declared one."""
    limit = getattr(view, "_wallet_max_body", None)
    if limit:
        request.max_content_length = limit
