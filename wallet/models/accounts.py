"""Accounts, their devices and refresh tokens.

Learners are often teenagers: we keep a username, a display name and (optionally) an email, and no
date of birth. ``subject_id`` is the learner's identifier inside credentials — random, so a badge
never carries contact details.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.db import Base


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    subject_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="a one-time password was handed over: it works once"
    )
    is_operator: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="runs this service: creates organisations on the web"
    )

    devices: Mapped[list[Device]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )


class Device(Base):
    """A phone, tablet or computer the learner signed in on; refresh tokens are bound to one."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    platform: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    account: Mapped[Account] = relationship(back_populates="devices")


class RefreshToken(Base):
    """One link of a device's refresh-token chain, stored only as a SHA-256 hash.

    ``used_at`` is set exactly once, by a conditional UPDATE, when the token is exchanged; presenting
    a token whose ``used_at`` is set is reuse, and revokes the device (OAuth 2.0 Security BCP §4.14).
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_device_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class AccountCode(Base):
    """A one-time code that sets a new password without e-mail (``wallet.accounts.recovery``).

    ``kind`` is ``recovery`` (shown once to the learner at sign-up, no expiry) or ``reset`` (issued by
    a youth worker, an admin or the operator, handed over in person, short-lived). Only a SHA-256 of
    the account id and the normalised code is stored; ``used_at`` is set once, by a conditional UPDATE.
    ``issued_by`` is the staff account that issued a reset code (``None``: the operator, or a
    recovery code).
    """

    __tablename__ = "account_codes"
    __table_args__ = (Index("ix_account_codes_account_kind", "account_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]
