"""Read models of the public pages: what a share page, a collection page or an issuer page shows.

The views in :mod:`wallet.pages.sharing` open the link, count the view, and render one of these
dataclasses; the queries, the verification report (cached, see :mod:`wallet.sharing.verdict`), the issuer
trust (:mod:`wallet.holding.trust`) and the holder binding (:mod:`wallet.holding.binding`) are assembled
here, so the same page could be served by another front end.

``verify`` is the caller's way of checking a credential now (it owns the fetcher, which may answer this
service's own URLs in process); it is only called when the cache has no fresh report.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.endorsements import proven
from wallet.endorsements.proven import ProvenEndorsement, VerifyDocument
from wallet.holding.binding import HolderBinding
from wallet.holding.registry import IssuerRegistry
from wallet.holding.services import binding_of
from wallet.holding.trust import IssuerDirectory, IssuerTrust
from wallet.models import Account, Achievement, HeldCredential, IssuerKey, Organisation, ShareLink
from wallet.sharing.badge import BadgeView, badge_view, safe_url
from wallet.sharing.services import SharedCollection, share_url
from wallet.sharing.verdict import Verdict, VerificationCache, cached_report, issuer_words, recipient_words, verdict

Verify = Callable[[HeldCredential], dict[str, Any]]


@dataclass(frozen=True)
class BadgePanel:
    """One credential with its verification panel, as a share page or a collection page shows it.

    ``issuer_name`` is the issuer as far as we can vouch for it ("an issuer we don't know, calling itself
    X" otherwise); ``recipient`` is whom the credential names. ``issuer_slug`` is set for organisations on
    this server (their page here); ``issuer_url`` is a website to link to only for registry-known issuers.
    """

    badge: BadgeView
    verdict: Verdict
    trust: IssuerTrust
    holder: HolderBinding
    issuer_name: str
    recipient: str
    issuer_slug: str | None
    issuer_url: str | None
    expired: bool


@dataclass(frozen=True)
class BadgePage:
    slug: str
    share_url: str
    sharer: str
    panel: BadgePanel
    indexable: bool
    show_evidence: bool
    image_abs_url: str
    download_name: str
    endorsements: list[ProvenEndorsement] = field(default_factory=list)
    """Endorsements of its achievement or issuer, each as far as it proves anything."""


@dataclass(frozen=True)
class CollectionPage:
    slug: str
    share_url: str
    name: str
    sharer: str
    items: list[BadgePanel]
    indexable: bool


@dataclass(frozen=True)
class IssuerAbout:
    organisation: Organisation
    keys: Sequence[IssuerKey]
    achievements: Sequence[Achievement]
    website: str | None
    profile_url: str


def sharer_name(db: Session, *, account_id: uuid.UUID) -> str:
    """The name of the learner who made the link (their display name, else their username)."""
    account = db.get(Account, account_id)
    return (account.display_name or account.username) if account else "the holder"


def issued_text(held: HeldCredential) -> tuple[bytes, str]:
    """The credential as issued and its media type (JSON-LD, or the JWT as text)."""
    raw = held.raw
    if raw.lstrip()[:1] == b"{":
        return raw, "application/ld+json"
    return raw, held.media_type or "application/jwt"


def badge_panel(
    db: Session,
    *,
    held: HeldCredential,
    sharer: str,
    directory: IssuerDirectory,
    cache: VerificationCache,
    base_url: str,
    verify: Verify,
    now: dt.datetime,
) -> BadgePanel:
    badge = badge_view(held)
    cached = cached_report(db, held=held, cache=cache, base_url=base_url, verify=verify, now=now)
    trust = directory.judge(cached.report, issuer_id=held.issuer_id, claimed_name=badge.issuer_name)
    holder = binding_of(held)
    result = verdict(
        cached.report,
        checked_at=cached.checked_at,
        issuer=badge.issuer_name,
        learner=sharer,
        issued_at=badge.issued_at,
        expires_at=badge.expires_at,
        trust=trust,
        holder=holder,
        sharer=sharer,
    )
    return BadgePanel(
        badge=badge,
        verdict=result,
        trust=trust,
        holder=holder,
        issuer_name=issuer_words(trust),
        recipient=recipient_words(holder, sharer=sharer),
        issuer_slug=trust.organisation_slug,
        issuer_url=trust.url if trust.kind == "registry" else None,
        expired=badge.expires_at is not None and badge.expires_at <= now,
    )


def badge_page(
    db: Session,
    *,
    link: ShareLink,
    held: HeldCredential,
    registry: IssuerRegistry,
    cache: VerificationCache,
    base_url: str,
    verify: Verify,
    now: dt.datetime,
    verify_document: VerifyDocument | None = None,
) -> BadgePage:
    """The page of a link to one credential (with ``verify_document``, its endorsements too, each checked)."""
    sharer = sharer_name(db, account_id=link.account_id)
    directory = IssuerDirectory.load(db, registry=registry, base_url=base_url)
    panel = badge_panel(
        db, held=held, sharer=sharer, directory=directory, cache=cache, base_url=base_url, verify=verify, now=now
    )
    url = share_url(base_url, link.slug)
    return BadgePage(
        slug=link.slug,
        share_url=url,
        sharer=sharer,
        panel=panel,
        indexable=link.allow_indexing,
        show_evidence=link.show_evidence,
        image_abs_url=f"{url}/image",
        download_name=re.sub(r"[^A-Za-z0-9]+", "-", panel.badge.name).strip("-").lower() or "badge",
        endorsements=proven.for_badge(
            db,
            achievement_id_url=held.achievement_id,
            badge_trust=panel.trust,
            directory=directory,
            cache=cache,
            base_url=base_url,
            verify=verify_document,
            now=now,
        ),
    )


def collection_page(
    db: Session,
    *,
    link: ShareLink,
    collection: SharedCollection,
    registry: IssuerRegistry,
    cache: VerificationCache,
    base_url: str,
    verify: Verify,
    now: dt.datetime,
) -> CollectionPage:
    """The page of a link to a collection: each badge with its own panel."""
    sharer = sharer_name(db, account_id=link.account_id)
    directory = IssuerDirectory.load(db, registry=registry, base_url=base_url)
    items = [
        badge_panel(
            db, held=held, sharer=sharer, directory=directory, cache=cache, base_url=base_url, verify=verify, now=now
        )
        for held in collection.credentials
    ]
    return CollectionPage(
        slug=link.slug,
        share_url=share_url(base_url, link.slug),
        name=collection.name,
        sharer=sharer,
        items=items,
        indexable=link.allow_indexing,
    )


def issuer_about(db: Session, *, slug: str, base_url: str) -> IssuerAbout | None:
    """Who an organisation is, every key it signs with (current first) and its live badges."""
    organisation = db.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        return None
    keys = db.scalars(
        select(IssuerKey)
        .where(IssuerKey.organisation_id == organisation.id)
        .order_by(IssuerKey.retired_at.is_not(None), IssuerKey.created_at.desc())
    ).all()
    achievements = db.scalars(
        select(Achievement)
        .where(Achievement.organisation_id == organisation.id, Achievement.archived_at.is_(None))
        .order_by(Achievement.name)
    ).all()
    return IssuerAbout(
        organisation=organisation,
        keys=keys,
        achievements=achievements,
        website=safe_url(organisation.url),
        profile_url=f"{base_url.rstrip('/')}/issuers/{slug}",
    )
