"""Public share pages: what an employer sees when a learner sends them a link.

Routes (all public, all server-rendered, no scripts):

``/s/<slug>``              the badge page (HTML), or the credential as issued with
                           ``Accept: application/ld+json``; every HTML view by a person is counted (not
                           link-preview fetchers, not ``HEAD``)
``/s/<slug>.json``         the credential as issued, byte for byte
``/s/<slug>.png``          the badge image with the credential baked in (Open Badges 3.0 baking)
``/s/<slug>/image``        the badge image, served from here so no third party sees the viewer
``/s/<slug>/preview.png``  the badge image as a PNG, for link previews (``og:image``: previews show no SVG)
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
import json as json_module
import logging
from typing import Any

from flask import Blueprint, Response, render_template, request

from wallet.endorsements import services as endorsements
from wallet.errors import DomainError
from wallet.holding.services import verify_document, verify_held
from wallet.holding.trust import IssuerDirectory
from wallet.issuing.profiles import organisation_did_web, uses_did_web
from wallet.models import HeldCredential, ShareLink, ShareTarget
from wallet.qr.render import render_png
from wallet.records.clr import service_dids
from wallet.sharing import pages as read_models
from wallet.sharing import services as sharing
from wallet.sharing.badge import badge_view
from wallet.sharing.images import as_png, baked_badge_png
from wallet.sharing.previews import is_preview_fetch
from wallet.sharing.record import held_is_record, record_view
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


def sharing_state() -> SharingState:
    return context.state().sharing


def _base_url() -> str:
    return context.state().settings.base_url.rstrip("/")


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


def _verify(held: HeldCredential) -> dict[str, Any]:
    return verify_held(held, fetcher=context.fetcher(), now=context.now())


def _verify_document(raw: bytes) -> dict[str, Any]:
    return verify_document(raw, fetcher=context.fetcher(), now=context.now())


def _models() -> dict[str, Any]:
    """What every read model of a public page needs from the app."""
    return {
        "registry": context.issuer_registry(),
        "cache": sharing_state().reports,
        "base_url": _base_url(),
        "verify": _verify,
    }


def _date(moment: dt.datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else ""


def _when(moment: dt.datetime) -> str:
    return f"{moment.day} {moment:%B %Y at %H:%M} UTC"


def _count_view(link: ShareLink) -> None:
    """Count a person opening the page; link-preview fetchers and ``HEAD`` requests are not views."""
    if is_preview_fetch(method=request.method, user_agent=request.user_agent.string):
        return
    sharing.record_view(context.db(), share_id=link.id, now=context.now())
    context.db().commit()


@blp.get("/s/<slug>")
def share_page(slug: str) -> Response:
    """The badge page (or, for ``Accept: application/ld+json``, the credential as issued)."""
    if _wants_json():
        return share_json(slug)
    link = _open_link(slug)
    if link.target_kind is ShareTarget.COLLECTION:
        return _collection_page(slug, link)
    if link.target_kind is ShareTarget.SKILLS:
        return _skills_page(link)
    link, held = _open(slug)
    if held_is_record(held):
        return _record_page(slug, link, held)
    now = context.now()
    _count_view(link)
    page = read_models.badge_page(
        context.db(), link=link, held=held, now=now, verify_document=_verify_document, **_models()
    )
    html = render_template(
        "sharing/share.html",
        page=page,
        panel=page.panel,
        badge=page.panel.badge,
        verdict=page.panel.verdict,
        slug=slug,
        date=_date,
        when=_when,
    )
    return _page(html, indexable=page.indexable)


def _record_page(slug: str, link: ShareLink, held: HeldCredential) -> Response:
    """A learning record (CLR 2.0): its own check, then each badge inside with its own check."""
    db = context.db()
    _count_view(link)
    sharer = read_models.sharer_name(db, account_id=link.account_id)
    record = record_view(
        db,
        held=held,
        sharer=sharer,
        sharer_id=link.account_id,
        directory=IssuerDirectory.load(db, registry=context.issuer_registry(), base_url=_base_url()),
        cache=sharing_state().reports,
        base_url=_base_url(),
        verify=_verify,
        service_dids=service_dids(context.state().secrets.secret_keys),
        now=context.now(),
    )
    html = render_template(
        "sharing/record.html",
        record=record,
        verdict=record.verdict,
        sharer=sharer,
        slug=slug,
        share_url=sharing.share_url(_base_url(), slug),
        indexable=link.allow_indexing,
        date=_date,
        when=_when,
    )
    return _page(html, indexable=link.allow_indexing)


def _skills_page(link: ShareLink) -> Response:
    """A learner's skills summary, shared by them: each skill with the badges that show it."""
    from wallet.models import Account
    from wallet.records.clr import skills_summary

    db = context.db()
    account = db.get(Account, link.account_id)
    _count_view(link)
    skills = skills_summary(db, account_id=link.account_id, base_url=context.state().settings.base_url)
    sharer = (account.display_name or account.username) if account else "A learner"
    html = render_template("sharing/skills.html", skills=skills, sharer=sharer)
    return _page(html, indexable=link.allow_indexing)


def _collection_page(slug: str, link: ShareLink) -> Response:
    """A collection: each of its badges with the same verification panel as a single badge's page."""
    now = context.now()
    collection = _open_collection(slug, link)
    _count_view(link)
    page = read_models.collection_page(context.db(), link=link, collection=collection, now=now, **_models())
    html = render_template("sharing/collection.html", page=page, slug=slug, date=_date, when=_when)
    return _page(html, indexable=page.indexable)


@blp.get("/s/<slug>.json")
def share_json(slug: str) -> Response:
    """The credential exactly as it was issued, for checking it independently."""
    link = _open_link(slug, json=True)
    if link.target_kind is ShareTarget.COLLECTION:
        collection = _open_collection(slug, link, json=True)
        issued = [read_models.issued_text(held) for held in collection.credentials]
        body = json_module.dumps(
            {
                "name": collection.name,
                "credentials": [
                    json_module.loads(text) if media.endswith("json") else text.decode() for text, media in issued
                ],
            }
        ).encode()
        media_type = "application/json"
    elif link.target_kind is ShareTarget.SKILLS:
        from wallet.records.clr import skills_summary

        skills = skills_summary(context.db(), account_id=link.account_id, base_url=context.state().settings.base_url)
        body, media_type = json_module.dumps({"skills": skills}).encode(), "application/json"
    else:
        _link, held = _open(slug, json=True)
        body, media_type = read_models.issued_text(held)
    response = Response(body, mimetype=media_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Vary"] = "Accept"
    return response


def _badge_image(held: HeldCredential) -> tuple[bytes, str] | None:
    return sharing_state().images.load(badge_view(held).image_url, fetcher=context.fetcher())


@blp.get("/s/<slug>/image")
def share_image(slug: str) -> Response:
    """The badge's image, proxied so the viewer's browser talks to no one else."""
    _link, held = _open(slug)
    image = _badge_image(held)
    if image is None:
        return _refusal("share.not_found", 404, json=False)
    response = Response(image[0], mimetype=image[1])
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"  # revalidated: a revoked link stops showing it
    return response


@blp.get("/s/<slug>/preview.png")
def share_preview_image(slug: str) -> Response:
    """The badge's image as a PNG, for link previews (chat apps and social networks show no SVG)."""
    _link, held = _open(slug)
    response = Response(as_png(_badge_image(held), badge_view(held).name), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@blp.get("/s/<slug>.png")
def share_png(slug: str) -> Response:
    """The badge as a PNG with the credential baked in (an ``iTXt`` chunk ``openbadgecredential``)."""
    _link, held = _open(slug)
    body, _media_type = read_models.issued_text(held)
    keyword = "openbadges" if held.format == "ob2" else "openbadgecredential"
    baked = baked_badge_png(_badge_image(held), name=badge_view(held).name, credential=body, keyword=keyword)
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
    about = read_models.issuer_about(context.db(), slug=slug, base_url=_base_url())
    if about is None:
        title, text = "No such issuer", "No organisation issues badges under this name here."
        return _page(render_template("sharing/gone.html", title=title, text=text, status=404), status=404)
    html = render_template(
        "sharing/issuer.html",
        organisation=about.organisation,
        keys=about.keys,
        achievements=about.achievements,
        website=about.website,
        profile_url=about.profile_url,
        issuer_did=organisation_did_web(_base_url(), slug) if uses_did_web(_base_url()) else None,
        date=_date,
        endorsements=endorsements.shown_for_issuer(
            context.db(), organisation_id=about.organisation.id, base_url=_base_url()
        ),
    )
    return _page(html, indexable=True)
