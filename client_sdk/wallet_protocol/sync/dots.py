"""Dots and the add-wins observed-remove set (OR-Set) that every membership in the wallet uses.

A *dot* ``(node, n)`` names one add: ``node`` is the client id that made it and ``n`` that client's
``op_seq`` for the op, so dots are unique without coordination. An element is present while it has a
live dot. A remove carries the dots its author *observed*; those move to ``removed``. A concurrent add
has a dot the remover never saw, so it survives: **add wins** (docs/sync.md, I9). Removed dots are
kept (tombstones) so that a late duplicate of a removed add cannot resurrect it (I2), until the server
purges them below its GC horizon (I10).

The state is a join-semilattice: ``join`` is commutative, associative and idempotent (I1, I3), and
``add``/``remove`` are joins with a delta, so applying ops in any order or any number of times gives
the same state (Shapiro et al. 2011; the state-based OR-Set of Gomes, Kleppmann et al. 2017).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .hlc import is_valid_node

Dot = tuple[str, int]
MAX_DOT_COUNTER = 2**53 - 1
"""Dots and op sequence numbers stay within JavaScript's safe integers."""


def is_valid_dot(dot: object) -> bool:
    """Whether ``dot`` is a ``(node, n)`` pair with a valid node and ``1 <= n < 2**53``."""
    return (
        isinstance(dot, tuple)
        and len(dot) == 2
        and is_valid_node(dot[0])
        and isinstance(dot[1], int)
        and not isinstance(dot[1], bool)
        and 1 <= dot[1] <= MAX_DOT_COUNTER
    )


def dots_to_wire(dots: Iterable[Dot]) -> list[list[str | int]]:
    """Dots as sorted ``[[node, n], ...]`` — sorted so equal sets serialise to equal JSON."""
    return [[node, n] for node, n in sorted(dots)]


def dot_from_wire(value: object) -> Dot:
    """A dot from its ``[node, n]`` wire form; raises ``ValueError`` when malformed."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("a dot is a [node, n] pair")
    dot = (value[0], value[1])
    if not is_valid_dot(dot):
        raise ValueError(f"invalid dot: {str(value)[:100]}")
    return dot  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class OrSet:
    """The state of one element's membership: ``live`` dots and ``removed`` (tombstoned) dots.

    Construction removes ``removed`` from ``live``, so ``live ∩ removed = ∅`` always holds.
    """

    live: frozenset[Dot] = frozenset()
    removed: frozenset[Dot] = frozenset()

    def __post_init__(self) -> None:
        live, removed = frozenset(self.live), frozenset(self.removed)
        object.__setattr__(self, "removed", removed)
        object.__setattr__(self, "live", live - removed)

    @property
    def present(self) -> bool:
        return bool(self.live)

    def join(self, other: OrSet) -> OrSet:
        """Least upper bound: union of removed dots; union of live dots minus every removed dot."""
        if self == other:
            return self
        return OrSet(self.live | other.live, self.removed | other.removed)

    def add(self, dot: Dot) -> OrSet:
        """Join with a single new dot (a no-op if the dot was already removed: no resurrection)."""
        return self.join(OrSet(frozenset((dot,))))

    def remove(self, observed: Iterable[Dot]) -> OrSet:
        """Join with the observed dots as removed; dots not observed survive (add-wins)."""
        return self.join(OrSet(frozenset(), frozenset(observed)))
