"""Display links: a projector or tablet shows a session's QR without anyone signing in on it.

The youth worker asks the API for a link; it carries ``<session id>.<expiry>.<MAC>`` under a key derived
for this purpose only, so it cannot be forged, names one session, and stops working at its expiry.
It grants reading the display (QR, PIN, count) and nothing else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid

from sqlalchemy.orm import Session

from wallet.claims import policy
from wallet.claims.policy import ClaimConfig
from wallet.claims.sessions import require_session
from wallet.errors import DomainError


def _mac(config: ClaimConfig, message: str) -> str:
    digest = hmac.new(config.display_key, message.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def mint_display_token(config: ClaimConfig, *, session_id: uuid.UUID, expires_at: dt.datetime) -> str:
    message = f"{session_id.hex}.{int(expires_at.timestamp())}"
    return f"{message}.{_mac(config, message)}"


def read_display_token(config: ClaimConfig, token: str, *, now: dt.datetime) -> uuid.UUID:
    """The session a display token opens; ``auth.forbidden`` for a forged, altered or expired one."""
    try:
        session_hex, expiry, mac = token.split(".")
        session_id = uuid.UUID(hex=session_hex)
        expires = int(expiry)
    except (ValueError, AttributeError) as error:
        raise DomainError("auth.forbidden", "This display link is not valid.") from error
    if not any(hmac.compare_digest(mac, _mac(key, f"{session_hex}.{expiry}")) for key in config.accepted()):
        raise DomainError("auth.forbidden", "This display link is not valid.")
    if expires <= now.timestamp():
        raise DomainError("auth.forbidden", "This display link has expired; make a new one.")
    return session_id


def display_link(
    db: Session, *, session_id: uuid.UUID, actor: uuid.UUID, config: ClaimConfig, now: dt.datetime
) -> tuple[str, dt.datetime]:
    """A link to the session's display page, valid for :data:`~wallet.claims.policy.DISPLAY_LINK_TTL`."""
    session = require_session(db, session_id=session_id, actor=actor)
    expires_at = now + policy.DISPLAY_LINK_TTL
    token = mint_display_token(config, session_id=session.id, expires_at=expires_at)
    return f"{config.base_url.rstrip('/')}/claims/{session.id}/display?t={token}", expires_at
