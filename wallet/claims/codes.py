"""From what a learner scanned or typed to the session (and single-use code) it names.

Every way a code can be wrong — bad layout, bad MAC, unknown host, mistyped fallback, no such id — is
answered alike with ``claim.unknown_code`` (docs/claim-codes.md: a guesser learns nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from wallet_protocol.claim_codes import (
    ClaimKind,
    InvalidClaimCode,
    claim_url,
    mint_session_token,
    mint_single_use_token,
    normalise_fallback,
    parse_claim_url,
    parse_token,
    rotation_step,
)

from wallet.claims.policy import ClaimConfig
from wallet.errors import DomainError
from wallet.models import ClaimCode, ClaimSession

APP_SCHEME = "learnerwallet"
"""The app's deep link: ``learnerwallet://claim?c=<token or fallback>`` (docs/claims.md)."""


@dataclass(frozen=True)
class ResolvedCode:
    session: ClaimSession
    code: ClaimCode | None
    step: int | None
    """The rotation step a rotating token carried; ``None`` for static tokens and typed fallbacks."""
    static_token: bool
    """True for a static session token (no step): refused by rotating sessions, whose QR always has one."""
    canonical: str
    """The token or canonical fallback, as the landing page's URL carries it."""


def _unknown() -> DomainError:
    return DomainError("claim.unknown_code", "That code is not a claim code we know. Check it and try again.")


def _token_from(text: str, config: ClaimConfig) -> str | None:
    """The token inside a claim URL, deep link or bare token; ``None`` when ``text`` looks typed."""
    if text.lower().startswith(f"{APP_SCHEME}:"):
        values = parse_qs(urlsplit(text).query).get("c") or [""]
        return values[0]
    if "/" in text or ":" in text:
        return parse_claim_url(text, trusted_base_urls=[config.base_url])
    if len(text) >= 26:
        return text
    return None


def resolve_code(db: Session, *, code: str, config: ClaimConfig) -> ResolvedCode:
    """Verify ``code`` (claim URL, token, deep link or typed fallback) and load what it names."""
    text = (code or "").strip()
    if not text or len(text) > 512:
        raise _unknown()
    try:
        token = _token_from(text, config)
        if token is None:
            fallback = normalise_fallback(text)
            return _by_fallback(db, fallback)
        if len(token) < 26:
            return _by_fallback(db, normalise_fallback(token))
        parsed = parse_token(config.code_key, token, previous_keys=[old.code_key for old in config.previous])
    except InvalidClaimCode as error:
        raise _unknown() from error
    if parsed.kind is ClaimKind.SINGLE_USE:
        row = db.execute(
            select(ClaimCode, ClaimSession)
            .join(ClaimSession, ClaimSession.id == ClaimCode.session_id)
            .where(ClaimCode.public_id == parsed.public_id)
        ).first()
        if row is None:
            raise _unknown()
        return ResolvedCode(row[1], row[0], None, False, token)
    session = db.scalar(_SESSION_BY_PUBLIC_ID, {"public_id": parsed.public_id})
    if session is None:
        raise _unknown()
    return ResolvedCode(session, None, parsed.step, parsed.step is None, token)


_SESSION_BY_PUBLIC_ID = select(ClaimSession).where(ClaimSession.public_id == bindparam("public_id"))
"""Every scan of a shared QR runs this: built once (building a statement costs about as much as running it)."""


def _by_fallback(db: Session, fallback: str) -> ResolvedCode:
    session = db.scalar(select(ClaimSession).where(ClaimSession.fallback_code == fallback))
    if session is not None:
        return ResolvedCode(session, None, None, False, fallback)
    row = db.execute(
        select(ClaimCode, ClaimSession)
        .join(ClaimSession, ClaimSession.id == ClaimCode.session_id)
        .where(ClaimCode.fallback_code == fallback)
    ).first()
    if row is None:
        raise _unknown()
    return ResolvedCode(row[1], row[0], None, False, fallback)


@dataclass(frozen=True)
class QrPayload:
    url: str
    token: str
    fallback: str | None
    step: int | None
    period_s: int | None
    next_change_at: dt.datetime | None


def session_qr(session: ClaimSession, *, config: ClaimConfig, now: dt.datetime) -> QrPayload:
    """What the display page shows right now: the (rotating) session URL and the typed fallback."""
    from wallet_protocol.claim_codes import format_fallback

    step = None
    next_change_at = None
    if session.rotation_period_s:
        step = rotation_step(now.timestamp(), session.rotation_period_s)
        next_change_at = dt.datetime.fromtimestamp((step + 1) * session.rotation_period_s, dt.UTC)
    token = mint_session_token(config.code_key, session_public_id=session.public_id, step=step)
    fallback = format_fallback(session.fallback_code) if session.fallback_code else None
    return QrPayload(
        claim_url(config.base_url, token), token, fallback, step, session.rotation_period_s, next_change_at
    )


def card_url(code: ClaimCode, *, config: ClaimConfig) -> str:
    return claim_url(config.base_url, mint_single_use_token(config.code_key, code_public_id=code.public_id))
