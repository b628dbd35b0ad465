"""Badge requests (a learner asks an organisation to recognise what they already did) and endorsements.

Privacy: a request, its thread and its files name a learner, so every row hangs off the learner's
account with ``ON DELETE CASCADE`` and leaves with it; the reviewer who decided is ``SET NULL`` when that
reviewer erases their own account (the decision stays, with the role they held). Evidence files live
in the database, never on a public path: only the learner and the organisation's reviewers can fetch
them (docs/requests.md).

An endorsement is an organisation's signed ``EndorsementCredential`` about another organisation's
achievement or issuer profile; it is public by nature (it shows on badge and issuer pages).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class RequestStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    MORE_INFO = "more_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.MORE_INFO)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20, values_callable=lambda items: [i.value for i in items])


class RequestableAchievement(Base):
    """An achievement learners may ask for, with the evidence the organisation wants and who reviews.

    ``evidence_wanted`` lists kinds from ``narrative``, ``links``, ``files``, ``witness``;
    ``reviewer_role`` is ``youth_worker`` (any member reviews) or ``admin`` (admins only).
    """

    __tablename__ = "requestable_achievements"

    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    guidance: Mapped[str] = mapped_column(Text, default="")
    evidence_wanted: Mapped[list[str]] = mapped_column(JSON, default=list)
    reviewer_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class BadgeRequest(Base):
    """One learner's request for one achievement, and how it was decided.

    At most one open request (submitted or waiting for more) per learner and achievement (a partial
    unique index); a request queued offline carries its sync ``action_id``, unique per learner, so a
    resent op never makes a second request. Decisions move ``status`` with one conditional ``UPDATE``
    (two reviewers approving at once issue one credential).
    """

    __tablename__ = "badge_requests"
    __table_args__ = (
        UniqueConstraint("account_id", "action_id", name="uq_badge_requests_action"),
        Index(
            "ix_badge_requests_one_open",
            "account_id",
            "achievement_id",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'more_info')"),
            postgresql_where=text("status IN ('submitted', 'more_info')"),
        ),
        Index("ix_badge_requests_organisation_status", "organisation_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    achievement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus, "badge_request_status"))
    narrative: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    witness: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_by_role: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    issued_credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issued_credentials.id", ondelete="SET NULL"), unique=True
    )


class RequestMessage(Base):
    """One entry of a request's thread: submitted, a question, an answer, a decision, a withdrawal.

    ``author_role`` is ``learner`` or the reviewer's role then (``admin``, ``youth_worker``);
    ``author_account_id`` becomes NULL if that person erases their account.
    """

    __tablename__ = "badge_request_messages"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("badge_requests.id", ondelete="CASCADE"), index=True)
    author_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    author_role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]


class EvidenceFile(Base):
    """A photo or document attached to a request: checked, images re-encoded, stored here and only here."""

    __tablename__ = "evidence_files"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("badge_requests.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    media_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime]


class EndorsementSubjectKind(enum.StrEnum):
    ACHIEVEMENT = "achievement"
    ISSUER = "issuer"


class Endorsement(Base):
    """An organisation's signed ``EndorsementCredential`` of another's achievement or issuer profile.

    ``credential_json`` is the signed credential verbatim. Withdrawing one sets ``withdrawn_at``: it is
    no longer shown or served, and its bit in the endorser's revocation list (``status_list_id``,
    ``status_index``; none for endorsements signed before they had one) is set, so a copy kept elsewhere
    verifies as revoked.
    """

    __tablename__ = "endorsements"
    __table_args__ = (Index("ix_endorsements_subject", "subject_kind", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    endorser_organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    subject_kind: Mapped[EndorsementSubjectKind] = mapped_column(
        _enum(EndorsementSubjectKind, "endorsement_subject_kind")
    )
    subject_id: Mapped[uuid.UUID]
    comment: Mapped[str] = mapped_column(Text, default="")
    credential_id: Mapped[str] = mapped_column(String(300), unique=True)
    credential_json: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]
    status_list_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("status_lists.id", ondelete="SET NULL"))
    status_index: Mapped[int | None] = mapped_column(Integer)
