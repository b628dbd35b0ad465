"""Endorsements: an organisation vouches for another organisation's badge or for the organisation itself.

Each endorsement is an Open Badges 3.0 ``EndorsementCredential`` signed by the endorser's own active key
(the same signing path as every badge: :mod:`wallet.issuing.keys`, ``eddsa-rdfc-2022``), so it verifies
anywhere a badge from the endorser verifies. Its subject is the endorsed thing's public id — an
achievement's URL (as in the badges that award it) or the issuer's id (its did:web, else its profile
URL). It is public on purpose: it is served at ``/endorsements/<id>`` and shown on the issuer's page and
on the share page of every badge it concerns. Like a badge it names a bit in the endorser's revocation
list (``credentialStatus``): withdrawing one stops showing and serving it and sets that bit, so a copy
kept anywhere else verifies as revoked.

An organisation cannot endorse itself or its own badges (``endorsement.own_work``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wallet.credentials import dataintegrity, jsonld
from wallet.errors import DomainError
from wallet.issuing.credentials import achievement_url
from wallet.issuing.keys import ensure_active_key, private_key_of
from wallet.issuing.profiles import (
    OB_CONTEXT,
    VC_CONTEXT,
    issuer_profile,
    organisation_did_web,
    profile_url,
    signing_method,
    uses_did_web,
)
from wallet.issuing.status import isoformat, new_status_entry, set_status
from wallet.models import Achievement, Endorsement, EndorsementSubjectKind, Organisation
from wallet.organisations.services import ADMINS, ANY_MEMBER, get_by_slug, require_role

MAX_COMMENT_LENGTH = 2000


def endorsement_url(base_url: str, endorsement_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/endorsements/{endorsement_id}"


def issuer_subject_id(organisation: Organisation, *, base_url: str) -> str:
    """The id an endorsement of an issuer names: the id its badges use where that is stable (did:web),
    else its profile URL (a did:key changes with every key rotation)."""
    if uses_did_web(base_url):
        return organisation_did_web(base_url, organisation.slug)
    return profile_url(base_url, organisation.slug)


def endorse(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    achievement_id: uuid.UUID | None = None,
    issuer_slug: str | None = None,
    comment: str,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
) -> Endorsement:
    """Sign an endorsement of another organisation's achievement, or of that organisation (admins)."""
    endorser = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    if (achievement_id is None) == (issuer_slug is None):
        raise DomainError("request.validation_failed", "Endorse either an achievement or an issuer.")
    comment = comment.strip()
    if not comment or len(comment) > MAX_COMMENT_LENGTH:
        raise DomainError(
            "request.validation_failed",
            f"Say why you endorse it (at most {MAX_COMMENT_LENGTH} characters).",
            errors={"comment": ["required, at most 2000 characters"]},
        )
    if achievement_id is not None:
        achievement = db.get(Achievement, achievement_id)
        if achievement is None or achievement.archived_at is not None:
            raise DomainError("achievement.not_found")
        subject_org = db.get(Organisation, achievement.organisation_id)
        assert subject_org is not None
        kind, subject_id = EndorsementSubjectKind.ACHIEVEMENT, achievement.id
        subject_ref, name = achievement_url(base_url, achievement.id), f"{endorser.name} endorses {achievement.name}"
    else:
        subject_org = get_by_slug(db, slug=str(issuer_slug))
        kind, subject_id = EndorsementSubjectKind.ISSUER, subject_org.id
        subject_ref, name = (
            issuer_subject_id(subject_org, base_url=base_url),
            f"{endorser.name} endorses {subject_org.name}",
        )
    if subject_org.id == endorser.id:
        raise DomainError("endorsement.own_work")

    endorsement_id = uuid.uuid4()
    key = ensure_active_key(db, organisation_id=endorser.id, kek=kek, now=now)
    status_list, index, status_entry = new_status_entry(db, organisation=endorser, kek=kek, base_url=base_url, now=now)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": endorsement_url(base_url, endorsement_id),
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": name[:200],
        "issuer": issuer_profile(endorser, base_url=base_url, key=key),
        "validFrom": isoformat(now.replace(microsecond=0)),
        "credentialSubject": {"id": subject_ref, "type": ["EndorsementSubject"], "endorsementComment": comment},
        "credentialStatus": status_entry,
    }
    jsonld.assert_portable(credential)
    signed = dataintegrity.sign(
        credential,
        private_key=private_key_of(key, kek=kek),
        verification_method=signing_method(endorser, key, base_url=base_url),
        created=isoformat(now),
        cryptosuite="eddsa-rdfc-2022",
    )
    endorsement = Endorsement(
        id=endorsement_id,
        endorser_organisation_id=endorser.id,
        subject_kind=kind,
        subject_id=subject_id,
        comment=comment,
        credential_id=credential["id"],
        credential_json=json.dumps(signed, ensure_ascii=False),
        created_by=actor,
        created_at=now,
        status_list_id=status_list.id,
        status_index=index,
    )
    db.add(endorsement)
    db.flush()
    return endorsement


def withdraw_endorsement(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    endorsement_id: uuid.UUID,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
) -> Endorsement:
    """Stop showing and serving an endorsement and revoke it in the endorser's list (admins of the endorser).

    Withdrawing twice is harmless. An endorsement signed before endorsements had a status entry is only
    hidden: nothing in it can say it was withdrawn.
    """
    endorser = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    endorsement = db.get(Endorsement, endorsement_id)
    if endorsement is None or endorsement.endorser_organisation_id != endorser.id:
        raise DomainError("endorsement.not_found")
    if endorsement.withdrawn_at is None:
        if endorsement.status_list_id is not None and endorsement.status_index is not None:
            set_status(
                db,
                organisation=endorser,
                status_list_id=endorsement.status_list_id,
                index=endorsement.status_index,
                kek=kek,
                base_url=base_url,
                now=now,
            )
        endorsement.withdrawn_at = now
        db.flush()
    return endorsement


def given_by(db: Session, *, slug: str, actor: uuid.UUID) -> list[Endorsement]:
    """What the organisation endorsed, newest first (members)."""
    endorser = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    return list(
        db.scalars(
            select(Endorsement)
            .where(Endorsement.endorser_organisation_id == endorser.id)
            .order_by(Endorsement.created_at.desc(), Endorsement.id)
        )
    )


def public_document(db: Session, *, endorsement_id: uuid.UUID) -> str:
    """The signed credential as issued, for ``/endorsements/<id>``; withdrawn ones are not found."""
    endorsement = db.get(Endorsement, endorsement_id)
    if endorsement is None or endorsement.withdrawn_at is not None:
        raise DomainError("endorsement.not_found")
    return endorsement.credential_json


@dataclass(frozen=True)
class ShownEndorsement:
    """An endorsement as a page shows it: who endorsed, what they said, when, and where to check it."""

    endorser_name: str
    endorser_slug: str
    comment: str
    created_at: dt.datetime
    url: str
    about: str
    """``achievement`` or ``issuer``."""


def _shown(db: Session, condition: Any, *, base_url: str) -> list[ShownEndorsement]:
    rows = db.execute(
        select(Endorsement, Organisation)
        .join(Organisation, Organisation.id == Endorsement.endorser_organisation_id)
        .where(condition, Endorsement.withdrawn_at.is_(None))
        .order_by(Endorsement.created_at, Endorsement.id)
    ).all()
    return [
        ShownEndorsement(
            endorser_name=organisation.name,
            endorser_slug=organisation.slug,
            comment=endorsement.comment,
            created_at=endorsement.created_at,
            url=endorsement_url(base_url, endorsement.id),
            about=endorsement.subject_kind.value,
        )
        for endorsement, organisation in rows
    ]


def shown_for_issuer(db: Session, *, organisation_id: uuid.UUID, base_url: str) -> list[ShownEndorsement]:
    """Endorsements of the organisation and of any of its achievements (its public page)."""
    achievement_ids = select(Achievement.id).where(Achievement.organisation_id == organisation_id)
    condition = or_(
        (Endorsement.subject_kind == EndorsementSubjectKind.ISSUER) & (Endorsement.subject_id == organisation_id),
        (Endorsement.subject_kind == EndorsementSubjectKind.ACHIEVEMENT) & Endorsement.subject_id.in_(achievement_ids),
    )
    return _shown(db, condition, base_url=base_url)


def embedded_for(db: Session, *, kind: EndorsementSubjectKind, subject_id: uuid.UUID) -> list[dict[str, Any]]:
    """The signed endorsements of a subject, for the ``endorsement`` property of its public document."""
    rows = db.scalars(
        select(Endorsement.credential_json)
        .where(
            Endorsement.subject_kind == kind,
            Endorsement.subject_id == subject_id,
            Endorsement.withdrawn_at.is_(None),
        )
        .order_by(Endorsement.created_at, Endorsement.id)
    )
    return [json.loads(text) for text in rows]
