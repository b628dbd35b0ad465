"""Claim sessions: a youth worker hands out one achievement on the spot, by shared QR or single-use cards.

The invariants live in SQL (docs/claims.md numbers them):

* ``claimed <= cap`` is a CHECK, and ``claimed`` only moves by one conditional ``UPDATE … WHERE claimed < cap``;
* one claim per learner and session is a UNIQUE constraint on ``(session_id, account_id)``;
* a single-use code is spent by one conditional ``UPDATE … WHERE redeemed_at IS NULL``.

Rows that name a learner (:class:`Claim`, :class:`PinFailure`) hang off ``accounts.id`` with
``ON DELETE CASCADE``; a spent code only keeps the time it was spent, never who spent it.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    return Enum(
        kind, name=name, native_enum=False, length=20, values_callable=lambda members: [m.value for m in members]
    )


class SessionMode(enum.StrEnum):
    SHARED = "shared"
    SINGLE_USE = "single_use"


class SessionState(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class ClaimStatus(enum.StrEnum):
    ISSUED = "issued"
    PENDING = "pending"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"
    """A pending claim nobody decided on before the session's end plus the stale horizon."""


class ClaimSession(Base):
    __tablename__ = "claim_sessions"
    __table_args__ = (
        CheckConstraint("claimed >= 0 AND claimed <= cap", name="claimed_within_cap"),
        CheckConstraint("cap >= 1", name="cap_positive"),
        Index("ix_claim_sessions_organisation_starts", "organisation_id", "starts_at"),
        Index("ix_claim_sessions_state_ends", "state", "ends_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    public_id: Mapped[str] = mapped_column(String(8), unique=True)
    fallback_code: Mapped[str | None] = mapped_column(String(9), unique=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    achievement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    cap: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[SessionMode] = mapped_column(_enum(SessionMode, "claim_session_mode"))
    pin_hash: Mapped[str | None] = mapped_column(String(64))
    pin_sealed: Mapped[str | None] = mapped_column(String(200))
    rotation_period_s: Mapped[int | None] = mapped_column(Integer)
    moderated: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[SessionState] = mapped_column(_enum(SessionState, "claim_session_state"))
    closed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class ClaimCode(Base):
    """One printed single-use card."""

    __tablename__ = "claim_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim_sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    public_id: Mapped[str] = mapped_column(String(8), unique=True)
    fallback_code: Mapped[str] = mapped_column(String(9), unique=True)
    redeemed_at: Mapped[dt.datetime | None]
    expired_at: Mapped[dt.datetime | None]


class Claim(Base):
    """A learner's claim in a session: at most one per learner and session, whatever they scan."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("session_id", "account_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim_sessions.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("claim_codes.id", ondelete="SET NULL"))
    status: Mapped[ClaimStatus] = mapped_column(_enum(ClaimStatus, "claim_status"))
    # Checked at COMMIT: an admission inserts the claim with the ids of the credential it signs next
    # (one statement fewer than filling them in afterwards; docs/performance.md, fourth pass).
    issued_credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issued_credentials.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED")
    )
    held_credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("held_credentials.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED")
    )
    scanned_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class PinFailure(Base):
    """Wrong-PIN counters for one session: one row per learner, and one (``scope = "*"``) for everyone.

    ``failures`` counts inside a window that starts at the first failure; reaching the limit sets
    ``locked_until``. The scheduler deletes rows whose window and lockout have both passed.
    """

    __tablename__ = "claim_pin_failures"
    __table_args__ = (UniqueConstraint("session_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim_sessions.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(36), doc="the learner's account id, or * for the whole session")
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_ends_at: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]


class JobLock(Base):
    """On SQLite (no advisory locks) a background job runs only while it holds its row here."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[dt.datetime | None]
