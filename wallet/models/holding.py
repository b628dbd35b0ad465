"""The learner's store of credentials: each row is one credential exactly as it was received.

``raw`` is byte-exact (a signature covers the bytes or their canonical form, and a learner who exports
must get back what the issuer gave them). The other columns are a searchable summary read from it.
``content_hash`` (``sha256:<hex>`` of ``raw``) makes adding the same bytes twice idempotent; the same
credential in another encoding is caught by ``(account_id, issuer_id, credential_id)`` in the service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class HeldCredential(Base):
    __tablename__ = "held_credentials"
    __table_args__ = (
        UniqueConstraint("account_id", "content_hash"),
        Index("ix_held_credentials_account_added", "account_id", "added_at"),
        Index("ix_held_credentials_account_credential", "account_id", "credential_id"),
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
    source: Mapped[str] = mapped_column(String(10), doc="claim, import, award or sync")
    added_at: Mapped[dt.datetime]
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(13), doc="the report's outcome, for filtering")
    verified_at: Mapped[dt.datetime | None]
    status_checked_at: Mapped[dt.datetime | None]
