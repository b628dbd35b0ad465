"""Issuing Open Badges 3.0 credentials (``OpenBadgeCredential`` on VC Data Model 2.0) and revoking them.

A credential names its learner only by ``Account.subject_id`` (a random ``urn:uuid``): no email, no
username, nothing a reader could contact. Its issuer is the organisation's DID (:mod:`wallet.issuing.profiles`)
and it is signed with ``eddsa-rdfc-2022`` by the organisation's active key, after
:func:`wallet.credentials.jsonld.assert_portable` refuses terms that context copies disagree on. Shape and
an example: docs/credentials.md.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from wallet.accounts.services import normalise_username
from wallet.credentials import dataintegrity, jsonld
from wallet.db import add_inserted
from wallet.errors import DomainError
from wallet.issuing.keys import ensure_active_key, private_key_of
from wallet.issuing.profiles import OB_CONTEXT, VC_CONTEXT, issuer_profile, signing_method
from wallet.issuing.status import isoformat, new_status_entry, set_status
from wallet.models import Account, Achievement, IssuedCredential, IssuerKey, Organisation
from wallet.organisations.services import ADMINS, get_by_slug, require_role

CREDENTIAL_MEDIA_TYPE = "application/vc+ld+json"


def achievement_url(base_url: str, achievement_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/achievements/{achievement_id}"


def local_achievement_id(base_url: str, url: str | None) -> uuid.UUID | None:
    """The id in one of our :func:`achievement_url` addresses; ``None`` for anyone else's or a malformed one."""
    prefix = f"{base_url.rstrip('/')}/achievements/"
    if not url or not url.startswith(prefix):
        return None
    try:
        return uuid.UUID(url[len(prefix) :])
    except ValueError:
        return None


def achievement_image_url(base_url: str, achievement_id: uuid.UUID) -> str:
    return f"{achievement_url(base_url, achievement_id)}/image"


def achievement_document(achievement: Achievement, *, base_url: str) -> dict[str, Any]:
    """The OB 3.0 ``Achievement`` object, as embedded in credentials and served at its URL."""
    criteria: dict[str, Any] = {}
    if achievement.criteria_url:
        criteria["id"] = achievement.criteria_url
    if achievement.criteria_narrative.strip():
        criteria["narrative"] = achievement.criteria_narrative
    document: dict[str, Any] = {
        "id": achievement_url(base_url, achievement.id),
        "type": ["Achievement"],
        "name": achievement.name,
        "description": achievement.description,
        "criteria": criteria,
    }
    if achievement.image_sha256:
        document["image"] = {"id": achievement_image_url(base_url, achievement.id), "type": "Image"}
    if achievement.tags:
        document["tag"] = list(achievement.tags)
    if achievement.alignments:
        document["alignment"] = [
            {"type": ["Alignment"], **{key: value for key, value in alignment.items() if value}}
            for alignment in achievement.alignments
        ]
    return document


def _evidence(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    allowed = ("id", "name", "description", "narrative", "genre", "audience")
    return [{"type": ["Evidence"], **{key: item[key] for key in allowed if item.get(key)}} for item in items]


_ACHIEVEMENT_ISSUER_KEY = (
    select(Achievement, Organisation, IssuerKey)
    .join(Organisation, Organisation.id == Achievement.organisation_id)
    .outerjoin(IssuerKey, and_(IssuerKey.organisation_id == Organisation.id, IssuerKey.retired_at.is_(None)))
    .where(Achievement.id == bindparam("achievement_id"))
)
"""What signing needs, in one query; built once (building a statement costs about as much as running it)."""


def issue_credential(
    db: Session,
    *,
    achievement_id: uuid.UUID,
    recipient_account_id: uuid.UUID | None = None,
    subject_id: str | None = None,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
    evidence: list[dict[str, Any]] | None = None,
    record_id: uuid.UUID | None = None,
) -> IssuedCredential:
    """Sign and record an ``OpenBadgeCredential`` for the learner (no authorisation: callers check it).

    The learner is an account here (``recipient_account_id``: the subject is its ``subject_id``) or a
    holder known only by a DID (``subject_id``, e.g. the key a standards wallet proved over OpenID4VCI);
    give exactly one. ``record_id`` is the new row's id when a row written before it already names it
    (a claim: its link is checked at COMMIT).
    """
    if (recipient_account_id is None) == (subject_id is None):
        raise ValueError("give exactly one of recipient_account_id and subject_id")
    found = db.execute(_ACHIEVEMENT_ISSUER_KEY, {"achievement_id": achievement_id}).first()
    if found is None:
        raise DomainError("achievement.not_found")
    achievement, organisation, key = found
    if achievement.archived_at is not None:
        raise DomainError("request.conflict", "That achievement is archived and can no longer be awarded.")
    recipient = db.get(Account, recipient_account_id) if recipient_account_id is not None else None
    if recipient_account_id is not None and recipient is None:
        raise DomainError("account.not_found")

    if key is None:
        key = ensure_active_key(db, organisation_id=organisation.id, kek=kek, now=now)
    status_list, index, status_entry = new_status_entry(
        db, organisation=organisation, kek=kek, base_url=base_url, now=now
    )
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    valid_from = now.replace(microsecond=0)
    subject: dict[str, Any] = {
        "id": recipient.subject_id if recipient is not None else subject_id,
        "type": ["AchievementSubject"],
        "achievement": achievement_document(achievement, base_url=base_url),
    }
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(organisation, base_url=base_url, key=key),
        "validFrom": isoformat(valid_from),
        "name": achievement.name,
        "credentialSubject": subject,
        "credentialStatus": status_entry,
    }
    if achievement.validity_days:
        credential["validUntil"] = isoformat(valid_from + dt.timedelta(days=achievement.validity_days))
    if evidence:
        credential["evidence"] = _evidence(evidence)
    jsonld.assert_portable(credential)
    signed = dataintegrity.sign(
        credential,
        private_key=private_key_of(key, kek=kek),
        verification_method=signing_method(organisation, key, base_url=base_url),
        created=isoformat(now),
        cryptosuite="eddsa-rdfc-2022",
    )
    issued = add_inserted(
        db,
        IssuedCredential,
        {
            "organisation_id": organisation.id,
            "achievement_id": achievement.id,
            "recipient_account_id": recipient.id if recipient is not None else None,
            "credential_id": credential_id,
            "status_list_id": status_list.id,
            "status_index": index,
            "issued_at": now,
            "credential_json": json.dumps(signed, ensure_ascii=False),
        }
        | ({"id": record_id} if record_id is not None else {}),
    )
    assert issued is not None  # no ON CONFLICT: a clash raises
    return issued


def award(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    achievement_id: uuid.UUID,
    username: str,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
    evidence: list[dict[str, Any]] | None = None,
) -> IssuedCredential:
    """Issue an achievement to a learner by username and put it in their wallet (admins)."""
    from wallet.issuing.delivery import deliver  # delivery holds the credential: holding sits above issuing

    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = db.get(Achievement, achievement_id)
    if achievement is None or achievement.organisation_id != organisation.id:
        raise DomainError("achievement.not_found")
    recipient = db.scalar(select(Account).where(Account.username == normalise_username(username)))
    if recipient is None:
        raise DomainError("account.not_found", "No account has that username.")
    delivered = deliver(
        db,
        achievement_id=achievement.id,
        account_id=recipient.id,
        source="award",
        kek=kek,
        base_url=base_url,
        now=now,
        evidence=evidence,
    )
    return delivered.issued


def list_awards(
    db: Session, *, slug: str, actor: uuid.UUID
) -> list[tuple[IssuedCredential, Achievement, Account | None]]:
    """What the organisation issued, newest first, with recipients' username and display name only (admins)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    rows = db.execute(
        select(IssuedCredential, Achievement, Account)
        .join(Achievement, Achievement.id == IssuedCredential.achievement_id)
        .outerjoin(Account, Account.id == IssuedCredential.recipient_account_id)
        .where(IssuedCredential.organisation_id == organisation.id)
        .order_by(IssuedCredential.issued_at.desc(), IssuedCredential.credential_id)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def revoke(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID | None,
    issued_id: uuid.UUID,
    reason: str,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
) -> IssuedCredential:
    """Revoke (admins): set the credential's bit and re-sign its list. Revoking twice changes nothing."""
    organisation = (
        get_by_slug(db, slug=slug) if actor is None else require_role(db, slug=slug, actor=actor, roles=ADMINS)
    )
    issued = db.get(IssuedCredential, issued_id)
    if issued is None or issued.organisation_id != organisation.id:
        raise DomainError("credential.not_found")
    if issued.revoked_at is not None:
        return issued
    set_status(
        db,
        organisation=organisation,
        status_list_id=issued.status_list_id,
        index=issued.status_index,
        kek=kek,
        base_url=base_url,
        now=now,
    )
    issued.revoked_at = now
    issued.revocation_reason = reason
    db.flush()
    return issued


def issued_to(db: Session, *, account_id: uuid.UUID) -> list[tuple[IssuedCredential, Organisation, Achievement]]:
    """Credentials issued here to ``account_id`` (for the learner's data export)."""
    rows = db.execute(
        select(IssuedCredential, Organisation, Achievement)
        .join(Organisation, Organisation.id == IssuedCredential.organisation_id)
        .join(Achievement, Achievement.id == IssuedCredential.achievement_id)
        .where(IssuedCredential.recipient_account_id == account_id)
        .order_by(IssuedCredential.issued_at)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]
