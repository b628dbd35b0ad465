"""Slowing down anyone who tries slugs at random.

Slugs carry 192 bits, so enumeration cannot succeed; the limit is defence in depth and keeps such noise
out of the database. It counts *misses* (requests under ``/s/`` for a slug that does not exist) per client
address in fixed windows; an address over the limit gets 429 for every ``/s/`` request until its window
ends, valid slugs included, so a guesser learns nothing from the answers.

The counters live in process memory: with several worker processes each keeps its own, so the effective
limit is ``limit * workers`` — still a few hundred guesses per window against 2**192. Moving them to the
database or a shared cache changes nothing for callers. Memory is bounded: at most :data:`MAX_TRACKED`
addresses are remembered, the oldest forgotten first.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

MISS_LIMIT = 30
WINDOW = dt.timedelta(minutes=10)
MAX_TRACKED = 10_000


class MissLimiter:
    def __init__(
        self, *, limit: int = MISS_LIMIT, window: dt.timedelta = WINDOW, max_tracked: int = MAX_TRACKED
    ) -> None:
        self.limit = limit
        self.window = window
        self._max = max_tracked
        self._counts: OrderedDict[str, tuple[dt.datetime, int]] = OrderedDict()
        self._lock = threading.Lock()

    def _current(self, client: str, now: dt.datetime) -> tuple[dt.datetime, int]:
        started, count = self._counts.get(client, (now, 0))
        if now - started >= self.window:
            return now, 0
        return started, count

    def retry_after(self, client: str, *, now: dt.datetime) -> int | None:
        """Seconds until ``client`` may try again, or ``None`` if it is not blocked."""
        with self._lock:
            started, count = self._current(client, now)
            if count < self.limit:
                return None
            return max(1, int((started + self.window - now).total_seconds()))

    def record_miss(self, client: str, *, now: dt.datetime) -> None:
        with self._lock:
            started, count = self._current(client, now)
            self._counts[client] = (started, count + 1)
            self._counts.move_to_end(client)
            while len(self._counts) > self._max:
                self._counts.popitem(last=False)
