"""Credential Offers: the ``openid-credential-offer://`` URIs a QR holds, and the offer objects behind them.

By reference (what a shared QR holds): ``credential_offer_uri`` points at ``/oid4vci/offer/<claim token>``,
the same MAC'd token our own claim URL carries. Every fetch of that URL mints a *fresh* pre-authorized
code, so one static (or rotating) QR on a projector gives each wallet its own single-use code, and a
rotating session's offer goes stale exactly like its claim URL.

By value (one wallet, e.g. a single-use card sent to one learner): the offer object itself, with a
pre-authorized code minted when the youth worker asks for it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from wallet_protocol.claim_codes import mint_single_use_token

from wallet.claims.codes import session_qr
from wallet.claims.guessing import CodeGuard, judge_code
from wallet.claims.policy import ClaimConfig
from wallet.claims.redeem import check_rotation, check_session_open
from wallet.claims.sessions import require_session, session_pin
from wallet.errors import DomainError
from wallet.models import ClaimCode, ClaimSession, SessionMode
from wallet.oid4vci.grants import RandBytes, mint_pre_authorized_code, refuse_moderated
from wallet.oid4vci.metadata import CONFIGURATION_IDS, OFFER_PATH, OFFER_SCHEME, PRE_AUTHORIZED_GRANT, issuer_identifier

TX_CODE_DESCRIPTION = "Enter the PIN the youth worker tells the room."


def offer_uri(base_url: str, claim_token: str) -> str:
    """The https URL a by-reference offer names (public; each GET mints a new pre-authorized code)."""
    return f"{issuer_identifier(base_url)}{OFFER_PATH}/{quote(claim_token, safe='')}"


def offer_by_reference(base_url: str, claim_token: str) -> str:
    """``openid-credential-offer://?credential_offer_uri=…`` for a claim token (session, rotating or card)."""
    return OFFER_SCHEME + "?" + urlencode({"credential_offer_uri": offer_uri(base_url, claim_token)})


def offer_by_value(offer: dict[str, Any]) -> str:
    """``openid-credential-offer://?credential_offer=…`` carrying the offer object itself."""
    return OFFER_SCHEME + "?" + urlencode({"credential_offer": json.dumps(offer, separators=(",", ":"))})


def _offer_object(
    db: Session,
    *,
    session: ClaimSession,
    card: ClaimCode | None,
    config: ClaimConfig,
    now: dt.datetime,
    randbytes: RandBytes,
) -> tuple[dict[str, Any], dt.datetime]:
    code, expires_at = mint_pre_authorized_code(db, session=session, card=card, now=now, randbytes=randbytes)
    grant: dict[str, Any] = {"pre-authorized_code": code}
    pin = session_pin(session, config=config)
    if session.pin_hash is not None:
        grant["tx_code"] = {"input_mode": "numeric", "description": TX_CODE_DESCRIPTION}
        if pin:
            grant["tx_code"]["length"] = len(pin)
    offer = {
        "credential_issuer": issuer_identifier(config.base_url),
        "credential_configuration_ids": list(CONFIGURATION_IDS),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }
    return offer, expires_at


def fetch_offer(
    db: Session,
    *,
    claim_token: str,
    config: ClaimConfig,
    guard: CodeGuard,
    now: dt.datetime,
    randbytes: RandBytes = secrets.token_bytes,
) -> dict[str, Any]:
    """The offer object behind a by-reference URI, with a fresh pre-authorized code (public endpoint).

    The claim token is judged as a scan at ``now``: unknown, paused, closed, not started, ended, spent
    card or stale rotating step refuse with the claim's own codes, before any code is minted. The token
    (or a typed fallback in its place) is judged under the claim codes' guessing limit (``guard``).
    """
    resolved = judge_code(db, code=claim_token, config=config, guard=guard)
    session = resolved.session
    refuse_moderated(session)
    check_session_open(session, resolved.code, scan_time=now)
    check_rotation(session, resolved, scan_time=now, scanned_offline=False, now=now)
    offer, _ = _offer_object(db, session=session, card=resolved.code, config=config, now=now, randbytes=randbytes)
    return offer


@dataclass(frozen=True)
class WorkerOffer:
    uri: str
    """What the QR holds: ``openid-credential-offer://?…``."""
    credential_offer_uri: str | None
    credential_offer: dict[str, Any] | None
    code_expires_at: dt.datetime | None
    """For offers by value: when its pre-authorized code expires (by reference: each fetch mints one)."""
    tx_code_required: bool


def worker_offer(
    db: Session,
    *,
    session_id: uuid.UUID,
    actor: uuid.UUID,
    by: Literal["reference", "value"],
    card: int | None,
    config: ClaimConfig,
    now: dt.datetime,
    randbytes: RandBytes = secrets.token_bytes,
) -> WorkerOffer:
    """An offer for a session (shared QR) or one of its single-use cards, for its organisation's members.

    ``card`` is the card's position on the printed sheet (1-based); single-use sessions need one, shared
    sessions take none. A rotating session's offer by reference carries the current step and goes
    stale with it: project the display page (``?qr=oid4vci``), which rotates it.
    """
    session = require_session(db, session_id=session_id, actor=actor)
    refuse_moderated(session)
    row: ClaimCode | None = None
    if session.mode is SessionMode.SINGLE_USE:
        if card is None:
            raise DomainError("request.validation_failed", "Name the card.", errors={"card": ["required"]})
        row = db.scalar(select(ClaimCode).where(ClaimCode.session_id == session.id, ClaimCode.position == card))
        if row is None:
            raise DomainError("request.validation_failed", "No such card.", errors={"card": ["no such card"]})
        token = mint_single_use_token(config.code_key, code_public_id=row.public_id)
    else:
        if card is not None:
            raise DomainError(
                "request.validation_failed", "Shared sessions have no cards.", errors={"card": ["not allowed"]}
            )
        token = session_qr(session, config=config, now=now).token
    required = session.pin_hash is not None
    if by == "reference":
        return WorkerOffer(
            offer_by_reference(config.base_url, token), offer_uri(config.base_url, token), None, None, required
        )
    check_session_open(session, row, scan_time=now)
    offer, expires_at = _offer_object(db, session=session, card=row, config=config, now=now, randbytes=randbytes)
    return WorkerOffer(offer_by_value(offer), None, offer, expires_at, required)
