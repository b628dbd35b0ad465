"""What organisations issue: their signing keys, achievements (badge classes), the credentials they issued
and the revocation status lists those credentials point at.

Rows that name a learner (``IssuedCredential.recipient_account_id``) keep the organisation's record when
the learner erases their account (``SET NULL``): the credential was issued and may still be revoked, but
it no longer says to whom inside this service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class IssuerKey(Base):
    """An organisation's Ed25519 signing key, published as a did:key Multikey verification method.

    At most one key per organisation is active (``retired_at IS NULL``, a partial unique index); retired
    keys stay so that the issuer profile keeps listing them and old credentials keep verifying.
    ``encrypted_private_key`` is the 32-byte seed under AES-256-GCM with the instance's key-encryption key.
    """

    __tablename__ = "issuer_keys"
    __table_args__ = (
        Index(
            "ix_issuer_keys_one_active",
            "organisation_id",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    did: Mapped[str] = mapped_column(String(120))
    verification_method: Mapped[str] = mapped_column(String(250), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(80))
    encrypted_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]
    retired_at: Mapped[dt.datetime | None]


class Achievement(Base):
    """A badge class: what an organisation awards, described once and referenced by every credential."""

    __tablename__ = "achievements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    criteria_narrative: Mapped[str] = mapped_column(Text, default="")
    criteria_url: Mapped[str | None] = mapped_column(String(500))
    image: Mapped[bytes | None] = mapped_column(
        LargeBinary, deferred=True, doc="up to 512 KB: read only when asked for, not with every claim's signing"
    )
    image_media_type: Mapped[str | None] = mapped_column(String(40))
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    alignments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    validity_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    archived_at: Mapped[dt.datetime | None]


class StatusList(Base):
    """One Bitstring Status List of an organisation (W3C Bitstring Status List v1.0).

    ``next_index`` is a counter moved only by a conditional ``UPDATE … RETURNING``; the bit position a
    counter value maps to is spread over the list (see :mod:`wallet.issuing.status`). ``version`` grows
    with every flipped bit; ``signed_document`` is the signed list credential for that version, so serving
    the list never signs.
    """

    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("organisation_id", "purpose", "list_no"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    list_no: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    signed_document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]


class IssuedCredential(Base):
    """The organisation's record of one credential it signed (the signed JSON is kept verbatim)."""

    __tablename__ = "issued_credentials"
    __table_args__ = (UniqueConstraint("status_list_id", "status_index"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    achievement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"), index=True)
    recipient_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    credential_id: Mapped[str] = mapped_column(String(64), unique=True)
    status_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("status_lists.id", ondelete="CASCADE"))
    status_index: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    credential_json: Mapped[str] = mapped_column(Text)
