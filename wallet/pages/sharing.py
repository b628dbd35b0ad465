"""Public share pages: what an employer sees when a learner sends them a link.

Routes (all public, all server-rendered, no scripts):

``/s/<slug>``              the badge page (HTML), or the credential as issued with
                           ``Accept: application/ld+json``; every HTML view is counted
``/s/<slug>.json``         the credential as issued, byte for byte
``/s/<slug>.png``          the badge image with the credential baked in (Open Badges 3.0 baking)
``/s/<slug>/image``        the badge image, served from here so no third party sees the viewer
``/s/<slug>/qr.png``       a QR code of the share link, for showing on a phone
``/issuers/<slug>/about``  who an issuing organisation is, its public keys and its badges (the JSON
                           profile at ``/issuers/<slug>`` belongs to the issuing API)

An expired or revoked link answers 410 with a friendly page; an unknown slug 404; an address that tried
too many unknown slugs 429 (:mod:`wallet.sharing.limits`). Pages are ``noindex`` unless the learner opted
in, never cached by proxies (a revoked link must stop working at once), and carry a Content Security
Policy that allows nothing but this origin's images and stylesheet.
"""

from __future__ import annotations

import datetime as dt
import io
import json as json_module
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from sqlalchemy import select

from wallet.credentials.baking import BakingError, bake_png, is_png
from wallet.credentials.fetcher import GuardedFetcher
from wallet.errors import DomainError
from wallet.holding.checking import check_credential
from wallet.models import Account, Achievement, HeldCredential, IssuerKey, Organisation, ShareLink, ShareTarget
from wallet.qr.render import render_png
from wallet.sharing import services as sharing
from wallet.sharing.badge import BadgeView, badge_view, linkedin_add_url, safe_url
from wallet.sharing.fetching import LocalFirstFetcher
from wallet.sharing.verdict import cached_report, verdict
from wallet.state import SharingState
from wallet.web import context
from wallet.web.problems import problem_response

log = logging.getLogger("wallet.sharing")

blp = Blueprint(
    "sharing_pages", __name__, template_folder="templates", static_folder="static", static_url_path="/assets/sharing"
)

CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
JSON_TYPES = ("application/ld+json", "application/json", "application/vc+ld+json", "application/vc")
FETCH_TIMEOUT_SECONDS = 3.0


def sharing_state() -> SharingState:
    return context.state().sharing


def _base_url() -> str:
    return context.state().settings.base_url.rstrip("/")


def _fetcher() -> LocalFirstFetcher:
    settings = context.state().settings
    remote = GuardedFetcher(allow_private=settings.fetch_allow_private, timeout=FETCH_TIMEOUT_SECONDS)
    return LocalFirstFetcher(
        current_app._get_current_object(),
        base_url=_base_url(),  # type: ignore[attr-defined]
        remote=remote,
        isolated=_isolated,
    )


@contextmanager
def _isolated() -> Iterator[None]:
    """Around an in-process request: end this request's (read-only) transaction first — on SQLite every
    transaction holds the write lock, which the inner request would wait for — and give it its own ``g``."""
    context.db().rollback()
    with current_app.app_context():
        yield


def _page(html: str, *, status: int = 200, indexable: bool = False) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "all" if indexable else "noindex, nofollow, noarchive"
    response.headers["Vary"] = "Accept"
    return response


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", *JSON_TYPES], default="text/html")
    return best in JSON_TYPES


_GONE_TEXT = {
    "share.expired": (
        "This link has expired",
        "The person who shared this badge set the link to stop working after a while. Ask them for a new link.",
    ),
    "share.revoked": (
        "This link was turned off",
        "The person who shared this badge has turned the link off. Ask them for a new link if you still need it.",
    ),
    "share.not_found": ("No badge here", "This link does not lead to a badge. Check that it was copied in full."),
    "share.gone": (
        "This badge is no longer shared",
        "The person who shared it has removed it from their wallet. Ask them for a new link.",
    ),
    "request.rate_limited": (
        "Too many attempts",
        "This address tried too many links that do not exist. Wait a few minutes and try again.",
    ),
}


def _refusal(code: str, status: int, *, json: bool, headers: dict[str, str] | None = None) -> Response:
    title, text = _GONE_TEXT[code]
    if json:
        api_code = "share.revoked" if code == "share.gone" else code
        return problem_response(status, api_code, title, headers=headers)
    response = _page(render_template("sharing/gone.html", title=title, text=text, status=status), status=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@blp.errorhandler(_Refused)
def _refused(error: _Refused) -> Response:
    return error.response


def _client() -> str:
    return context.client_ip()


def _open_link(slug: str, *, json: bool = False) -> ShareLink:
    """The active link, or raise a ready refusal (404/410/429)."""
    state = sharing_state()
    now = context.now()
    retry = state.misses.retry_after(_client(), now=now)
    if retry is not None:
        raise _Refused(_refusal("request.rate_limited", 429, json=json, headers={"Retry-After": str(retry)}))
    db = context.db()
    try:
        link = sharing.open_share(db, slug=slug, now=now)
    except DomainError as error:
        if error.code == "share.not_found":
            state.misses.record_miss(_client(), now=now)
        raise _Refused(_refusal(error.code, error.status, json=json)) from error
    return link


def _open(slug: str, *, json: bool = False) -> tuple[ShareLink, HeldCredential]:
    """The active link to one credential and that credential, or raise a ready refusal."""
    link = _open_link(slug, json=json)
    held = sharing.shared_credential(context.db(), link=link)
    if held is None:
        raise _Refused(_refusal("share.gone", 410, json=json))
    return link, held


def _open_collection(slug: str, link: ShareLink, *, json: bool = False) -> sharing.SharedCollection:
    collection = sharing.shared_collection(context.db(), link=link)
    if collection is None:
        raise _Refused(_refusal("share.gone", 410, json=json))
    return collection


def _learner_name(link: ShareLink) -> str:
    account = context.db().get(Account, link.account_id)
    return (account.display_name or account.username) if account else "the holder"


def _verdict_for(held: HeldCredential, *, learner: str, now: dt.datetime) -> Any:
    badge = badge_view(held)
    cached = cached_report(context.db(), held=held, cache=sharing_state().reports, base_url=_base_url(),
                           verify=_verify, now=now)
    return verdict(cached.report, checked_at=cached.checked_at, issuer=badge.issuer_name, learner=learner,
                   issued_at=badge.issued_at, expires_at=badge.expires_at)


def _issued_text(held: HeldCredential) -> tuple[bytes, str]:
    """The credential as issued and its media type (JSON-LD, or the JWT as text)."""
    raw = held.raw
    if raw.lstrip()[:1] == b"{":
        return raw, "application/ld+json"
    return raw, held.media_type or "application/jwt"


def _verify(held: HeldCredential) -> dict[str, Any]:
    try:
        return check_credential(held.raw, content_type=held.media_type, fetcher=_fetcher(), now=context.now()).report
    except DomainError as error:
        reason = f"could not be checked: {error.detail}"
        return {
            "outcome": "indeterminate",
            "checks": [
                {"name": name, "outcome": "indeterminate", "detail": reason}
                for name in ("proof", "issuer_key", "validity", "status", "shape")
            ],
        }


_PROFILE = re.compile(r"^/issuers/(?P<slug>[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?)$")


def _issuer_link(badge: BadgeView) -> tuple[str | None, bool]:
    """Where the issuer's name links: our issuer page for our organisations, else their own website."""
    base = _base_url()
    issuer_id = badge.issuer_id or ""
    match = _PROFILE.match(issuer_id[len(base) :]) if issuer_id.startswith(base + "/") else None
    if match is None and issuer_id.startswith("did:"):
        slug = context.db().scalar(
            select(Organisation.slug)
            .join(IssuerKey, IssuerKey.organisation_id == Organisation.id)
            .where(IssuerKey.did == issuer_id)
        )
        if slug:
            return url_for("sharing_pages.issuer_page", slug=slug), True
    if match is not None:
        return url_for("sharing_pages.issuer_page", slug=match["slug"]), True
    return badge.issuer_url, False


def _date(moment: dt.datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else ""


def _when(moment: dt.datetime) -> str:
    return f"{moment.day} {moment:%B %Y at %H:%M} UTC"


@blp.get("/s/<slug>")
def share_page(slug: str) -> Response:
    """The badge page (or, for ``Accept: application/ld+json``, the credential as issued)."""
    if _wants_json():
        return share_json(slug)
    link = _open_link(slug)
    if link.target_kind is ShareTarget.COLLECTION:
        return _collection_page(slug, link)
    link, held = _open(slug)
    db = context.db()
    now = context.now()
    learner = _learner_name(link)
    badge = badge_view(held)
    indexable, show_evidence = link.allow_indexing, link.show_evidence
    sharing.record_view(db, share_id=link.id, now=now)
    db.commit()
    result = _verdict_for(held, learner=learner, now=now)
    share_url = sharing.share_url(_base_url(), slug)
    issuer_href, issuer_internal = _issuer_link(badge)
    html = render_template(
        "sharing/share.html",
        badge=badge,
        verdict=result,
        learner=learner,
        slug=slug,
        share_url=share_url,
        linkedin_url=linkedin_add_url(badge, share_url=share_url),
        issuer_href=issuer_href,
        issuer_internal=issuer_internal,
        indexable=indexable,
        show_evidence=show_evidence,
        image_abs_url=f"{share_url}/image",
        date=_date,
        when=_when,
        now=now,
        expired=badge.expires_at is not None and badge.expires_at <= now,
        download_name=re.sub(r"[^A-Za-z0-9]+", "-", badge.name).strip("-").lower() or "badge",
    )
    return _page(html, indexable=indexable)


def _collection_page(slug: str, link: ShareLink) -> Response:
    """A collection: each of its badges with the same verification panel as a single badge's page."""
    db = context.db()
    now = context.now()
    collection = _open_collection(slug, link)
    learner = _learner_name(link)
    indexable = link.allow_indexing
    sharing.record_view(db, share_id=link.id, now=now)
    db.commit()
    items = []
    for held in collection.credentials:
        badge = badge_view(held)
        issuer_href, issuer_internal = _issuer_link(badge)
        items.append({"badge": badge, "verdict": _verdict_for(held, learner=learner, now=now),
                      "issuer_href": issuer_href, "issuer_internal": issuer_internal,
                      "expired": badge.expires_at is not None and badge.expires_at <= now})
    html = render_template("sharing/collection.html", name=collection.name, learner=learner, items=items,
                           slug=slug, share_url=sharing.share_url(_base_url(), slug), indexable=indexable,
                           date=_date, when=_when)
    return _page(html, indexable=indexable)


@blp.get("/s/<slug>.json")
def share_json(slug: str) -> Response:
    """The credential exactly as it was issued, for checking it independently."""
    link = _open_link(slug, json=True)
    if link.target_kind is ShareTarget.COLLECTION:
        collection = _open_collection(slug, link, json=True)
        issued = [_issued_text(held) for held in collection.credentials]
        body = json_module.dumps({
            "name": collection.name,
            "credentials": [json_module.loads(text) if media.endswith("json") else text.decode()
                            for text, media in issued],
        }).encode()
        media_type = "application/json"
    else:
        _link, held = _open(slug, json=True)
        body, media_type = _issued_text(held)
    response = Response(body, mimetype=media_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Vary"] = "Accept"
    return response


def _badge_image(held: HeldCredential) -> tuple[bytes, str] | None:
    return sharing_state().images.load(badge_view(held).image_url, fetcher=_fetcher())


@blp.get("/s/<slug>/image")
def share_image(slug: str) -> Response:
    """The badge's image, proxied so the viewer's browser talks to no one else."""
    _link, held = _open(slug)
    image = _badge_image(held)
    if image is None:
        return _refusal("share.not_found", 404, json=False)
    response = Response(image[0], mimetype=image[1])
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _placeholder_png(name: str) -> bytes:
    """A plain round badge with the badge's initials, for credentials that carry no usable image."""
    from PIL import Image, ImageDraw

    size = 256
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=(31, 78, 121, 255))
    initials = "".join(word[0] for word in name.split()[:2]).upper() or "B"
    draw.text((size / 2, size / 2), initials, fill=(255, 255, 255, 255), anchor="mm", font_size=96)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _as_png(image: tuple[bytes, str] | None, name: str) -> bytes:
    if image is not None and is_png(image[0]):
        return image[0]
    if image is not None and image[1] == "image/svg+xml":
        import cairosvg

        try:
            return cairosvg.svg2png(bytestring=image[0], output_width=512, unsafe=False)
        except Exception as error:  # a malformed SVG from a stranger: fall back to the placeholder
            log.info("badge SVG could not be rendered: %s", type(error).__name__)
    return _placeholder_png(name)


@blp.get("/s/<slug>.png")
def share_png(slug: str) -> Response:
    """The badge as a PNG with the credential baked in (an ``iTXt`` chunk ``openbadgecredential``)."""
    _link, held = _open(slug)
    body, _media_type = _issued_text(held)
    png = _as_png(_badge_image(held), badge_view(held).name)
    keyword = "openbadges" if held.format == "ob2" else "openbadgecredential"
    try:
        baked = bake_png(png, body.decode("utf-8"), keyword=keyword)
    except (BakingError, UnicodeDecodeError):
        baked = bake_png(_placeholder_png(badge_view(held).name), body.decode("utf-8", "replace"), keyword=keyword)
    response = Response(baked, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@blp.get("/s/<slug>/qr.png")
def share_qr(slug: str) -> Response:
    """A QR code of the share link."""
    _open_link(slug)
    response = Response(render_png(sharing.share_url(_base_url(), slug), box_size=8), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@blp.get("/issuers/<slug>/about")
def issuer_page(slug: str) -> Response:
    """Who an organisation is, the keys it signs with and the badges it awards."""
    db = context.db()
    organisation = db.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        title, text = "No such issuer", "No organisation issues badges under this name here."
        return _page(render_template("sharing/gone.html", title=title, text=text, status=404), status=404)
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
    html = render_template(
        "sharing/issuer.html",
        organisation=organisation,
        keys=keys,
        achievements=achievements,
        website=safe_url(organisation.url),
        profile_url=f"{_base_url()}/issuers/{slug}",
        date=_date,
    )
    return _page(html, indexable=True)
