"""A place's skills frameworks: import (versioned), browse, and align achievements to their items.

Who may do what:

* the operator (the CLI, ``actor=None``) may import any framework;
* an organisation's admins may import a new framework, owned by their organisation (the place's anchor
  organisation), and new versions of the frameworks their organisation owns;
* anyone may read a framework (it is public: other systems read the alignments that point at it);
* an organisation's admins align their own achievements to any framework's items.

Versions are immutable (see :mod:`wallet.models.pathways`): an alignment's ``targetUrl`` names one
version's item, and :func:`alignment_freshness` says when a newer version exists and whether the item
changed in it; nothing re-points an alignment by itself.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.errors import DomainError
from wallet.models import Achievement, Organisation, SkillFramework, SkillFrameworkVersion, SkillItem
from wallet.organisations.services import ADMINS, get_by_slug, require_operator, require_role, role_of
from wallet.skills import formats
from wallet.skills.formats import ParsedFramework

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
MAX_ALIGNMENTS = 50


def framework_url(base_url: str, slug: str, version: int | None = None) -> str:
    root = f"{base_url.rstrip('/')}/frameworks/{slug}"
    return root if version is None else f"{root}/v{version}"


def item_url(base_url: str, slug: str, version: int, identifier: str) -> str:
    """The alignment ``targetUrl`` of one version's item (also its public page)."""
    return f"{framework_url(base_url, slug, version)}/items/{quote(identifier, safe='')}"


_ITEM_URL = re.compile(r"^/frameworks/(?P<slug>[a-z0-9-]{1,60})/v(?P<version>[0-9]{1,6})/items/(?P<item>[^/?#]+)$")


def parse_item_url(base_url: str, url: str) -> tuple[str, int, str] | None:
    """(framework slug, version, item identifier) when ``url`` is one of our item URLs."""
    root = base_url.rstrip("/")
    if not url.startswith(root + "/"):
        return None
    match = _ITEM_URL.match(url[len(root) :])
    if match is None:
        return None
    return match["slug"], int(match["version"]), unquote(match["item"])


@dataclass(frozen=True)
class ImportResult:
    framework: SkillFramework
    version: SkillFrameworkVersion
    created: bool
    """False when the file said nothing new: the latest version is returned, no version is added."""


def _check_slug(slug: str) -> None:
    if not _SLUG.match(slug):
        raise DomainError(
            "request.validation_failed",
            "A framework's slug has lower-case letters, digits and hyphens.",
            errors={"slug": ["lower-case letters, digits and hyphens, 1 to 60 characters"]},
        )


def _latest(db: Session, framework: SkillFramework) -> SkillFrameworkVersion:
    version = db.scalar(
        select(SkillFrameworkVersion).where(
            SkillFrameworkVersion.framework_id == framework.id,
            SkillFrameworkVersion.version == framework.latest_version,
        )
    )
    assert version is not None
    return version


def import_framework(
    db: Session,
    *,
    slug: str,
    parsed: ParsedFramework,
    actor: uuid.UUID | None,
    organisation_slug: str | None,
    now: dt.datetime,
) -> ImportResult:
    """Import ``parsed`` as framework ``slug``: its first version, a new version, or (unchanged) nothing."""
    _check_slug(slug)
    framework = db.scalar(select(SkillFramework).where(SkillFramework.slug == slug).with_for_update())
    if framework is None:
        owner: Organisation | None = None
        if actor is not None:
            if organisation_slug is None:
                raise DomainError(
                    "request.validation_failed",
                    "Say which organisation owns the new framework.",
                    errors={"organisation": ["the slug of an organisation you administer"]},
                )
            owner = require_role(db, slug=organisation_slug, actor=actor, roles=ADMINS)
        elif organisation_slug is not None:
            owner = get_by_slug(db, slug=organisation_slug)
        framework = SkillFramework(
            slug=slug,
            organisation_id=owner.id if owner else None,
            title=parsed.title,
            latest_version=0,
            created_at=now,
            updated_at=now,
        )
        db.add(framework)
        try:
            with db.begin_nested():
                db.flush()
        except IntegrityError as error:
            raise DomainError("request.conflict", "Another import created that framework just now; retry.") from error
    else:
        if actor is not None:
            owner_org = db.get(Organisation, framework.organisation_id) if framework.organisation_id else None
            if owner_org is None:
                raise DomainError("auth.forbidden", "Only the operator may import new versions of this framework.")
            require_role(db, slug=owner_org.slug, actor=actor, roles=ADMINS)
        latest = _latest(db, framework)
        if latest.content_sha256 == parsed.content_sha256():
            return ImportResult(framework, latest, False)
    number = framework.latest_version + 1
    version = SkillFrameworkVersion(
        framework_id=framework.id,
        version=number,
        case_identifier=parsed.identifier,
        title=parsed.title,
        description=parsed.description,
        source_format=parsed.source_format,
        content_sha256=parsed.content_sha256(),
        document=parsed.document,
        imported_at=now,
        imported_by=actor,
    )
    db.add(version)
    db.flush()
    db.add_all(
        SkillItem(
            version_id=version.id,
            identifier=item.identifier,
            code=item.code,
            statement=item.statement,
            item_type=item.item_type,
            parent_identifier=item.parent_identifier,
            position=position,
            content_sha256=item.content_sha256(),
        )
        for position, item in enumerate(parsed.items)
    )
    framework.latest_version = number
    framework.title = parsed.title
    framework.updated_at = now
    db.flush()
    return ImportResult(framework, version, True)


def read_upload(data: bytes, *, slug: str, title: str = "") -> ParsedFramework:
    """A file or pasted text as a person gives it: CASE 1.1 JSON when it opens with ``{``, else CSV.

    Unreadable: ``framework.unreadable`` with ``where`` (as the API answers), nothing imported."""
    _check_slug(slug)
    try:
        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            return formats.parse_case_json(data)
        return formats.parse_csv(data, title=title.strip() or slug, identifier=f"csv:{slug}")
    except formats.FrameworkUnreadable as error:
        raise DomainError("framework.unreadable", error.message, where=error.where) from error


def import_upload(
    db: Session,
    *,
    slug: str,
    data: bytes,
    title: str = "",
    actor: uuid.UUID,
    as_operator: bool,
    organisation_slug: str | None,
    now: dt.datetime,
) -> ImportResult:
    """Import an uploaded or pasted framework from the console.

    ``as_operator``: the operator's page — ``actor`` must be an operator (``wallet operator grant``) and
    may import any framework, as the CLI does; otherwise ``actor`` imports as an organisation's admin
    (:func:`import_framework`'s rule). Who may is checked before the file is read."""
    if as_operator:
        require_operator(db, actor=actor, to="import frameworks for the whole service")
    elif organisation_slug is not None:
        require_role(db, slug=organisation_slug, actor=actor, roles=ADMINS)
    _check_slug(slug)
    existing = db.scalar(select(SkillFramework).where(SkillFramework.slug == slug))
    if existing is not None and not as_operator:
        owner = db.get(Organisation, existing.organisation_id) if existing.organisation_id else None
        if owner is None or role_of(db, organisation_id=owner.id, account_id=actor) not in ADMINS:
            raise DomainError(
                "auth.forbidden",
                f"The framework {slug} belongs to {owner.name if owner else 'the service'}: only "
                f"{'its admins or ' if owner else ''}the operator can add versions to it. "
                "For a new framework, pick another short name.",
            )
    parsed = read_upload(data, slug=slug, title=title)
    return import_framework(
        db,
        slug=slug,
        parsed=parsed,
        actor=None if as_operator else actor,
        organisation_slug=organisation_slug,
        now=now,
    )


def is_framework_alignment(base_url: str, alignment: dict[str, Any]) -> bool:
    """Whether an alignment names one of our frameworks' items (made by :func:`align_achievement`)."""
    url = alignment.get("targetUrl")
    return isinstance(url, str) and parse_item_url(base_url, url) is not None


def with_framework_alignments(
    base_url: str, kept_from: Iterable[dict[str, Any]], others: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``kept_from``'s alignments to our frameworks' items, then ``others``: a badge form that edits only
    the free-text alignments never drops (or re-points) the ones made against a framework."""
    kept = [dict(entry) for entry in kept_from if is_framework_alignment(base_url, entry)]
    return [*kept, *(entry for entry in others if not is_framework_alignment(base_url, entry))]


@dataclass(frozen=True)
class FrameworkView:
    framework: SkillFramework
    version: SkillFrameworkVersion
    items: list[SkillItem]
    owner: Organisation | None
    versions: list[int]

    @property
    def is_latest(self) -> bool:
        return self.version.version == self.framework.latest_version


def get_framework(db: Session, *, slug: str) -> SkillFramework:
    framework = db.scalar(select(SkillFramework).where(SkillFramework.slug == slug))
    if framework is None:
        raise DomainError("framework.not_found")
    return framework


def list_frameworks(db: Session) -> list[SkillFramework]:
    return list(db.scalars(select(SkillFramework).order_by(SkillFramework.title, SkillFramework.slug)))


def _version(db: Session, framework: SkillFramework, version: int | None) -> SkillFrameworkVersion:
    number = framework.latest_version if version is None else version
    row = db.scalar(
        select(SkillFrameworkVersion).where(
            SkillFrameworkVersion.framework_id == framework.id, SkillFrameworkVersion.version == number
        )
    )
    if row is None:
        raise DomainError("framework.not_found", f"Framework {framework.slug} has no version {number}.")
    return row


def framework_view(db: Session, *, slug: str, version: int | None = None) -> FrameworkView:
    """A framework's version (default: the latest) with its items in file order (public)."""
    framework = get_framework(db, slug=slug)
    row = _version(db, framework, version)
    items = list(db.scalars(select(SkillItem).where(SkillItem.version_id == row.id).order_by(SkillItem.position)))
    owner = db.get(Organisation, framework.organisation_id) if framework.organisation_id else None
    versions = list(
        db.scalars(
            select(SkillFrameworkVersion.version)
            .where(SkillFrameworkVersion.framework_id == framework.id)
            .order_by(SkillFrameworkVersion.version)
        )
    )
    return FrameworkView(framework, row, items, owner, versions)


@dataclass(frozen=True)
class ItemView:
    framework: SkillFramework
    version: SkillFrameworkVersion
    item: SkillItem
    latest_version: int
    in_latest: str
    """``latest`` (this is the latest version), ``unchanged``, ``changed`` or ``removed`` in the latest."""


def item_view(db: Session, *, slug: str, version: int, identifier: str) -> ItemView:
    framework = get_framework(db, slug=slug)
    row = _version(db, framework, version)
    item = db.scalar(select(SkillItem).where(SkillItem.version_id == row.id, SkillItem.identifier == identifier))
    if item is None:
        raise DomainError("framework.item_not_found")
    return ItemView(framework, row, item, framework.latest_version, _status_in_latest(db, framework, row, item))


def _status_in_latest(db: Session, framework: SkillFramework, version: SkillFrameworkVersion, item: SkillItem) -> str:
    if version.version == framework.latest_version:
        return "latest"
    latest_hash = db.scalar(
        select(SkillItem.content_sha256)
        .join(SkillFrameworkVersion, SkillFrameworkVersion.id == SkillItem.version_id)
        .where(
            SkillFrameworkVersion.framework_id == framework.id,
            SkillFrameworkVersion.version == framework.latest_version,
            SkillItem.identifier == item.identifier,
        )
    )
    if latest_hash is None:
        return "removed"
    return "unchanged" if latest_hash == item.content_sha256 else "changed"


def alignment_for(db: Session, *, base_url: str, slug: str, version: int | None, identifier: str) -> dict[str, Any]:
    """The OB 3.0 ``Alignment`` naming one version's item (the latest version when ``version`` is None)."""
    framework = get_framework(db, slug=slug)
    number = framework.latest_version if version is None else version
    view = item_view(db, slug=slug, version=number, identifier=identifier)
    alignment = {
        "targetName": view.item.statement[:500],
        "targetUrl": item_url(base_url, slug, number, identifier),
        "targetDescription": view.item.statement if len(view.item.statement) > 500 else "",
        "targetCode": view.item.code or identifier,
        "targetFramework": view.version.title,
        "targetType": "CFItem",
    }
    return {key: value for key, value in alignment.items() if value}


def accepted_skill_urls(db: Session, *, base_url: str, slug: str, version: int | None, identifier: str) -> list[str]:
    """The item's URL in this version and in every other version where it is unchanged.

    A pathway's skill step accepts a badge aligned to any of them: the same words under another version
    number. A version where the item changed is not accepted — that would re-point an alignment.
    """
    framework = get_framework(db, slug=slug)
    number = framework.latest_version if version is None else version
    view = item_view(db, slug=slug, version=number, identifier=identifier)
    same = db.scalars(
        select(SkillFrameworkVersion.version)
        .join(SkillItem, SkillItem.version_id == SkillFrameworkVersion.id)
        .where(
            SkillFrameworkVersion.framework_id == framework.id,
            SkillItem.identifier == identifier,
            SkillItem.content_sha256 == view.item.content_sha256,
        )
        .order_by(SkillFrameworkVersion.version)
    )
    return [item_url(base_url, slug, n, identifier) for n in same]


def alignment_freshness(db: Session, *, base_url: str, alignments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each alignment to one of our items: the version it names, the latest, and the item's fate there."""
    report = []
    for alignment in alignments:
        url = alignment.get("targetUrl")
        parsed = parse_item_url(base_url, url) if isinstance(url, str) else None
        entry: dict[str, Any] = {"targetUrl": url, "framework": None}
        if parsed is not None:
            slug, number, identifier = parsed
            try:
                view = item_view(db, slug=slug, version=number, identifier=identifier)
            except DomainError:
                entry.update(framework=slug, version=number, in_latest="unknown")
            else:
                entry.update(
                    framework=slug,
                    version=number,
                    latest_version=view.latest_version,
                    newer_version=view.latest_version > number,
                    in_latest=view.in_latest,
                )
        report.append(entry)
    return report


def align_achievement(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    achievement_id: uuid.UUID,
    framework: str,
    item: str,
    version: int | None,
    base_url: str,
    now: dt.datetime,
) -> Achievement:
    """Align an organisation's achievement to a framework item (admins); credentials issued from now carry it."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = db.get(Achievement, achievement_id)
    if achievement is None or achievement.organisation_id != organisation.id:
        raise DomainError("achievement.not_found")
    alignment = alignment_for(db, base_url=base_url, slug=framework, version=version, identifier=item)
    existing = [entry for entry in achievement.alignments if entry.get("targetUrl") != alignment["targetUrl"]]
    if len(existing) >= MAX_ALIGNMENTS:
        raise DomainError("request.conflict", f"An achievement has at most {MAX_ALIGNMENTS} alignments.")
    achievement.alignments = [*existing, alignment]
    achievement.updated_at = now
    db.flush()
    return achievement


def remove_alignment(
    db: Session, *, slug: str, actor: uuid.UUID, achievement_id: uuid.UUID, target_url: str, now: dt.datetime
) -> Achievement:
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    achievement = db.get(Achievement, achievement_id)
    if achievement is None or achievement.organisation_id != organisation.id:
        raise DomainError("achievement.not_found")
    achievement.alignments = [entry for entry in achievement.alignments if entry.get("targetUrl") != target_url]
    achievement.updated_at = now
    db.flush()
    return achievement


def item_count(db: Session, *, version_id: uuid.UUID) -> int:
    return int(db.scalar(select(func.count()).select_from(SkillItem).where(SkillItem.version_id == version_id)) or 0)


def items_for_urls(
    db: Session, *, base_url: str, urls: Iterable[str]
) -> dict[str, tuple[SkillFramework, int, SkillItem]]:
    """Our framework items named by alignment URLs (others are left out), for skills summaries."""
    found: dict[str, tuple[SkillFramework, int, SkillItem]] = {}
    wanted: dict[tuple[str, int], dict[str, str]] = {}
    for url in set(urls):
        parsed = parse_item_url(base_url, url)
        if parsed is not None:
            wanted.setdefault((parsed[0], parsed[1]), {})[parsed[2]] = url
    for (slug, number), identifiers in wanted.items():
        rows = db.execute(
            select(SkillFramework, SkillItem)
            .join(SkillFrameworkVersion, SkillFrameworkVersion.framework_id == SkillFramework.id)
            .join(SkillItem, SkillItem.version_id == SkillFrameworkVersion.id)
            .where(
                SkillFramework.slug == slug,
                SkillFrameworkVersion.version == number,
                SkillItem.identifier.in_(list(identifiers)),
            )
        ).all()
        for framework, item in rows:
            found[identifiers[item.identifier]] = (framework, number, item)
    return found
