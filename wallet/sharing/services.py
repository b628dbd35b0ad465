"""Share links: made, listed, changed and revoked by their learner; opened by anyone holding the URL.

A share link is a capability URL. Its slug is 32 characters of :func:`secrets.token_urlsafe` (192 bits),
so guessing one is hopeless; the public page also limits how many unknown slugs one address may try
(:mod:`wallet.sharing.limits`). The slug is stored in clear because the learner lists and copies their
links again (see :mod:`wallet.models.sharing`); it never contains anything about the learner.

Every function that acts for a learner takes ``account_id`` and only ever touches that learner's rows:
another learner's link is ``share.not_found``, exactly like a link that does not exist.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet.changelog.history import stored_rows
from wallet.errors import DomainError
from wallet.models import HeldCredential, ShareLink, ShareTarget

SLUG_BYTES = 24
"""192 bits of randomness; token_urlsafe turns them into 32 URL-safe characters."""

MAX_LINKS_PER_ACCOUNT = 500


def new_slug() -> str:
    return secrets.token_urlsafe(SLUG_BYTES)


def link_state(link: ShareLink, *, now: dt.datetime) -> str:
    """``active``, ``expired`` or ``revoked`` (revoked wins: it was a deliberate act)."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at is not None and link.expires_at <= now:
        return "expired"
    return "active"


def _check_expiry(expires_at: dt.datetime | None, now: dt.datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise DomainError(
            "request.validation_failed",
            "A link must expire in the future.",
            errors={"expires_at": ["must be in the future"]},
        )


def _require_target(db: Session, *, account_id: uuid.UUID, kind: ShareTarget, target_id: uuid.UUID) -> None:
    if kind is ShareTarget.CREDENTIAL:
        owned = db.scalar(
            select(HeldCredential.id).where(HeldCredential.id == target_id, HeldCredential.account_id == account_id)
        )
        if owned is None:
            raise DomainError("credential.not_found")
        return
    if kind is ShareTarget.SKILLS:
        if target_id != account_id:
            raise DomainError("request.not_found")
        return
    if collection_of(db, account_id=account_id, collection_id=target_id) is None:
        raise DomainError("collection.not_found")


@dataclass(frozen=True)
class SharedCollection:
    name: str
    credentials: list[HeldCredential]


def collection_of(db: Session, *, account_id: uuid.UUID, collection_id: uuid.UUID) -> SharedCollection | None:
    """A live collection of the learner's synced wallet, its members in the wallet's own order.

    Collections exist only in the replicated wallet state, so this reads the same merged view every
    device shows; members whose bytes the server does not hold (yet) are left out.
    """
    from wallet_protocol.sync import view

    wanted = str(collection_id)
    for collection in view(stored_rows(db, account_id=account_id))["collections"]:
        if collection["coll"] == wanted:
            held = {
                credential.content_hash: credential
                for credential in db.scalars(
                    select(HeldCredential).where(
                        HeldCredential.account_id == account_id,
                        HeldCredential.content_hash.in_(collection["members"]),
                    )
                )
            }
            members = [held[cred] for cred in collection["members"] if cred in held]
            return SharedCollection(collection["name"], members)
    return None


def shared_collection(db: Session, *, link: ShareLink) -> SharedCollection | None:
    """The collection a link shows, if it still exists (deleting it ends every link to it)."""
    if link.target_kind is not ShareTarget.COLLECTION:
        return None
    return collection_of(db, account_id=link.account_id, collection_id=link.target_id)


def create_share(
    db: Session,
    *,
    account_id: uuid.UUID,
    target_kind: ShareTarget,
    target_id: uuid.UUID,
    label: str = "",
    expires_at: dt.datetime | None = None,
    allow_indexing: bool = False,
    show_evidence: bool = False,
    now: dt.datetime,
) -> ShareLink:
    """A new link to one of the learner's own credentials or collections (``*.not_found`` otherwise)."""
    _check_expiry(expires_at, now)
    _require_target(db, account_id=account_id, kind=target_kind, target_id=target_id)
    count = len(
        db.scalars(select(ShareLink.id).where(ShareLink.account_id == account_id).limit(MAX_LINKS_PER_ACCOUNT)).all()
    )
    if count >= MAX_LINKS_PER_ACCOUNT:
        raise DomainError(
            "request.conflict", f"You already have {MAX_LINKS_PER_ACCOUNT} share links; revoke some you no longer need."
        )
    link = ShareLink(
        account_id=account_id,
        slug=new_slug(),
        target_kind=target_kind,
        target_id=target_id,
        label=label.strip(),
        expires_at=expires_at,
        revoked_at=None,
        allow_indexing=allow_indexing,
        show_evidence=show_evidence,
        view_count=0,
        last_viewed_at=None,
        created_at=now,
    )
    db.add(link)
    db.flush()
    return link


def list_shares(db: Session, *, account_id: uuid.UUID, target_id: uuid.UUID | None = None) -> Sequence[ShareLink]:
    """The learner's links, newest first (optionally only those of one credential)."""
    query = select(ShareLink).where(ShareLink.account_id == account_id)
    if target_id is not None:
        query = query.where(ShareLink.target_id == target_id)
    return db.scalars(query.order_by(ShareLink.created_at.desc(), ShareLink.id)).all()


def get_share(db: Session, *, account_id: uuid.UUID, share_id: uuid.UUID) -> ShareLink:
    link = db.scalar(select(ShareLink).where(ShareLink.id == share_id, ShareLink.account_id == account_id))
    if link is None:
        raise DomainError("share.not_found")
    return link


_UNSET: Any = object()


def update_share(
    db: Session,
    *,
    account_id: uuid.UUID,
    share_id: uuid.UUID,
    now: dt.datetime,
    label: str | None = None,
    expires_at: dt.datetime | None = _UNSET,
    allow_indexing: bool | None = None,
    show_evidence: bool | None = None,
) -> ShareLink:
    """Change a link's label, expiry (``None`` removes it) or what its page shows. A revoked link stays
    revoked: revocation is final, so a leaked URL cannot be brought back by mistake."""
    link = get_share(db, account_id=account_id, share_id=share_id)
    if link.revoked_at is not None:
        raise DomainError("share.revoked", "A revoked link cannot be changed; make a new one.")
    if expires_at is not _UNSET:
        _check_expiry(expires_at, now)
        link.expires_at = expires_at
    if label is not None:
        link.label = label.strip()
    if allow_indexing is not None:
        link.allow_indexing = allow_indexing
    if show_evidence is not None:
        link.show_evidence = show_evidence
    db.flush()
    return link


def revoke_share(db: Session, *, account_id: uuid.UUID, share_id: uuid.UUID, now: dt.datetime) -> ShareLink:
    """Turn the link off for good; revoking twice keeps the first time."""
    link = get_share(db, account_id=account_id, share_id=share_id)
    db.execute(
        update(ShareLink)
        .where(ShareLink.id == link.id, ShareLink.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.refresh(link)
    return link


def open_share(db: Session, *, slug: str, now: dt.datetime) -> ShareLink:
    """The link behind a public URL: ``share.not_found``, ``share.revoked`` or ``share.expired`` otherwise."""
    if not slug or len(slug) > 64:
        raise DomainError("share.not_found")
    link = db.scalar(select(ShareLink).where(ShareLink.slug == slug))
    if link is None:
        raise DomainError("share.not_found")
    state = link_state(link, now=now)
    if state == "revoked":
        raise DomainError("share.revoked")
    if state == "expired":
        raise DomainError("share.expired")
    return link


def record_view(db: Session, *, share_id: uuid.UUID, now: dt.datetime) -> None:
    """Count one view with a single UPDATE, so concurrent views never lose a count."""
    db.execute(
        update(ShareLink)
        .where(ShareLink.id == share_id)
        .values(view_count=ShareLink.view_count + 1, last_viewed_at=now)
        .execution_options(synchronize_session=False)
    )


def shared_credential(db: Session, *, link: ShareLink) -> HeldCredential | None:
    """The credential a link shows, if the learner still holds it (deleting it ends every link to it)."""
    if link.target_kind is not ShareTarget.CREDENTIAL:
        return None
    return db.scalar(
        select(HeldCredential).where(HeldCredential.id == link.target_id, HeldCredential.account_id == link.account_id)
    )


def export_shares(db: Session, *, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The learner's links for the account export (GDPR Art. 15/20); ``path`` is relative to the service."""
    return [
        {
            "id": str(link.id),
            "path": f"/s/{link.slug}",
            "target_kind": str(link.target_kind),
            "target_id": str(link.target_id),
            "label": link.label,
            "created_at": link.created_at.isoformat(),
            "expires_at": link.expires_at.isoformat() if link.expires_at else None,
            "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
            "allow_indexing": link.allow_indexing,
            "show_evidence": link.show_evidence,
            "view_count": link.view_count,
            "last_viewed_at": link.last_viewed_at.isoformat() if link.last_viewed_at else None,
        }
        for link in list_shares(db, account_id=account_id)
    ]


def share_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/s/{slug}"
