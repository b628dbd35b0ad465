"""Claim codes: what a learner scans or types to claim a badge (format v1, see docs/claim-codes.md).

Two things a learner can be given for a claim session:

* a **QR code** holding ``HTTPS://HOST/C/<TOKEN>``: the token is Crockford base32 of
  ``tag ‖ public id ‖ [time step] ‖ truncated HMAC-SHA256``, so it cannot be forged or altered
  without the server key, and the whole URL stays in QR alphanumeric mode (small QR versions);
* a **typed fallback** such as ``K7Q-M3X-PDR``: eight random Crockford characters plus one check
  character. It is only a random lookup key; the server maps it to a session or single-use code and
  rate-limits guesses. The check character lets a phone catch typos offline, before any request.

Invariants (the tests check each one):

1. ``parse_token(key, mint_*(key, ...))`` returns exactly what was minted.
2. A token has exactly one spelling: any changed, added or removed character is rejected.
3. Every parser here raises only :class:`InvalidClaimCode` for any input text, never anything else.
4. The fallback check character catches every single-character substitution and every transposition
   of two characters (adjacent or not); confusable characters (O/0, I/L/1, case) are not errors.
5. Nothing here reads a clock, a random source or a key store: callers pass them in.

Offline, a phone can recognise a claim URL and read its kind, public id and time step with
:func:`read_claim_url`, but it cannot check the MAC (that needs the server key) nor decide freshness:
the server judges both at redemption (:func:`scan_is_fresh`).
"""

from __future__ import annotations

import enum
import hmac
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "CLAIM_PATH_SEGMENT",
    "FALLBACK_LENGTH",
    "OFFLINE_QUEUE_LIMIT_S",
    "PUBLIC_ID_LENGTH",
    "ClaimKind",
    "InvalidClaimCode",
    "ParsedToken",
    "Reason",
    "ScannedClaim",
    "claim_url",
    "format_fallback",
    "mint_session_token",
    "mint_single_use_token",
    "new_fallback_code",
    "new_public_id",
    "normalise_fallback",
    "offline_claim_deadline",
    "parse_claim_url",
    "parse_token",
    "peek_token",
    "read_claim_url",
    "rotation_step",
    "scan_is_fresh",
    "step_is_fresh",
]

Reason = Literal["malformed", "bad_mac", "unknown_version", "bad_check", "untrusted_host"]


class InvalidClaimCode(ValueError):
    """A scanned or typed code that is not a valid claim code; ``reason`` says why, for the UI."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason


class ClaimKind(enum.Enum):
    """What a token points at: a whole claim session (shared QR) or one single-use code."""

    SESSION = "session"
    SINGLE_USE = "single_use"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    kind: ClaimKind
    public_id: str
    step: int | None
    """The rotation time step for rotating session codes; ``None`` for static and single-use codes."""


@dataclass(frozen=True, slots=True)
class ScannedClaim:
    """What a phone can learn from a scanned claim URL without the server key (nothing is verified)."""

    base_url: str
    token: str
    kind: ClaimKind
    public_id: str
    step: int | None


# --- Crockford base32 -------------------------------------------------------------------------------

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {char: value for value, char in enumerate(ALPHABET)}
_CONFUSABLE = {"O": "0", "I": "1", "L": "1"}


def _b32encode(data: bytes) -> str:
    """Big-endian bits, five per character, the last character zero-padded on the right."""
    nbits = len(data) * 8
    nchars = -(-nbits // 5)
    value = int.from_bytes(data, "big") << (nchars * 5 - nbits)
    return "".join(ALPHABET[(value >> (5 * (nchars - 1 - i))) & 31] for i in range(nchars))


def _b32decode_canonical(text: str) -> bytes:
    """Decode strict upper-case Crockford; padding bits must be zero so each value has one spelling."""
    value = 0
    for char in text:
        digit = _VALUE.get(char)
        if digit is None:
            raise InvalidClaimCode("malformed", "character outside the claim-code alphabet")
        value = (value << 5) | digit
    pad = (len(text) * 5) % 8
    if value & ((1 << pad) - 1):
        raise InvalidClaimCode("malformed", "non-canonical final character")
    return (value >> pad).to_bytes(len(text) * 5 // 8, "big")


# --- Public ids -------------------------------------------------------------------------------------

PUBLIC_ID_BYTES = 5
PUBLIC_ID_LENGTH = 8  # 40 bits, exactly eight Crockford characters


def new_public_id(randbytes: Callable[[int], bytes]) -> str:
    """A fresh short public id (40 random bits) for a claim session or single-use code.

    Ids are unique by a database constraint, not by luck: on a unique-violation the caller draws again.
    Pass ``secrets.token_bytes`` in production.
    """
    raw = randbytes(PUBLIC_ID_BYTES)
    if len(raw) != PUBLIC_ID_BYTES:
        raise ValueError(f"randbytes returned {len(raw)} bytes, expected {PUBLIC_ID_BYTES}")
    return _b32encode(raw)


def _public_id_bytes(public_id: str) -> bytes:
    if not isinstance(public_id, str) or len(public_id) != PUBLIC_ID_LENGTH:
        raise ValueError(f"a public id is {PUBLIC_ID_LENGTH} Crockford base32 characters")
    try:
        return _b32decode_canonical(public_id)
    except InvalidClaimCode as exc:
        raise ValueError(f"not a canonical public id: {public_id!r}") from exc


# --- Tokens -----------------------------------------------------------------------------------------

VERSION = 1
_TAG_SESSION = 0x11
_TAG_ROTATING = 0x12
_TAG_SINGLE_USE = 0x13
MAC_BYTES = 10  # 80 bits
_MAC_DOMAIN = b"learner-wallet/claim-token/v1\x00"
MIN_KEY_BYTES = 16
MAX_STEP = 2**32 - 1
_MAX_TEXT = 4096  # anything longer is not a claim code; refuse before doing work on it

_BODY_BYTES = {_TAG_SESSION: 1 + PUBLIC_ID_BYTES, _TAG_ROTATING: 1 + PUBLIC_ID_BYTES + 4}
_BODY_BYTES[_TAG_SINGLE_USE] = _BODY_BYTES[_TAG_SESSION]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the claim-code key must be at least {MIN_KEY_BYTES} bytes (use 32 random bytes)")


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _MAC_DOMAIN + body, sha256).digest()[:MAC_BYTES]


def _seal(key: bytes, body: bytes) -> str:
    _check_key(key)
    return _b32encode(body + _mac(key, body))


def mint_session_token(key: bytes, *, session_public_id: str, step: int | None) -> str:
    """The token for a shared session QR: static when ``step`` is None, rotating otherwise.

    ``step`` is :func:`rotation_step` of the moment the display page asked for the code.
    """
    body = bytes([_TAG_SESSION]) + _public_id_bytes(session_public_id)
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            raise ValueError(f"step must be an integer in 0..{MAX_STEP}")
        body = bytes([_TAG_ROTATING]) + body[1:] + step.to_bytes(4, "big")
    return _seal(key, body)


def mint_single_use_token(key: bytes, *, code_public_id: str) -> str:
    """The token printed on one single-use card."""
    return _seal(key, bytes([_TAG_SINGLE_USE]) + _public_id_bytes(code_public_id))


def _split_token(token: object) -> tuple[bytes, bytes, ParsedToken]:
    """Check a token's layout (not its MAC): returns the MAC'd body, the MAC and the parsed fields."""
    if not isinstance(token, str) or not 2 <= len(token) <= 64:
        raise InvalidClaimCode("malformed", "wrong length")
    if any(char not in _VALUE for char in token[:2]):
        raise InvalidClaimCode("malformed", "character outside the claim-code alphabet")
    tag = (_VALUE[token[0]] << 3) | (_VALUE[token[1]] >> 2)
    if tag >> 4 != VERSION:
        raise InvalidClaimCode("unknown_version", f"version {tag >> 4}")
    body_len = _BODY_BYTES.get(tag)
    if body_len is None:
        raise InvalidClaimCode("malformed", "unknown kind")
    if len(token) != -(-(body_len + MAC_BYTES) * 8 // 5):
        raise InvalidClaimCode("malformed", "wrong length")
    raw = _b32decode_canonical(token)
    body, mac = raw[:body_len], raw[body_len:]
    public_id = _b32encode(body[1 : 1 + PUBLIC_ID_BYTES])
    if tag == _TAG_SINGLE_USE:
        return body, mac, ParsedToken(ClaimKind.SINGLE_USE, public_id, None)
    step = int.from_bytes(body[1 + PUBLIC_ID_BYTES :], "big") if tag == _TAG_ROTATING else None
    return body, mac, ParsedToken(ClaimKind.SESSION, public_id, step)


def peek_token(token: str) -> ParsedToken:
    """Read a token's fields WITHOUT checking its MAC: for offline phones and logs, never to grant."""
    return _split_token(token)[2]


def parse_token(key: bytes, token: str, *, previous_keys: Sequence[bytes] = ()) -> ParsedToken:
    """Verify and read a token; the server calls this before looking anything up.

    ``previous_keys`` lets the operator rotate the key: tokens minted with an older key still verify
    until it is dropped from the list. Raises :class:`InvalidClaimCode` (``malformed``,
    ``unknown_version`` or ``bad_mac``) for any bad token; ``ValueError`` only for a bad key.
    """
    _check_key(key)
    for old in previous_keys:
        _check_key(old)
    body, mac, parsed = _split_token(token)
    if not any(hmac.compare_digest(mac, _mac(k, body)) for k in (key, *previous_keys)):
        raise InvalidClaimCode("bad_mac")
    return parsed


# --- URLs -------------------------------------------------------------------------------------------

CLAIM_PATH_SEGMENT = "C"


def _split_base_url(base_url: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) of a base URL, lower-cased scheme and host; path without trailing '/'."""
    try:
        parts = urlsplit(base_url.strip())
        parts.port  # noqa: B018 -- validates the port, raising ValueError when it is not a number
    except ValueError as exc:
        raise ValueError(f"not a usable base URL: {base_url!r}") from exc
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise ValueError(f"the base URL must be http(s)://host[:port][/path], got {base_url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"the base URL must not carry a query, fragment or user info: {base_url!r}")
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")


def claim_url(base_url: str, token: str) -> str:
    """The URL to put in the QR code: ``HTTPS://HOST/C/<TOKEN>``.

    Scheme and host are upper-cased (both are case-insensitive) so that, with no base path, every
    character is in the QR alphanumeric set and the code stays small. A base path is kept as given
    (paths are case-sensitive); the server must route ``/C/<token>`` under it (and ``/c/<token>``).
    """
    scheme, netloc, path = _split_base_url(base_url)
    peek_token(token)
    return f"{scheme.upper()}://{netloc.upper()}{path}/{CLAIM_PATH_SEGMENT}/{token}"


def _same_base(scheme: str, netloc: str, path: str, base_url: str) -> bool:
    return (scheme, netloc, path) == _split_base_url(base_url)


def read_claim_url(text: str, *, trusted_base_urls: Sequence[str] = ()) -> ScannedClaim:
    """Recognise a scanned claim URL offline and read it, without the key.

    With ``trusted_base_urls`` (the SDK should always pass its server's), a URL for any other host
    raises ``untrusted_host``: a forged poster pointing elsewhere is refused before any request.
    Scheme, host and the ``c`` path segment may be any case; the token must be canonical.
    """
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise InvalidClaimCode("malformed", "not a claim URL")
    try:
        parts = urlsplit(text.strip())
        parts.port  # noqa: B018 -- validates the port, raising ValueError when it is not a number
    except ValueError as exc:
        raise InvalidClaimCode("malformed", "not a URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidClaimCode("malformed", "not a claim URL")
    base_path, sep, tail = parts.path.rpartition("/")
    prefix, sep2, segment = base_path.rpartition("/")
    if not (sep and sep2 and segment.upper() == CLAIM_PATH_SEGMENT):
        raise InvalidClaimCode("malformed", "not a claim URL")
    netloc = parts.netloc.lower()
    if trusted_base_urls and not any(_same_base(scheme, netloc, prefix, base) for base in trusted_base_urls):
        raise InvalidClaimCode("untrusted_host", parts.hostname)
    parsed = peek_token(tail)
    return ScannedClaim(f"{scheme}://{netloc}{prefix}", tail, parsed.kind, parsed.public_id, parsed.step)


def parse_claim_url(text: str, *, trusted_base_urls: Sequence[str] = ()) -> str:
    """The token in a scanned claim URL (layout checked, MAC not): see :func:`read_claim_url`."""
    return read_claim_url(text, trusted_base_urls=trusted_base_urls).token


# --- Rotation ---------------------------------------------------------------------------------------


def rotation_step(now_unix: float, period_s: int) -> int:
    """The rotation step at ``now_unix``: the display page shows a new QR each time this changes."""
    if isinstance(period_s, bool) or not isinstance(period_s, int) or period_s < 1:
        raise ValueError("period_s must be a positive whole number of seconds")
    if not (math.isfinite(now_unix) and now_unix >= 0):
        raise ValueError("now_unix must be a finite, non-negative number")
    return int(now_unix // period_s)


def step_is_fresh(step: int, *, now_unix: float, period_s: int, grace_steps: int) -> bool:
    """Whether a rotating code's step is still acceptable at ``now_unix``.

    Accepted: the current step, the ``grace_steps`` before it (a learner who scanned just before the
    display changed), and one step ahead (clock skew between the server that drew the display and the
    one that redeems). A forwarded photo stops working ``grace_steps + 1`` periods after it was shown.
    """
    if grace_steps < 0:
        raise ValueError("grace_steps must not be negative")
    current = rotation_step(now_unix, period_s)
    return current - grace_steps <= step <= current + 1


MAX_SCAN_CLOCK_SKEW_S = 300

OFFLINE_QUEUE_LIMIT_S = 12 * 3600
"""How long a claim scanned (or typed) offline may wait on the phone before the server refuses it as
``claim.expired_code`` (docs/claims.md, offline rule 2). Apps say so to the learner while it waits."""


def offline_claim_deadline(scanned_at: float) -> float:
    """The last moment (Unix seconds, the phone's clock) a claim scanned at ``scanned_at`` can still be redeemed."""
    return scanned_at + OFFLINE_QUEUE_LIMIT_S


def scan_is_fresh(
    step: int,
    *,
    scanned_at: float | None,
    received_at: float,
    period_s: int,
    grace_steps: int,
    max_queue_s: float,
) -> bool:
    """The server's rule for a rotating code that may have been scanned offline and queued.

    ``scanned_at`` is the phone's own clock at scan time (``None`` when redeemed straight away), and
    ``received_at`` the server's clock. The step must be fresh at ``scanned_at``; ``scanned_at`` must
    lie no more than ``max_queue_s`` before ``received_at`` and not after it (allowing
    :data:`MAX_SCAN_CLOCK_SKEW_S` of phone clock error). ``scanned_at`` is the learner's claim, not
    proof: it only stretches the window to ``max_queue_s``; the server must still require the claim
    session to be open at ``scanned_at`` and should keep ``max_queue_s`` short (the session's length).
    """
    if scanned_at is None:
        return step_is_fresh(step, now_unix=received_at, period_s=period_s, grace_steps=grace_steps)
    if not received_at - max_queue_s <= scanned_at <= received_at + MAX_SCAN_CLOCK_SKEW_S:
        return False
    return step_is_fresh(step, now_unix=max(scanned_at, 0.0), period_s=period_s, grace_steps=grace_steps)


# --- Typed fallback ---------------------------------------------------------------------------------

FALLBACK_DATA_LENGTH = 8  # 40 random bits
FALLBACK_LENGTH = FALLBACK_DATA_LENGTH + 1
_CHECK_MODULUS = 37  # prime > 32, so every difference of two character values is invertible
_SEPARATORS = frozenset(" \t\r\n-_.\u2010\u2011\u2012\u2013\u2014\u00a0")


def _weighted_sum(values: Sequence[int]) -> int:
    """Σ (i+1)·vᵢ mod 37: weights are distinct and non-zero mod 37, hence invariant 4."""
    return sum((i + 1) * v for i, v in enumerate(values)) % _CHECK_MODULUS


def _check_value(data_values: Sequence[int]) -> int:
    """The check value c with Σ (i+1)·vᵢ + 9·c ≡ 0 (mod 37); may be ≥ 32 (then the code is redrawn)."""
    weight = FALLBACK_LENGTH
    return (-_weighted_sum(data_values) * pow(weight, -1, _CHECK_MODULUS)) % _CHECK_MODULUS


def new_fallback_code(randbytes: Callable[[int], bytes]) -> str:
    """A fresh typed fallback code, canonical form (nine characters, no separators).

    Draws 40 random bits and appends the check character; draws whose check value falls outside the
    32-character alphabet (5 in 37) are discarded, so every code is typable with letters and digits.
    """
    for _ in range(200):
        raw = randbytes(5)
        if len(raw) != 5:
            raise ValueError(f"randbytes returned {len(raw)} bytes, expected 5")
        data = _b32encode(raw)
        check = _check_value([_VALUE[c] for c in data])
        if check < len(ALPHABET):
            return data + ALPHABET[check]
    raise ValueError("randbytes keeps returning codes without a typable check character")


def normalise_fallback(text: str) -> str:
    """The canonical form of a typed code, checked offline: ``"k7q m3x-pdr"`` → ``"K7QM3XPDR"``.

    Case, spaces, hyphens and dots are ignored; O is read as 0 and I/L as 1. Raises
    ``InvalidClaimCode("malformed")`` for wrong length or characters and ``("bad_check")`` for a typo.
    """
    if not isinstance(text, str) or len(text) > 64:
        raise InvalidClaimCode("malformed", "not a claim code")
    chars: list[str] = []
    for char in text:
        if char in _SEPARATORS:
            continue
        if not char.isascii():
            raise InvalidClaimCode("malformed", "character outside the claim-code alphabet")
        upper = char.upper()
        upper = _CONFUSABLE.get(upper, upper)
        if upper not in _VALUE:
            raise InvalidClaimCode("malformed", "character outside the claim-code alphabet")
        chars.append(upper)
    if len(chars) != FALLBACK_LENGTH:
        raise InvalidClaimCode("malformed", f"a claim code has {FALLBACK_LENGTH} characters")
    if _weighted_sum([_VALUE[c] for c in chars]) != 0:
        raise InvalidClaimCode("bad_check", "check character does not match; a character was mistyped")
    return "".join(chars)


def format_fallback(code: str) -> str:
    """The code as printed and shown: three groups of three, ``K7Q-M3X-PDR``."""
    canonical = normalise_fallback(code)
    return "-".join(canonical[i : i + 3] for i in range(0, FALLBACK_LENGTH, 3))
