"""Fractional indexing: order keys that let any replica insert between two neighbours offline.

A port of David Greenspan's algorithm as published in rocicorp/fractional-indexing (CC0), with the
same base-62 alphabet, so a JS client can use that package unchanged and a Kotlin/Swift client can
port it line by line (the vectors in ``client_sdk/tests/protocol/test_fractional.py`` are the
library's own). A key is an *integer part* (a head letter ``a``-``z`` / ``A``-``Z`` giving its
length, then that many digits) followed by a *fraction* without trailing ``"0"``. Keys compare as
plain strings (ASCII code-point order).

Deterministic (no jitter): two replicas inserting into the same gap concurrently may produce the
same key; lists therefore sort by ``(order_key, id)`` (docs/sync.md, I13), which is total and the
same on every replica.
"""

from __future__ import annotations

from collections.abc import Sequence

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MAX_KEY_LENGTH = 128
"""Longest key the protocol accepts (``op.bad_order_key`` beyond); rebalance lists before reaching it."""

_ZERO = DIGITS[0]
_SMALLEST_INTEGER = "A" + _ZERO * 26
_DIGIT_SET = frozenset(DIGITS)


class InvalidOrderKey(ValueError):
    """A key is malformed, or ``a >= b`` was passed to :func:`key_between`."""


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise InvalidOrderKey(f"invalid order key head: {head}")


def _integer_part(key: str) -> str:
    length = _integer_length(key[0])
    if length > len(key):
        raise InvalidOrderKey(f"invalid order key: {key}")
    return key[:length]


def validate_key(key: object) -> str:
    """``key`` itself if it is a well-formed order key, else :class:`InvalidOrderKey`."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidOrderKey("an order key is a non-empty string of at most 128 characters")
    if key == _SMALLEST_INTEGER:
        raise InvalidOrderKey(f"invalid order key: {key}")
    integer = _integer_part(key)
    if any(ch not in _DIGIT_SET for ch in key[1:]):
        raise InvalidOrderKey(f"invalid order key: {key}")
    if key[len(integer) :].endswith(_ZERO):
        raise InvalidOrderKey(f"invalid order key: {key}")
    return key


def is_valid_key(key: object) -> bool:
    try:
        validate_key(key)
    except InvalidOrderKey:
        return False
    return True


def _midpoint(a: str, b: str | None) -> str:
    """A digit string strictly between fractions ``a`` and ``b`` (``None`` = 1)."""
    if b is not None and a >= b:
        raise InvalidOrderKey(f"{a} >= {b}")
    if a.endswith(_ZERO) or (b and b.endswith(_ZERO)):
        raise InvalidOrderKey("trailing zero")
    if b:
        n = 0
        while (a[n] if n < len(a) else _ZERO) == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    digit_a = DIGITS.index(a[0]) if a else 0
    digit_b = DIGITS.index(b[0]) if b is not None else len(DIGITS)
    if digit_b - digit_a > 1:
        return DIGITS[(digit_a + digit_b + 1) // 2]
    if b and len(b) > 1:
        return b[:1]
    return DIGITS[digit_a] + _midpoint(a[1:], None)


def _increment_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    carry = True
    for i in range(len(digits) - 1, -1, -1):
        d = DIGITS.index(digits[i]) + 1
        if d == len(DIGITS):
            digits[i] = _ZERO
        else:
            digits[i] = DIGITS[d]
            carry = False
            break
    if not carry:
        return head + "".join(digits)
    if head == "Z":
        return "a" + _ZERO
    if head == "z":
        return None
    new_head = chr(ord(head) + 1)
    if new_head > "a":
        digits.append(_ZERO)
    else:
        digits.pop()
    return new_head + "".join(digits)


def _decrement_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    borrow = True
    for i in range(len(digits) - 1, -1, -1):
        d = DIGITS.index(digits[i]) - 1
        if d == -1:
            digits[i] = DIGITS[-1]
        else:
            digits[i] = DIGITS[d]
            borrow = False
            break
    if not borrow:
        return head + "".join(digits)
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    new_head = chr(ord(head) - 1)
    if new_head < "Z":
        digits.append(DIGITS[-1])
    else:
        digits.pop()
    return new_head + "".join(digits)


def key_between(a: str | None, b: str | None) -> str:
    """A key strictly between ``a`` and ``b`` (``None`` = list start / end), shortest-ish and deterministic.

    Raises :class:`InvalidOrderKey` if a key is malformed or ``a >= b``. Appending after the last
    key grows keys logarithmically (``a0``, ``a1`` … ``az``, ``b00`` …).
    """
    if a is not None:
        validate_key(a)
    if b is not None:
        validate_key(b)
    if a is not None and b is not None and a >= b:
        raise InvalidOrderKey(f"{a} >= {b}")
    if a is None:
        if b is None:
            return "a" + _ZERO
        ib = _integer_part(b)
        fb = b[len(ib) :]
        if ib == _SMALLEST_INTEGER:
            return ib + _midpoint("", fb)
        if ib < b:
            return ib
        decremented = _decrement_integer(ib)
        if decremented is None:
            raise InvalidOrderKey("cannot decrement any more")
        return decremented
    if b is None:
        ia = _integer_part(a)
        fa = a[len(ia) :]
        incremented = _increment_integer(ia)
        return ia + _midpoint(fa, None) if incremented is None else incremented
    ia = _integer_part(a)
    fa = a[len(ia) :]
    ib = _integer_part(b)
    fb = b[len(ib) :]
    if ia == ib:
        return ia + _midpoint(fa, fb)
    incremented = _increment_integer(ia)
    if incremented is None:
        raise InvalidOrderKey("cannot increment any more")
    if incremented < b:
        return incremented
    return ia + _midpoint(fa, None)


def keys_between(a: str | None, b: str | None, n: int) -> list[str]:
    """``n`` distinct sorted keys strictly between ``a`` and ``b`` (for moving or importing many items)."""
    if n <= 0:
        return []
    if n == 1:
        return [key_between(a, b)]
    if b is None:
        keys = [key_between(a, None)]
        for _ in range(n - 1):
            keys.append(key_between(keys[-1], None))
        return keys
    if a is None:
        keys = [key_between(None, b)]
        for _ in range(n - 1):
            keys.append(key_between(None, keys[-1]))
        keys.reverse()
        return keys
    mid = n // 2
    c = key_between(a, b)
    return [*keys_between(a, c, mid), c, *keys_between(c, b, n - mid - 1)]


def key_for_position(ordered_keys: Sequence[str | None], index: int) -> str:
    """A key that places a new item at ``index`` of a list whose current keys are ``ordered_keys``.

    ``ordered_keys`` is the list as displayed, sorted by ``(order_key, id)``; ``None`` entries
    (never ordered) sort last. When neighbours share a key (two replicas inserted into the same gap),
    the new key goes between the previous key and the next *distinct* key (reference design §3), so
    it lands after every item holding the previous key. When the slot is among unkeyed items, the
    new key goes after the last keyed item.
    """
    if not 0 <= index <= len(ordered_keys):
        raise IndexError(index)
    prev = next((k for k in reversed(ordered_keys[:index]) if k is not None), None)
    nxt = next((k for k in ordered_keys[index:] if k is not None and (prev is None or k > prev)), None)
    return key_between(prev, nxt)
