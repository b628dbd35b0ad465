"""A place's language of skills (versioned skills frameworks) and the learning pathways built on it.

A framework's versions are immutable: importing a changed framework adds a version, never edits one, so
an alignment made against version 1 goes on naming version 1's item (its ``targetUrl`` carries the
version) and a reader can be told that a newer version exists and whether that item changed in it
(``SkillItem.content_sha256`` compares items across versions).

``PathwayAward`` is unique per (pathway, learner): the outcome badge is awarded exactly once, however
many claims complete the pathway at the same moment (docs/pathways.md, "Exactly once").
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class SkillFramework(Base):
    """A place's skills framework, owned by the anchor organisation that first imported it."""

    __tablename__ = "skill_frameworks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class SkillFrameworkVersion(Base):
    """One imported version of a framework: its CFDocument and where it came from."""

    __tablename__ = "skill_framework_versions"
    __table_args__ = (UniqueConstraint("framework_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    framework_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skill_frameworks.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    case_identifier: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    source_format: Mapped[str] = mapped_column(String(10), doc="case-json or csv")
    content_sha256: Mapped[str] = mapped_column(String(64), doc="what the items say, to tell a changed import")
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[dt.datetime]
    imported_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class SkillItem(Base):
    """One CFItem of one framework version (a skill, a competency, a grouping)."""

    __tablename__ = "skill_items"
    __table_args__ = (UniqueConstraint("version_id", "identifier"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("skill_framework_versions.id", ondelete="CASCADE"), index=True
    )
    identifier: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(100), default="")
    statement: Mapped[str] = mapped_column(Text)
    item_type: Mapped[str] = mapped_column(String(100), default="")
    parent_identifier: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_sha256: Mapped[str] = mapped_column(String(64))


class Pathway(Base):
    """A learning pathway: steps across organisations, leading to an outcome (optionally a badge).

    ``steps`` is the public definition the progress rule reads (:mod:`wallet_protocol.pathways`);
    ``partners`` the ids of the co-designing organisations, whose admins may edit it too.
    """

    __tablename__ = "pathways"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    outcome_achievement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("achievements.id", ondelete="SET NULL"))
    auto_award: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ordered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    archived_at: Mapped[dt.datetime | None]


class PathwayAward(Base):
    """The outcome badge of a pathway, awarded to one learner — at most once (the unique constraint)."""

    __tablename__ = "pathway_awards"
    __table_args__ = (UniqueConstraint("pathway_id", "account_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    pathway_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    issued_credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issued_credentials.id", ondelete="SET NULL")
    )
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime]
