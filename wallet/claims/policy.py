"""What the claim services need from the outside world, and the limits they enforce.

:class:`ClaimConfig` carries keys and addresses so services never reach for the app: build it once per
process with :func:`claim_config` (the API, the pages, the sync action handler and the CLI all do).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wallet_protocol.claim_codes import OFFLINE_QUEUE_LIMIT_S

from wallet.accounts.tokens import derive_key

ROTATION_GRACE_STEPS = 2
"""A rotating QR keeps working for two more periods after the display moved on (scanned just in time)."""

OFFLINE_QUEUE_LIMIT = dt.timedelta(seconds=OFFLINE_QUEUE_LIMIT_S)
"""How long a claim scanned offline may wait in a phone's queue (docs/claims.md, offline rule 2)."""

PIN_FAILURES_PER_LEARNER = 5
"""Wrong PINs one learner (or one pre-authorized code) may type in a window before it is locked out."""
PIN_FAILURES_PER_CLIENT = 10
"""Wrong PINs from one client address over OpenID4VCI, however many pre-authorized codes it fetched."""
PIN_FAILURES_PER_SESSION = 50
"""Wrong PINs from everyone: past this the session brakes standards wallets (never signed-in learners)."""
PIN_FAILURE_WINDOW = dt.timedelta(minutes=15)
PIN_LOCKOUT = dt.timedelta(minutes=15)

STALE_PENDING_AFTER = dt.timedelta(days=14)
"""Pending claims nobody approved this long after the session ended expire (and free nothing: it ended)."""

DISPLAY_LINK_TTL = dt.timedelta(hours=12)
MAX_SINGLE_USE_CODES = 500
MAX_CAP = 100_000


@dataclass(frozen=True)
class ClaimConfig:
    code_key: bytes
    """MAC key for claim tokens (``wallet_protocol.claim_codes``)."""
    pin_key: bytes
    seal_key: bytes
    display_key: bytes
    kek: bytes
    """Key-encryption key that unlocks the organisation's signing key when a credential is issued."""
    base_url: str


def claim_config(*, secret_key: bytes, key_encryption_key: bytes, base_url: str) -> ClaimConfig:
    return ClaimConfig(
        code_key=derive_key(secret_key, "claim-codes"),
        pin_key=derive_key(secret_key, "claim-pin"),
        seal_key=derive_key(secret_key, "claim-pin-seal"),
        display_key=derive_key(secret_key, "claim-display"),
        kek=key_encryption_key,
        base_url=base_url,
    )


def hash_pin(config: ClaimConfig, *, session_id: uuid.UUID, pin: str) -> str:
    """Keyed and bound to the session: a database dump alone does not give 10⁴ guesses per PIN."""
    return hmac.new(config.pin_key, session_id.bytes + pin.encode(), hashlib.sha256).hexdigest()


def pin_matches(config: ClaimConfig, *, session_id: uuid.UUID, pin: str, pin_hash: str) -> bool:
    return hmac.compare_digest(hash_pin(config, session_id=session_id, pin=pin), pin_hash)


def seal_pin(config: ClaimConfig, *, session_id: uuid.UUID, pin: str) -> str:
    """The PIN encrypted for the display page, which must show it; the hash is what redemption checks."""
    nonce = os.urandom(12)
    sealed = AESGCM(config.seal_key).encrypt(nonce, pin.encode(), session_id.bytes)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_pin(config: ClaimConfig, *, session_id: uuid.UUID, sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed)
    return AESGCM(config.seal_key).decrypt(raw[:12], raw[12:], session_id.bytes).decode()
