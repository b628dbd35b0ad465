"""The public documents an issuer's credentials point at, as bytes: the same answer for an HTTP client and
for the app itself.

Each function returns what the public URL serves (:mod:`wallet.api.issuers` sends it); :class:`PublishedDocuments`
maps one of the app's own URLs to the function, so a verifier inside the app reads a DID document, an issuer
profile, a status list or an achievement image straight from the database instead of calling itself over
HTTP (which needs a reachable public address, and on SQLite waits for the caller's own transaction).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from wallet.credentials.fetcher import FetchResult
from wallet.endorsements.services import embedded_for
from wallet.errors import DomainError
from wallet.issuing import achievements
from wallet.issuing.credentials import achievement_document
from wallet.issuing.profiles import OB_CONTEXT, VC_CONTEXT, did_document, profile_document
from wallet.issuing.status import REVOCATION, published_list
from wallet.models import EndorsementSubjectKind
from wallet.organisations.services import get_by_slug

JSON_MEDIA_TYPE = "application/json"
DID_MEDIA_TYPES = ("application/did+json", "application/did+ld+json")


@dataclass(frozen=True)
class Image:
    data: bytes
    media_type: str
    sha256: str


def _text(document: object) -> str:
    return json.dumps(document, ensure_ascii=False)


def issuer_profile_text(db: Session, *, slug: str, base_url: str) -> str:
    """``/issuers/<slug>``: the Profile with every key (``request.not_found`` for an unknown slug)."""
    organisation = get_by_slug(db, slug=slug)
    document = profile_document(db, organisation=organisation, base_url=base_url)
    endorsed = embedded_for(db, kind=EndorsementSubjectKind.ISSUER, subject_id=organisation.id)
    if endorsed:
        document["endorsement"] = endorsed
    return _text(document)


def did_document_text(db: Session, *, slug: str, base_url: str) -> str:
    """``/issuers/<slug>/did.json``: the organisation's did:web document; 404 where issuers are did:key."""
    document = did_document(db, organisation=get_by_slug(db, slug=slug), base_url=base_url)
    if document is None:
        raise DomainError(
            "request.not_found",
            "This deployment has no public https address, so its issuers are did:key and publish no did:web.",
        )
    return _text(document)


def achievement_text(db: Session, *, achievement_id: uuid.UUID, base_url: str) -> str:
    """``/achievements/<id>``: the OB 3.0 Achievement (archived ones too: old credentials point at them)."""
    achievement = achievements.public_achievement(db, achievement_id=achievement_id)
    document = {"@context": [VC_CONTEXT, OB_CONTEXT], **achievement_document(achievement, base_url=base_url)}
    endorsed = embedded_for(db, kind=EndorsementSubjectKind.ACHIEVEMENT, subject_id=achievement.id)
    if endorsed:
        document["endorsement"] = endorsed  # OB 3.0 Achievement.endorsement: the signed credentials
    return _text(document)


def achievement_image(db: Session, *, achievement_id: uuid.UUID) -> Image:
    """``/achievements/<id>/image``: the stored PNG or sanitised SVG."""
    achievement = achievements.public_achievement(db, achievement_id=achievement_id)
    if achievement.image is None or achievement.image_sha256 is None or achievement.image_media_type is None:
        raise DomainError("request.not_found", "This achievement has no image.")
    return Image(achievement.image, achievement.image_media_type, achievement.image_sha256)


def status_list_text(db: Session, *, slug: str, list_no: int) -> str:
    """``/status/<slug>/revocation/<n>``: the signed BitstringStatusListCredential."""
    return published_list(db, slug=slug, purpose=REVOCATION, list_no=list_no).signed_document


_SLUG = r"(?P<slug>[^/?#]+)"
_UUID = r"(?P<id>[0-9a-fA-F-]{36})"


class PublishedDocuments:
    """Answers the app's own public document URLs from the database (the fetcher's local resolver).

    ``session`` gives the caller's session (a request's, a job's): answers see what the caller sees,
    including what it wrote but has not committed. URLs under ``base_url`` that are not public documents
    answer ``None`` (the caller may fetch them over the network as before).
    """

    def __init__(self, *, session: Callable[[], Session], base_url: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._routes: tuple[tuple[re.Pattern[str], Callable[[Session, re.Match[str]], tuple[bytes, str]]], ...] = (
            (re.compile(rf"/issuers/{_SLUG}/did\.json"), self._did),
            (re.compile(rf"/issuers/{_SLUG}"), self._profile),
            (re.compile(rf"/status/{_SLUG}/revocation/(?P<n>[0-9]{{1,10}})"), self._status),
            (re.compile(rf"/achievements/{_UUID}/image"), self._image),
            (re.compile(rf"/achievements/{_UUID}"), self._achievement),
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    def answer(self, url: str) -> FetchResult | None:
        """The document at ``url`` if it is one of ours; FetchFailed-like ``status`` 404 when it is not found."""
        if not url.startswith(self._base_url + "/"):
            return None
        path = url[len(self._base_url) :].split("#", 1)[0].split("?", 1)[0]
        for pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            try:
                body, media_type = handler(self._session(), match)
            except DomainError as error:
                if error.status == 404:
                    return FetchResult(url=url, status=404, content_type=JSON_MEDIA_TYPE, body=b"")
                raise
            return FetchResult(url=url, status=200, content_type=media_type, body=body)
        return None

    def _did(self, db: Session, match: re.Match[str]) -> tuple[bytes, str]:
        return did_document_text(db, slug=match["slug"], base_url=self._base_url).encode(), JSON_MEDIA_TYPE

    def _profile(self, db: Session, match: re.Match[str]) -> tuple[bytes, str]:
        return issuer_profile_text(db, slug=match["slug"], base_url=self._base_url).encode(), JSON_MEDIA_TYPE

    def _status(self, db: Session, match: re.Match[str]) -> tuple[bytes, str]:
        number = int(match["n"])
        if number > 2_147_483_647:
            raise DomainError("request.not_found", "No such status list.")
        return status_list_text(db, slug=match["slug"], list_no=number).encode(), JSON_MEDIA_TYPE

    def _image(self, db: Session, match: re.Match[str]) -> tuple[bytes, str]:
        image = achievement_image(db, achievement_id=_uuid(match["id"]))
        return image.data, image.media_type

    def _achievement(self, db: Session, match: re.Match[str]) -> tuple[bytes, str]:
        text = achievement_text(db, achievement_id=_uuid(match["id"]), base_url=self._base_url)
        return text.encode(), JSON_MEDIA_TYPE


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as error:
        raise DomainError("request.not_found", "No such achievement.") from error
