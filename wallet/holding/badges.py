"""Read models of the learner's own wallet pages: the badge list, one badge, collections, share links.

The learner's metadata (pins, notes, tags, collections) is read from the synced wallet
(:func:`wallet.changelog.edits.wallet_view`), the same view every device shows; the credential itself from
the held store. The verification panel is the share page's (:func:`wallet.sharing.pages.badge_panel`),
so the owner reads the same plain-language verdict an employer would — never more than the credential
proves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from wallet_protocol.sync.state import normalise_tag

from wallet.changelog.edits import wallet_view
from wallet.endorsements import proven
from wallet.endorsements.proven import ProvenEndorsement, VerifyDocument
from wallet.errors import DomainError
from wallet.holding.registry import IssuerRegistry
from wallet.holding.services import record_verification
from wallet.holding.trust import IssuerDirectory
from wallet.models import HeldCredential, ShareLink, ShareTarget
from wallet.sharing import services as sharing
from wallet.sharing.pages import BadgePanel, badge_panel, sharer_name
from wallet.sharing.record import RecordView, record_view
from wallet.sharing.verdict import VerificationCache, cached_report

MAX_QUERY_LENGTH = 200

_STATE_WORDS = {
    "valid": ("good", "Checks passed"),
    "invalid": ("bad", "Failed its checks"),
    "indeterminate": ("unknown", "Could not check"),
    None: ("none", "Not checked yet"),
}


@dataclass(frozen=True)
class BadgeCard:
    """One badge in the list: what a learner needs to recognise it at a glance."""

    id: uuid.UUID
    cred: str
    name: str
    issuer: str
    issued_at: dt.datetime | None
    has_image: bool
    state: str
    """``good``, ``bad``, ``unknown`` or ``none`` (the last stored check; the badge page checks afresh)."""
    state_words: str
    expired: bool
    pinned: bool
    note: str
    tags: list[str]
    collections: list[str]


@dataclass(frozen=True)
class BadgeQuery:
    """What the learner searches for; empty fields do not narrow the list."""

    q: str = ""
    issuer: str = ""
    tag: str = ""
    collection: str = ""
    pinned: bool = False

    @classmethod
    def parse(cls, args: Any) -> BadgeQuery:
        def text(name: str) -> str:
            value = args.get(name, "")
            return " ".join(str(value).split())[:MAX_QUERY_LENGTH].rstrip()

        return cls(text("q"), text("issuer"), text("tag"), text("collection"), args.get("pinned") in ("1", "on"))

    @property
    def active(self) -> bool:
        return bool(self.q or self.issuer or self.tag or self.collection or self.pinned)


@dataclass(frozen=True)
class CollectionSummary:
    coll: str
    name: str
    size: int


@dataclass(frozen=True)
class MyBadges:
    cards: list[BadgeCard]
    total: int
    """How many badges the wallet holds in all (before the search)."""
    issuers: list[str]
    tags: list[str]
    collections: list[CollectionSummary]
    query: BadgeQuery


def _cards(held: Sequence[HeldCredential], wallet: dict[str, Any], now: dt.datetime) -> list[BadgeCard]:
    entries = {item["cred"]: item for item in wallet["credentials"]}
    names_of: dict[str, list[str]] = {}
    for collection in wallet["collections"]:
        for cred in collection["members"]:
            names_of.setdefault(cred, []).append(collection["name"])
    cards = []
    for credential in held:
        entry = entries.get(credential.content_hash, {})
        state, words = _STATE_WORDS.get(credential.outcome, _STATE_WORDS[None])
        cards.append(
            BadgeCard(
                id=credential.id,
                cred=credential.content_hash,
                name=credential.achievement_name or "Untitled badge",
                issuer=credential.issuer_name or credential.issuer_id or "an unnamed issuer",
                issued_at=credential.issued_at,
                has_image=bool(credential.image_url),
                state=state,
                state_words=words,
                expired=credential.expires_at is not None and credential.expires_at <= now,
                pinned=bool(entry.get("pinned")),
                note=entry.get("note") or "",
                tags=list(entry.get("tags", [])),
                collections=names_of.get(credential.content_hash, []),
            )
        )
    return cards


def _matches(card: BadgeCard, query: BadgeQuery, members: set[str] | None) -> bool:
    if query.pinned and not card.pinned:
        return False
    if query.tag and normalise_tag(query.tag) not in card.tags:
        return False
    if members is not None and card.cred not in members:
        return False
    if query.issuer and query.issuer != card.issuer:
        return False
    if query.q:
        words = query.q.casefold()
        haystack = " ".join([card.name, card.issuer, card.note, *card.tags]).casefold()
        return words in haystack
    return True


def _held(db: Session, *, account_id: uuid.UUID) -> list[HeldCredential]:
    return list(
        db.scalars(
            select(HeldCredential)
            .where(HeldCredential.account_id == account_id)
            .order_by(HeldCredential.issued_at.desc().nulls_last(), HeldCredential.added_at.desc(), HeldCredential.id)
        )
    )


def my_badges(db: Session, *, account_id: uuid.UUID, query: BadgeQuery, now: dt.datetime) -> MyBadges:
    """The learner's badges, pinned first then newest first, narrowed by ``query``.

    A learner holds hundreds of badges, not millions: the search runs over the whole wallet in Python,
    which also lets it look in notes and tags (synced rows) as well as names and issuers.
    """
    wallet = wallet_view(db, account_id=account_id)
    cards = _cards(_held(db, account_id=account_id), wallet, now)
    collections = [CollectionSummary(c["coll"], c["name"], len(c["members"])) for c in wallet["collections"]]
    members = None
    if query.collection:
        members = next((set(c["members"]) for c in wallet["collections"] if c["coll"] == query.collection), set())
    shown = [card for card in cards if _matches(card, query, members)]
    shown.sort(key=lambda card: not card.pinned)  # stable: newest first within pinned and unpinned
    return MyBadges(
        cards=shown,
        total=len(cards),
        issuers=sorted({card.issuer for card in cards}, key=str.casefold),
        tags=sorted({tag for card in cards for tag in card.tags}),
        collections=collections,
        query=query,
    )


def parse_id(text: str) -> uuid.UUID | None:
    """A wallet id from a URL or a form (``None`` for anything that is not a canonical UUID)."""
    if not isinstance(text, str) or len(text) != 36:
        return None
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text else None


def own_credential(db: Session, *, account_id: uuid.UUID, badge_id: str) -> HeldCredential:
    """One of the learner's badges by its wallet id; anything else (another learner's, malformed) is 404."""
    parsed = parse_id(badge_id)
    credential = (
        db.scalar(select(HeldCredential).where(HeldCredential.id == parsed, HeldCredential.account_id == account_id))
        if parsed
        else None
    )
    if credential is None:
        raise DomainError("credential.not_found")
    return credential


@dataclass(frozen=True)
class ShareSummary:
    id: uuid.UUID
    url: str
    label: str
    target_kind: str
    """``badge``, ``record``, ``collection`` or ``skills``."""
    target_id: uuid.UUID
    target_name: str
    state: str
    """``active``, ``expired``, ``revoked``, or ``gone`` (its badge or collection was deleted)."""
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    views: int
    last_viewed_at: dt.datetime | None


SKILLS_NAME = "Your skills summary"


def _target_names(db: Session, *, account_id: uuid.UUID, wallet: dict[str, Any]) -> dict[uuid.UUID, tuple[str, str]]:
    """Each thing a link may show, by id: its name and its kind (``badge``, ``record``, ``collection``,
    ``skills``)."""
    names: dict[uuid.UUID, tuple[str, str]] = {
        row.id: (row.achievement_name or "Untitled badge", "record" if row.source == "record" else "badge")
        for row in db.execute(
            select(HeldCredential.id, HeldCredential.achievement_name, HeldCredential.source).where(
                HeldCredential.account_id == account_id
            )
        )
    }
    for collection in wallet["collections"]:
        names[uuid.UUID(collection["coll"])] = (collection["name"], "collection")
    names[account_id] = (SKILLS_NAME, "skills")
    return names


def _summary(
    link: ShareLink, *, names: dict[uuid.UUID, tuple[str, str]], base_url: str, now: dt.datetime
) -> ShareSummary:
    state = sharing.link_state(link, now=now)
    found = names.get(link.target_id)
    if link.target_kind is ShareTarget.SKILLS:
        found = (SKILLS_NAME, "skills")
    elif found is not None and (found[1] == "collection") != (link.target_kind is ShareTarget.COLLECTION):
        found = None
    if found is None and state == "active":
        state = "gone"
    fallback = "collection" if link.target_kind is ShareTarget.COLLECTION else "badge"
    name, kind = found if found is not None else (None, fallback)
    return ShareSummary(
        id=link.id,
        url=sharing.share_url(base_url, link.slug),
        label=link.label,
        target_kind=kind,
        target_id=link.target_id,
        target_name=name or "(deleted)",
        state=state,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        views=link.view_count,
        last_viewed_at=link.last_viewed_at,
    )


def my_shares(
    db: Session, *, account_id: uuid.UUID, base_url: str, now: dt.datetime, target_id: uuid.UUID | None = None
) -> list[ShareSummary]:
    """The learner's links, newest first (optionally those of one badge or collection)."""
    names = _target_names(db, account_id=account_id, wallet=wallet_view(db, account_id=account_id))
    links = sharing.list_shares(db, account_id=account_id, target_id=target_id)
    return [_summary(link, names=names, base_url=base_url, now=now) for link in links]


def my_share(db: Session, *, account_id: uuid.UUID, share_id: str, base_url: str, now: dt.datetime) -> ShareSummary:
    """One of the learner's links (``share.not_found`` for another learner's or a malformed id)."""
    parsed = parse_id(share_id)
    if parsed is None:
        raise DomainError("share.not_found")
    link = sharing.get_share(db, account_id=account_id, share_id=parsed)
    names = _target_names(db, account_id=account_id, wallet=wallet_view(db, account_id=account_id))
    return _summary(link, names=names, base_url=base_url, now=now)


@dataclass(frozen=True)
class BadgeDetail:
    credential: HeldCredential
    panel: BadgePanel
    pinned: bool
    note: str
    tags: list[str]
    collections: list[CollectionSummary]
    """The collections it is in."""
    other_collections: list[CollectionSummary]
    """The collections it could be added to."""
    shares: list[ShareSummary] = field(default_factory=list)
    endorsements: list[ProvenEndorsement] = field(default_factory=list)
    """Endorsements of its achievement or issuer, each as far as it proves anything."""


def badge_detail(
    db: Session,
    *,
    account_id: uuid.UUID,
    badge_id: str,
    registry: IssuerRegistry,
    cache: VerificationCache,
    base_url: str,
    verify: Callable[[HeldCredential], dict[str, Any]],
    now: dt.datetime,
    verify_document: VerifyDocument | None = None,
) -> BadgeDetail:
    """One badge with the verification panel an employer would see, and the learner's own metadata.

    With ``verify_document`` (which checks an endorsement's bytes), the endorsements of the badge's
    achievement and issuer too, each as far as it proves anything (:mod:`wallet.endorsements.proven`).

    A check newer than the stored one is kept (:func:`record_verification`), so the list shows it at a
    glance and the learner's devices receive it as a sync fact; the caller commits.
    """
    credential = own_credential(db, account_id=account_id, badge_id=badge_id)
    wallet = wallet_view(db, account_id=account_id)
    entry = next((item for item in wallet["credentials"] if item["cred"] == credential.content_hash), {})
    directory = IssuerDirectory.load(db, registry=registry, base_url=base_url)
    panel = badge_panel(
        db,
        held=credential,
        sharer=sharer_name(db, account_id=account_id),
        directory=directory,
        cache=cache,
        base_url=base_url,
        verify=verify,
        now=now,
    )
    cached = cached_report(db, held=credential, cache=cache, base_url=base_url, verify=verify, now=now)
    if credential.verified_at is None or credential.verified_at < cached.checked_at:
        record_verification(db, credential, report=cached.report, now=cached.checked_at)
    inside, outside = [], []
    for c in wallet["collections"]:
        summary = CollectionSummary(c["coll"], c["name"], len(c["members"]))
        (inside if credential.content_hash in c["members"] else outside).append(summary)
    names = _target_names(db, account_id=account_id, wallet=wallet)
    shares = [
        _summary(link, names=names, base_url=base_url, now=now)
        for link in sharing.list_shares(db, account_id=account_id, target_id=credential.id)
    ]
    return BadgeDetail(
        credential=credential,
        panel=panel,
        pinned=bool(entry.get("pinned")),
        note=entry.get("note") or "",
        tags=list(entry.get("tags", [])),
        collections=inside,
        other_collections=outside,
        shares=shares,
        endorsements=proven.for_badge(
            db,
            achievement_id_url=credential.achievement_id,
            badge_trust=panel.trust,
            directory=directory,
            cache=cache,
            base_url=base_url,
            verify=verify_document,
            now=now,
        ),
    )


@dataclass(frozen=True)
class CollectionDetail:
    coll: str
    name: str
    position: int
    count: int
    """How many collections there are (for the move buttons)."""
    members: list[BadgeCard]
    candidates: list[BadgeCard]
    """The wallet's badges not in it yet."""
    shares: list[ShareSummary]


def collection_detail(
    db: Session, *, account_id: uuid.UUID, coll: str, base_url: str, now: dt.datetime
) -> CollectionDetail:
    """A live collection of the learner's (``collection.not_found`` otherwise, another learner's too)."""
    wallet = wallet_view(db, account_id=account_id)
    position, found = next(
        ((index, c) for index, c in enumerate(wallet["collections"]) if c["coll"] == coll), (0, None)
    )
    if found is None or parse_id(coll) is None:
        raise DomainError("collection.not_found")
    cards = {card.cred: card for card in _cards(_held(db, account_id=account_id), wallet, now)}
    members = [cards[cred] for cred in found["members"] if cred in cards]
    candidates = [card for cred, card in cards.items() if cred not in set(found["members"])]
    names = _target_names(db, account_id=account_id, wallet=wallet)
    shares = [
        _summary(link, names=names, base_url=base_url, now=now)
        for link in sharing.list_shares(db, account_id=account_id, target_id=uuid.UUID(coll))
    ]
    return CollectionDetail(
        coll=coll,
        name=found["name"],
        position=position,
        count=len(wallet["collections"]),
        members=members,
        candidates=candidates,
        shares=shares,
    )


@dataclass(frozen=True)
class RecordDetail:
    """One of the learner's records (CLR 2.0): what it says, its panel, a panel per badge inside, its links."""

    credential: HeldCredential
    record: RecordView
    shares: list[ShareSummary]


def record_detail(
    db: Session,
    *,
    account_id: uuid.UUID,
    credential: HeldCredential,
    registry: IssuerRegistry,
    cache: VerificationCache,
    base_url: str,
    verify: Callable[[HeldCredential], dict[str, Any]],
    service_dids: Sequence[str],
    now: dt.datetime,
) -> RecordDetail:
    """The learner's own record ``credential`` (from :func:`own_credential`), read as an employer would.

    Like :func:`badge_detail`, a check newer than the stored one is kept; the caller commits."""
    record = record_view(
        db,
        held=credential,
        sharer=sharer_name(db, account_id=account_id),
        sharer_id=account_id,
        directory=IssuerDirectory.load(db, registry=registry, base_url=base_url),
        cache=cache,
        base_url=base_url,
        verify=verify,
        service_dids=service_dids,
        now=now,
    )
    cached = cached_report(db, held=credential, cache=cache, base_url=base_url, verify=verify, now=now)
    if credential.verified_at is None or credential.verified_at < cached.checked_at:
        record_verification(db, credential, report=cached.report, now=cached.checked_at)
    names = _target_names(db, account_id=account_id, wallet=wallet_view(db, account_id=account_id))
    shares = [
        _summary(link, names=names, base_url=base_url, now=now)
        for link in sharing.list_shares(db, account_id=account_id, target_id=credential.id)
    ]
    return RecordDetail(credential=credential, record=record, shares=shares)
