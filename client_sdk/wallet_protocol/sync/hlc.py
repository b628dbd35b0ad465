"""Hybrid logical clocks (Kulkarni et al. 2014, "Logical Physical Clocks") for last-writer-wins fields.

A stamp is ``(physical_ms, counter, node)``. Its text form ``"{physical_ms:013d}-{counter:04d}-{node}"``
sorts lexicographically exactly like the tuple (fixed-width numbers, ASCII-only node), so a
Kotlin, Swift or JS client and a database index can compare stamps as plain strings.

Why a hybrid clock (docs/sync.md, I8 "causal LWW"): every replica stamps a local write with
:func:`send` and ratchets its clock with :func:`receive` on every stamp it sees (the ``server_hlc``
of every sync response, and every stamp in pulled rows). A write made after observing write ``w``
therefore carries a larger stamp than ``w`` and wins everywhere, however wrong the device's wall
clock is. The node part makes stamps unique across replicas, so LWW ties cannot happen between
honest replicas.

The wall clock is passed in as ``now_ms``; nothing here reads the time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PHYSICAL_MS = 10**13 - 1
"""The largest physical part the 13-digit text form can hold (year 2286)."""
MAX_COUNTER = 9999
"""The largest counter the 4-digit text form can hold; one more advances ``physical_ms`` by 1 ms."""
MAX_FUTURE_MS = 5 * 60 * 1000
"""How far ahead of the receiver's wall clock a stamp may be before it is refused (``hlc.clock_skew``)."""
MAX_NODE_LENGTH = 64

_NODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_STAMP = re.compile(r"([0-9]{13})-([0-9]{4})-([A-Za-z0-9_.:-]{1,64})")


class InvalidHlc(ValueError):
    """A stamp's text is not in the canonical ``"{ms:013d}-{counter:04d}-{node}"`` form."""


class ClockSkew(ValueError):
    """A stamp lies further in the future than :data:`MAX_FUTURE_MS` allows."""

    def __init__(self, stamp: Hlc, *, now_ms: int) -> None:
        super().__init__(f"stamp {stamp} is {stamp.physical_ms - now_ms} ms ahead of the receiver")
        self.stamp = stamp
        self.now_ms = now_ms


def is_valid_node(node: object) -> bool:
    """Whether ``node`` may appear in a stamp or a dot: 1-64 ASCII letters, digits or ``_.:-``."""
    return isinstance(node, str) and _NODE.fullmatch(node) is not None


@dataclass(frozen=True, order=True, slots=True)
class Hlc:
    """One stamp. Ordering compares ``(physical_ms, counter, node)``, which equals text order."""

    physical_ms: int
    counter: int
    node: str

    def __post_init__(self) -> None:
        if not (
            isinstance(self.physical_ms, int)
            and not isinstance(self.physical_ms, bool)
            and 0 <= self.physical_ms <= MAX_PHYSICAL_MS
        ):
            raise InvalidHlc(f"physical_ms out of range: {self.physical_ms!r}")
        if not (
            isinstance(self.counter, int) and not isinstance(self.counter, bool) and 0 <= self.counter <= MAX_COUNTER
        ):
            raise InvalidHlc(f"counter out of range: {self.counter!r}")
        if not is_valid_node(self.node):
            raise InvalidHlc(f"invalid node: {self.node!r}")

    def __str__(self) -> str:
        return f"{self.physical_ms:013d}-{self.counter:04d}-{self.node}"

    @classmethod
    def parse(cls, text: object) -> Hlc:
        """The stamp written as ``text``; raises :class:`InvalidHlc` for anything not canonical."""
        if not isinstance(text, str) or len(text) > 20 + MAX_NODE_LENGTH:
            raise InvalidHlc("a stamp is a string of at most 84 characters")
        match = _STAMP.fullmatch(text)
        if match is None:
            raise InvalidHlc(f"not a stamp: {text[:100]!r}")
        return cls(int(match[1]), int(match[2]), match[3])


def is_valid_stamp(text: object) -> bool:
    """Whether ``text`` parses as a stamp (a cheap check for validators)."""
    try:
        Hlc.parse(text)
    except InvalidHlc:
        return False
    return True


def _advance(physical_ms: int, counter: int, node: str) -> Hlc:
    """A stamp at ``(physical_ms, counter)``, carrying counter overflow into the next millisecond."""
    if counter > MAX_COUNTER:
        physical_ms, counter = physical_ms + 1, 0
    return Hlc(physical_ms, counter, node)


def send(last: Hlc | None, *, now_ms: int, node: str) -> Hlc:
    """The stamp for a new local event: strictly greater than ``last`` and never behind ``now_ms``.

    HLC send rule: ``l' = max(l, pt)``; the counter resets when the wall clock moved past ``l`` and
    increments otherwise (so a clock that jumps backwards still yields increasing stamps).
    """
    now_ms = max(0, now_ms)
    if last is None or now_ms > last.physical_ms:
        return Hlc(now_ms, 0, node)
    return _advance(last.physical_ms, last.counter + 1, node)


def receive(last: Hlc | None, remote: Hlc, *, now_ms: int, node: str) -> Hlc:
    """The local clock after observing ``remote``: strictly greater than both ``last`` and ``remote``.

    HLC receive rule: ``l' = max(l, l_m, pt)``; the counter continues from whichever inputs share
    ``l'``. Callers check :func:`check_not_future` first when ``remote`` comes from an untrusted peer;
    otherwise one far-future stamp would drag this clock (and every later write) into the future.
    """
    now_ms = max(0, now_ms)
    local_ms = -1 if last is None else last.physical_ms
    top = max(local_ms, remote.physical_ms, now_ms)
    if top == local_ms and top == remote.physical_ms:
        assert last is not None
        counter = max(last.counter, remote.counter) + 1
    elif top == local_ms:
        assert last is not None
        counter = last.counter + 1
    elif top == remote.physical_ms:
        counter = remote.counter + 1
    else:
        counter = 0
    return _advance(top, counter, node)


def check_not_future(stamp: Hlc, *, now_ms: int, max_future_ms: int = MAX_FUTURE_MS) -> None:
    """Raise :class:`ClockSkew` when ``stamp`` is more than ``max_future_ms`` ahead of ``now_ms``.

    Why: a device whose clock runs days ahead would otherwise win every LWW conflict for days
    (docs/sync.md, I8). The refused op was never applied, so the client may re-stamp it after
    ratcheting its clock with the ``server_hlc`` it received.
    """
    if stamp.physical_ms > now_ms + max_future_ms:
        raise ClockSkew(stamp, now_ms=now_ms)
