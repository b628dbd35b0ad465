"""Share links: a learner's capability URLs for showing one credential (or a collection) to an employer.

The slug is stored as it is, not hashed. It is a bearer secret like any capability URL (whoever holds
the link can open the page), but unlike a password the learner must be able to list their links and copy
the URL again, so the server keeps it. It carries 192 bits from :func:`secrets.token_urlsafe` and nothing
else: no email, username or credential id. Revoking or expiring a link is the way to take it back.

``target_id`` has no foreign key: the credential (``held_credentials``) and collection tables live in other
migration branches. The sharing service checks ownership when a link is made, and the public page treats
a target that has since been deleted as a link that no longer works.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class ShareTarget(enum.StrEnum):
    CREDENTIAL = "credential"
    COLLECTION = "collection"
    SKILLS = "skills"
    """The learner's skills summary (``target_id`` is their own account id)."""


class ShareLink(Base):
    __tablename__ = "share_links"
    __table_args__ = (Index("ix_share_links_account_created", "account_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    target_kind: Mapped[ShareTarget] = mapped_column(
        Enum(
            ShareTarget,
            name="share_target",
            native_enum=False,
            length=12,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    target_id: Mapped[uuid.UUID]
    label: Mapped[str] = mapped_column(String(120), default="")
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    allow_indexing: Mapped[bool] = mapped_column(default=False)
    show_evidence: Mapped[bool] = mapped_column(default=False)
    view_count: Mapped[int] = mapped_column(default=0)
    last_viewed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
