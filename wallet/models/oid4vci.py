"""OpenID4VCI issuance state: pre-authorized codes, access tokens, nonces, and standards-wallet claims.

Every secret (pre-authorized code, access token, ``c_nonce``) is stored only as its SHA-256: a database
dump gives nobody a code to redeem. Codes and tokens hang off the claim session (and the single-use card
they stand for), so closing, deleting or expiring a session takes them with it.

A standards wallet has no account here: its claim (:class:`HolderClaim`) is keyed by the DID of the key it
proved, unique per session (one credential per holder, a repeat returns the same one), and it takes its
place from the very same ``claim_sessions.claimed`` counter as the app's claims (docs/interop.md).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class PreAuthorizedCode(Base):
    """One wallet's ticket to the token endpoint: short-lived, single use, bound to a session (and card)."""

    __tablename__ = "oid4vci_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim_sessions.id", ondelete="CASCADE"), index=True)
    claim_code_id: Mapped[int | None] = mapped_column(ForeignKey("claim_codes.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class AccessToken(Base):
    """What the token endpoint hands out; ``holder_did`` is set by its first credential and never changes."""

    __tablename__ = "oid4vci_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim_sessions.id", ondelete="CASCADE"), index=True)
    claim_code_id: Mapped[int | None] = mapped_column(ForeignKey("claim_codes.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("oid4vci_codes.id", ondelete="CASCADE"), index=True)
    """The pre-authorized code it was exchanged for."""
    holder_did: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Nonce(Base):
    """A ``c_nonce`` from the nonce endpoint: spent by the first key proof that carries it."""

    __tablename__ = "oid4vci_nonces"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class HolderClaim(Base):
    """A standards wallet's claim in a session, known by the DID of its proved key."""

    __tablename__ = "oid4vci_claims"
    __table_args__ = (UniqueConstraint("session_id", "holder_did"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim_sessions.id", ondelete="CASCADE"))
    holder_did: Mapped[str] = mapped_column(String(512))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("claim_codes.id", ondelete="SET NULL"))
    issued_credential_id: Mapped[uuid.UUID | None] = mapped_column(  # checked at COMMIT, as the Claim's
        ForeignKey("issued_credentials.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"), index=True
    )
    credential_jwt: Mapped[str | None] = mapped_column(Text, doc="the jwt_vc_json form, once a wallet asked for it")
    created_at: Mapped[dt.datetime]
