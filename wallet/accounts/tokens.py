"""Access tokens (short-lived, signed, stateless) and refresh tokens (opaque, stored hashed).

An access token is an HS256 JWT naming the account and the device; it lives minutes, and every
request also checks that the device is not revoked, so signing a device out takes effect at once.
A refresh token is 256 random bits; only its SHA-256 is stored. A refresh that carries the client's
``idempotency_key`` gets a successor derived from the spent token and that key with a server key
(HMAC-SHA-256), so the server can re-derive it for a retry inside the grace window without ever
storing a usable token (docs/security.md, "Refresh tokens").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from wallet.errors import DomainError

_ALGORITHM = "HS256"
_AUDIENCE = "learner-wallet/api"


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    """A separate key per purpose, so a token of one kind can never pass as another."""
    return hmac.new(secret_key, purpose.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class AccessClaims:
    account_id: uuid.UUID
    device_id: uuid.UUID
    expires_at: dt.datetime


def mint_access_token(
    key: bytes, *, account_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime, ttl: dt.timedelta
) -> str:
    payload = {
        "sub": str(account_id),
        "did": str(device_id),
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def _decode(token: str, keys: tuple[bytes, ...]) -> dict[str, Any]:
    *earlier, last = keys
    for key in earlier:
        try:
            return _decode_with(token, key)
        except jwt.InvalidSignatureError:
            continue
    return _decode_with(token, last)


def _decode_with(token: str, key: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[_ALGORITHM],
        audience=_AUDIENCE,
        options={
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "require": ["sub", "did", "exp", "aud"],
        },
    )
    return payload


def read_access_token(
    key: bytes, token: str, *, now: dt.datetime, previous_keys: tuple[bytes, ...] = ()
) -> AccessClaims:
    """Check signature and expiry against ``now`` (so tests control the clock).

    ``previous_keys`` still verify during a secret-key rotation (:mod:`wallet.instance_secrets`).
    """
    try:
        payload = _decode(token, (key, *previous_keys))
        expires_at = dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC)
        claims = AccessClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["did"]), expires_at)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError) as error:
        # OverflowError/OSError: an ``exp`` no date can hold (1e20, inf) — a bad token, not a server fault.
        raise DomainError("auth.invalid_token") from error
    if claims.expires_at <= now:
        raise DomainError("auth.invalid_token", "The access token has expired; refresh it.")
    return claims


def new_refresh_token() -> str:
    return "rt_" + secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def successor_refresh_token(key: bytes, *, spent: str, idempotency_key: str) -> str:
    """The refresh token that replaces ``spent`` when the client sent ``idempotency_key``.

    Deterministic, so a retry of the same exchange (same token, same key) re-derives the same successor;
    unguessable without ``key``, and a different key gives an unrelated token.
    """
    message = f"{spent}\n{idempotency_key}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "rt_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
