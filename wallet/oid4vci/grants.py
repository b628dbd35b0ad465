"""Pre-authorized codes, access tokens and nonces: random secrets, stored as SHA-256, short-lived.

The token endpoint applies the session's limits that do not depend on who the holder is — pause, close,
time window, a spent card, moderation — and the PIN (``tx_code``) with the claims' own lockout counters:
per pre-authorized code (``scope = "oid4vci:<id>"``), per client address (``"ip:<hash>"``: fetching
fresh codes does not reset it) and the session's brake, shared with the app's claims but stopping only
standards wallets (docs/interop.md "Limits"). The
code is spent by one conditional UPDATE, so two wallets racing with one code get one token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from wallet.claims.guessing import CodeGuard
from wallet.claims.policy import ClaimConfig
from wallet.claims.redeem import PinGuesser, check_pin, check_session_open
from wallet.errors import DomainError
from wallet.models import AccessToken, ClaimCode, ClaimSession, Nonce, PreAuthorizedCode
from wallet.oid4vci.metadata import PRE_AUTHORIZED_GRANT

RandBytes = Callable[[int], bytes]

PRE_AUTHORIZED_CODE_TTL = dt.timedelta(minutes=10)
"""Long enough to type a PIN told aloud; short enough that a photographed offer soon dies."""
ACCESS_TOKEN_TTL = dt.timedelta(minutes=10)
NONCE_TTL = dt.timedelta(minutes=5)


def new_secret(randbytes: RandBytes) -> str:
    """256 random bits, base64url without padding (43 characters)."""
    return base64.urlsafe_b64encode(randbytes(32)).rstrip(b"=").decode("ascii")


def digest(secret: str) -> str:
    """What is stored instead of a secret: its SHA-256 (the secrets have 256 bits, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def mint_pre_authorized_code(
    db: Session,
    *,
    session: ClaimSession,
    card: ClaimCode | None,
    now: dt.datetime,
    randbytes: RandBytes = secrets.token_bytes,
) -> tuple[str, dt.datetime]:
    """A fresh single-use code for one wallet, bound to the session (and card); (code, expires_at)."""
    code = new_secret(randbytes)
    expires_at = now + PRE_AUTHORIZED_CODE_TTL
    db.add(
        PreAuthorizedCode(
            code_hash=digest(code),
            session_id=session.id,
            claim_code_id=card.id if card is not None else None,
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.flush()
    return code, expires_at


def refuse_moderated(session: ClaimSession) -> None:
    """Moderated claims wait for a youth worker; a standards wallet would need deferred issuance for that."""
    if session.moderated:
        raise DomainError(
            "oid4vci.moderated_session",
            "Claims in this session wait for the youth worker's approval; use the Learner Wallet app.",
        )


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int


def exchange_pre_authorized_code(
    db: Session,
    *,
    grant_type: str | None,
    code: str | None,
    tx_code: str | None,
    config: ClaimConfig,
    guard: CodeGuard,
    now: dt.datetime,
    randbytes: RandBytes = secrets.token_bytes,
) -> TokenGrant:
    """The token endpoint (OpenID4VCI 1.0 §6). A wrong PIN raises ``RecordedRefusal`` (its count is kept).

    The pre-authorized code is judged under the claim codes' guessing limit (``guard``), and wrong PINs
    are counted against this code and the client's address (``guard.guesser.client``), never the room.
    """
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise DomainError("oid4vci.unsupported_grant_type", f"Only the {PRE_AUTHORIZED_GRANT} grant is supported.")
    if not code:
        raise DomainError("oid4vci.invalid_request", "The pre-authorized_code parameter is missing.")
    guard.judge(code)
    row = db.scalar(select(PreAuthorizedCode).where(PreAuthorizedCode.code_hash == digest(code)))
    if row is None:
        raise DomainError("claim.unknown_code", "That pre-authorized code is not known.")
    if row.used_at is not None:
        raise DomainError("claim.already_claimed", "That pre-authorized code was already used; scan the offer again.")
    if row.expires_at <= now:
        raise DomainError("claim.expired_code", "That pre-authorized code has expired; scan the offer again.")
    session = db.get(ClaimSession, row.session_id)
    assert session is not None  # a foreign key with ON DELETE CASCADE guarantees it
    card = db.get(ClaimCode, row.claim_code_id) if row.claim_code_id is not None else None
    check_session_open(session, card, scan_time=now)
    refuse_moderated(session)
    if session.pin_hash is None and tx_code:
        raise DomainError("oid4vci.invalid_request", "This offer needs no transaction code (tx_code).")
    guesser = PinGuesser.wallet(pre_authorized_code_id=row.id, client=guard.guesser.client)
    check_pin(db, session, guesser=guesser, pin=tx_code, config=config, now=now)
    spent = db.execute(
        update(PreAuthorizedCode)
        .where(PreAuthorizedCode.id == row.id, PreAuthorizedCode.used_at.is_(None), PreAuthorizedCode.expires_at > now)
        .values(used_at=now)
        .returning(PreAuthorizedCode.id)
    ).first()
    if spent is None:
        raise DomainError("claim.already_claimed", "That pre-authorized code was already used; scan the offer again.")
    token = new_secret(randbytes)
    db.add(
        AccessToken(
            token_hash=digest(token),
            session_id=session.id,
            claim_code_id=row.claim_code_id,
            code_id=row.id,
            created_at=now,
            expires_at=now + ACCESS_TOKEN_TTL,
        )
    )
    db.flush()
    return TokenGrant(token, int(ACCESS_TOKEN_TTL.total_seconds()))


def authorise(db: Session, *, access_token: str | None, now: dt.datetime) -> AccessToken:
    """The live access token behind a Bearer value, or ``oid4vci.invalid_token``."""
    row = None
    if access_token:
        row = db.scalar(select(AccessToken).where(AccessToken.token_hash == digest(access_token)))
    if row is None or row.expires_at <= now:
        raise DomainError(
            "oid4vci.invalid_token", "The access token is unknown or expired; start from the offer again."
        )
    return row


def issue_nonce(db: Session, *, now: dt.datetime, randbytes: RandBytes = secrets.token_bytes) -> tuple[str, int]:
    """A fresh ``c_nonce`` and its lifetime in seconds (the nonce endpoint)."""
    nonce = new_secret(randbytes)
    db.add(Nonce(nonce_hash=digest(nonce), expires_at=now + NONCE_TTL))
    db.flush()
    return nonce, int(NONCE_TTL.total_seconds())


def spend_nonce(db: Session, *, nonce: str, now: dt.datetime) -> None:
    """Use a ``c_nonce`` once (one conditional UPDATE): a replayed or stale proof gets ``invalid_nonce``."""
    spent = db.execute(
        update(Nonce)
        .where(Nonce.nonce_hash == digest(nonce), Nonce.used_at.is_(None), Nonce.expires_at > now)
        .values(used_at=now)
        .returning(Nonce.id)
    ).first()
    if spent is None:
        raise DomainError(
            "oid4vci.invalid_nonce", "The proof's nonce is unknown, used or expired; get a new c_nonce and sign again."
        )


def purge_expired(db: Session, *, now: dt.datetime) -> int:
    """Delete codes, tokens and nonces that can no longer be used (for the scheduler); rows deleted."""
    deleted = 0
    for statement in (
        delete(AccessToken).where(AccessToken.expires_at <= now),
        delete(PreAuthorizedCode).where(PreAuthorizedCode.expires_at <= now - ACCESS_TOKEN_TTL),
        delete(Nonce).where(Nonce.expires_at <= now),
    ):
        deleted += int(db.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
    return deleted
