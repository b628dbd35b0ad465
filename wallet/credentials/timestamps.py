"""Reading the date-times credentials carry (``validFrom``, ``issuedOn``, ``exp`` …) one way everywhere.

Credentials in the wild write ISO 8601 with or without an offset, and older Open Badges write Unix
seconds. Every reader gets an aware UTC datetime or ``None``, so no comparison with ``now`` can fail on
a naive value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse_timestamp(value: Any, *, allow_epoch: bool = False) -> dt.datetime | None:
    """``value`` as an aware UTC datetime; ``None`` when it is not a date-time (or out of range).

    A string without an offset is read as UTC. Numbers (Unix seconds) are accepted only with
    ``allow_epoch``, for formats that define them (JWT claims, Open Badges 1.x/2.0 ``issuedOn``).
    """
    if allow_epoch and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
