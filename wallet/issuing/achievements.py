"""Achievements (badge classes): organisation admins describe them, every member may read them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.errors import DomainError
from wallet.issuing.images import check_image
from wallet.models import Achievement, Organisation
from wallet.organisations.services import ADMINS, ANY_MEMBER, require_role

EDITABLE = ("name", "description", "criteria_narrative", "criteria_url", "tags", "alignments", "validity_days")


def _check_criteria(achievement: Achievement) -> None:
    if not achievement.criteria_narrative.strip() and not achievement.criteria_url:
        raise DomainError(
            "request.validation_failed",
            "An achievement needs criteria: a narrative, a URL or both.",
            errors={"criteria_narrative": ["give a narrative or a criteria_url"]},
        )


def list_achievements(db: Session, *, slug: str, actor: uuid.UUID, include_archived: bool = False) -> list[Achievement]:
    """The organisation's achievements (any member: youth workers pick them for claim sessions)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    query = select(Achievement).where(Achievement.organisation_id == organisation.id)
    if not include_archived:
        query = query.where(Achievement.archived_at.is_(None))
    return list(db.scalars(query.order_by(Achievement.name, Achievement.created_at)))


def _in_organisation(db: Session, organisation: Organisation, achievement_id: uuid.UUID) -> Achievement:
    achievement = db.get(Achievement, achievement_id)
    if achievement is None or achievement.organisation_id != organisation.id:
        raise DomainError("achievement.not_found")
    return achievement


def get_achievement(db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID) -> Achievement:
    organisation = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    return _in_organisation(db, organisation, achievement_id)


def create_achievement(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    name: str,
    description: str,
    criteria_narrative: str = "",
    criteria_url: str | None = None,
    tags: list[str] | None = None,
    alignments: list[dict[str, Any]] | None = None,
    validity_days: int | None = None,
    now: dt.datetime,
) -> Achievement:
    """A new achievement (admins). Its image is uploaded separately (:func:`set_image`)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = Achievement(
        organisation_id=organisation.id,
        name=name,
        description=description,
        criteria_narrative=criteria_narrative,
        criteria_url=criteria_url or None,
        tags=list(tags or []),
        alignments=list(alignments or []),
        validity_days=validity_days,
        created_at=now,
        updated_at=now,
    )
    _check_criteria(achievement)
    db.add(achievement)
    db.flush()
    return achievement


def update_achievement(
    db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID, changes: dict[str, Any], now: dt.datetime
) -> Achievement:
    """Change the fields in ``changes`` (admins). Credentials already issued keep what they said."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = _in_organisation(db, organisation, achievement_id)
    for field, value in changes.items():
        if field not in EDITABLE:
            raise ValueError(f"{field} is not editable")
        if field == "criteria_url":
            value = value or None
        setattr(achievement, field, value)
    _check_criteria(achievement)
    achievement.updated_at = now
    db.flush()
    return achievement


def archive_achievement(
    db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID, now: dt.datetime
) -> Achievement:
    """Stop awarding an achievement (admins). Issued credentials stay valid; its public page and image stay."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = _in_organisation(db, organisation, achievement_id)
    if achievement.archived_at is None:
        achievement.archived_at = now
        achievement.updated_at = now
    db.flush()
    return achievement


def set_image(
    db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID, data: bytes, now: dt.datetime
) -> Achievement:
    """Replace the image (admins) with the checked, sanitised version of ``data``."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = _in_organisation(db, organisation, achievement_id)
    checked = check_image(data)
    achievement.image = checked.data
    achievement.image_media_type = checked.media_type
    achievement.image_sha256 = checked.sha256
    achievement.updated_at = now
    db.flush()
    return achievement


def public_achievement(db: Session, *, achievement_id: uuid.UUID) -> Achievement:
    """An achievement by id, for its public URL (archived ones too: old credentials point at them)."""
    achievement = db.get(Achievement, achievement_id)
    if achievement is None:
        raise DomainError("achievement.not_found")
    return achievement
