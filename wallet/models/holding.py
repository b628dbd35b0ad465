"""The learner's store of credentials: each row is one credential exactly as it was received.

``raw`` is byte-exact (a signature covers the bytes or their canonical form, and a learner who exports
must get back what the issuer gave them). The other columns are a searchable summary read from it.
``content_hash`` (``sha256:<hex>`` of ``raw``) makes adding the same bytes twice idempotent; the same
credential in another encoding is caught by ``(account_id, issuer_id, credential_id)`` in the service.

``holder_binding`` says what ties the credential to this learner (``subject``, ``did``, ``email``, ``name``
or ``none``; see :mod:`wallet.holding.binding`); ``copy_of_held`` that another account here held it first.
``proof_hash`` and ``id_hash`` find such copies by index.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class HeldCredential(Base):
    __tablename__ = "held_credentials"
    __table_args__ = (
        UniqueConstraint("account_id", "content_hash"),
        Index("ix_held_credentials_account_added", "account_id", "added_at"),
        Index("ix_held_credentials_account_credential", "account_id", "credential_id"),
        Index("ix_held_credentials_proof_hash", "proof_hash"),
        Index("ix_held_credentials_id_hash", "id_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(71))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(10), doc="vc-json, vc-jwt or ob2")
    credential_id: Mapped[str | None] = mapped_column(String(2000))
    issuer_id: Mapped[str | None] = mapped_column(String(2000))
    issuer_name: Mapped[str | None] = mapped_column(String(500))
    achievement_name: Mapped[str | None] = mapped_column(String(500))
    achievement_id: Mapped[str | None] = mapped_column(String(2000))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    issued_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), doc="claim, import, award, sync, record or request")
    added_at: Mapped[dt.datetime]
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(13), doc="the report's outcome, for filtering")
    verified_at: Mapped[dt.datetime | None]
    status_checked_at: Mapped[dt.datetime | None]
    holder_binding: Mapped[str] = mapped_column(
        String(10), default="none", server_default=text("'none'"), doc="subject, did, email, name or none"
    )
    holder_bound_at: Mapped[dt.datetime | None]
    copy_of_held: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="another account here held it when it was added"
    )
    proof_hash: Mapped[str | None] = mapped_column(String(71), doc="sha256 of its signature, to find copies")
    id_hash: Mapped[str | None] = mapped_column(String(71), doc="sha256 of issuer and credential id")
