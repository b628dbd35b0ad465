"""Parsing credential JSON that strangers hand us, with a depth bound.

A credential is a handful of levels deep. Python's parser raises ``RecursionError`` (not ``ValueError``)
on ~1 000 nested arrays, and JSON a little shallower than that breaks the first recursive code that walks
it (JSON-LD expansion, canonicalisation) — both used to surface as 500s. :func:`loads` turns every such
document into a ``ValueError`` up front, which the callers already report as unreadable input.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises ``ValueError`` for nesting deeper than :data:`MAX_DEPTH`.

    ``NaN``, ``Infinity`` and ``-Infinity`` (which Python's parser accepts) are refused too: they are not
    JSON (RFC 8259 §6), and a date or number that is one must never reach a comparison.
    """
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"JSON nested more than {MAX_DEPTH} levels deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value
