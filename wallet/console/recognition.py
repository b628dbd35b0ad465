"""What the console's recognition pages show: a badge's request settings, and the organisation's endorsements.

Read models only; the writes are :func:`wallet.requests.services.make_requestable` /
:func:`~wallet.requests.services.stop_requests` and :func:`wallet.endorsements.services.endorse` /
:func:`~wallet.endorsements.services.withdraw_endorsement`, the very functions the API calls. Who may see
what is the API's rule: a badge's request settings and everything about giving endorsements are for the
organisation's admins; the list of endorsements given is for its members (``GET …/endorsements``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.endorsements import services as endorsements
from wallet.errors import DomainError
from wallet.issuing.achievements import get_achievement
from wallet.models import Achievement, Endorsement, EndorsementSubjectKind, Organisation, RequestableAchievement
from wallet.organisations.services import ADMINS, ANY_MEMBER, get_by_slug, require_role, role_of


@dataclass(frozen=True)
class RequestSettings:
    """One badge and whether learners may ask for it (``policy`` is ``None`` when they may not)."""

    organisation: Organisation
    achievement: Achievement
    policy: RequestableAchievement | None


def request_settings(db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID) -> RequestSettings:
    """The badge's request settings (admins; another organisation's badge is ``achievement.not_found``)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = get_achievement(db, slug=slug, actor=actor, achievement_id=achievement_id)
    return RequestSettings(organisation, achievement, db.get(RequestableAchievement, achievement.id))


@dataclass(frozen=True)
class OtherOrganisation:
    """An organisation this one could endorse, with its live badges."""

    organisation: Organisation
    achievements: list[Achievement]


def endorsable(db: Session, *, slug: str, actor: uuid.UUID) -> list[OtherOrganisation]:
    """Every other organisation here and its live badges, by name (admins of ``slug``)."""
    own = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    organisations = db.scalars(select(Organisation).where(Organisation.id != own.id).order_by(Organisation.name))
    badges: dict[uuid.UUID, list[Achievement]] = {}
    for achievement in db.scalars(
        select(Achievement)
        .where(Achievement.organisation_id != own.id, Achievement.archived_at.is_(None))
        .order_by(Achievement.name)
    ):
        badges.setdefault(achievement.organisation_id, []).append(achievement)
    return [OtherOrganisation(item, badges.get(item.id, [])) for item in organisations]


@dataclass(frozen=True)
class EndorsementSubject:
    """What an admin is about to endorse: another organisation's badge, or the organisation itself."""

    kind: EndorsementSubjectKind
    organisation: Organisation
    achievement: Achievement | None

    @property
    def name(self) -> str:
        return self.achievement.name if self.achievement is not None else self.organisation.name


def endorsement_subject(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    achievement_id: uuid.UUID | None = None,
    issuer_slug: str | None = None,
) -> EndorsementSubject:
    """The subject of an endorsement form, refused as :func:`~wallet.endorsements.services.endorse` would
    refuse it (``achievement.not_found``, ``organisation.not_found``, ``endorsement.own_work``)."""
    own = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    if (achievement_id is None) == (issuer_slug is None):
        raise DomainError("request.validation_failed", "Endorse either a badge or an organisation.")
    if achievement_id is not None:
        achievement = db.get(Achievement, achievement_id)
        if achievement is None or achievement.archived_at is not None:
            raise DomainError("achievement.not_found")
        organisation = db.get(Organisation, achievement.organisation_id)
        assert organisation is not None
        subject = EndorsementSubject(EndorsementSubjectKind.ACHIEVEMENT, organisation, achievement)
    else:
        subject = EndorsementSubject(EndorsementSubjectKind.ISSUER, get_by_slug(db, slug=str(issuer_slug)), None)
    if subject.organisation.id == own.id:
        raise DomainError("endorsement.own_work")
    return subject


@dataclass(frozen=True)
class GivenEndorsement:
    """An endorsement the organisation gave, with what it is about in words."""

    endorsement: Endorsement
    subject_name: str
    subject_organisation: str
    subject_slug: str | None
    url: str

    @property
    def withdrawn(self) -> bool:
        return self.endorsement.withdrawn_at is not None

    @property
    def created_at(self) -> dt.datetime:
        return self.endorsement.created_at


@dataclass(frozen=True)
class GivenEndorsements:
    organisation: Organisation
    is_admin: bool
    items: list[GivenEndorsement]


def given(db: Session, *, slug: str, actor: uuid.UUID, base_url: str) -> GivenEndorsements:
    """What the organisation endorsed, newest first (members, as the API's list)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    rows = endorsements.given_by(db, slug=slug, actor=actor)
    items = []
    for row in rows:
        achievement = (
            db.get(Achievement, row.subject_id) if row.subject_kind is EndorsementSubjectKind.ACHIEVEMENT else None
        )
        owner_id = achievement.organisation_id if achievement is not None else row.subject_id
        owner = db.get(Organisation, owner_id)
        owner_name = owner.name if owner is not None else "an organisation no longer here"
        items.append(
            GivenEndorsement(
                endorsement=row,
                subject_name=achievement.name if achievement is not None else owner_name,
                subject_organisation=owner_name,
                subject_slug=owner.slug if owner is not None else None,
                url=endorsements.endorsement_url(base_url, row.id),
            )
        )
    is_admin = role_of(db, organisation_id=organisation.id, account_id=actor) in ADMINS
    return GivenEndorsements(organisation, is_admin, items)
