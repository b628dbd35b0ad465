"""The learner's own badges in the browser: the list, one badge, collections, and share links.

Routes (every one needs a signed-in browser; every form is CSRF-checked and answers with a redirect):

``/wallet``                                  my badges: search and filter (text, issuer, tag, collection,
                                             pinned), pinned first
``/wallet/badges/<id>``                      one badge: what it says, the verification panel, pin, note,
                                             tags, collections, downloads, share, delete
``/wallet/badges/<id>/image``                its image (fetched by the server, never by the browser)
``/wallet/badges/<id>/download/<fmt>``       the credential as issued (``json``) or baked (``png``, ``svg``)
``/wallet/collections[/<coll>]``             create, rename, reorder, delete; add, remove, reorder badges
``/wallet/shares[/<id>]``                    share links: make one (label, expiry), copy it, show it as a
                                             QR, views, Add to LinkedIn, revoke

Pins, notes, tags and collections are the synced wallet's own rows: each form calls one function of
:mod:`wallet.changelog.edits` (the one write path), so an edit here reaches the learner's phone at its next
sync and a phone's edit shows here at once. Another learner's badge, collection or link — like a
malformed id — answers 404 on every page and form. Pages are server-rendered, need no script (the copy
button is the only one, and the address stays readable without it), load nothing from another origin
and carry a strict Content Security Policy.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from wallet.changelog import edits
from wallet.errors import DomainError
from wallet.holding import badges as read_models
from wallet.holding import exporting
from wallet.holding import services as holding
from wallet.models import HeldCredential, ShareTarget
from wallet.qr.render import render_svg
from wallet.records.clr import service_dids
from wallet.sharing import services as sharing
from wallet.sharing.badge import badge_view, linkedin_add_url
from wallet.sharing.images import placeholder_png
from wallet.sharing.record import held_is_record
from wallet.web import context
from wallet.web.friendly import FRIENDLY
from wallet.web.session import check_csrf, login_required, signed_in_account

pages = Blueprint("badge_pages", __name__, template_folder="templates")
View = TypeVar("View", bound=Callable[..., Any])

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
MAX_LABEL_LENGTH = 120
MAX_EXPIRY_DAYS = 365
DOWNLOADS = ("json", "png", "svg")

_NOT_FOUND = {
    "credential.not_found": ("No such badge", "That badge is not in your wallet."),
    "collection.not_found": ("No such collection", "That collection is not in your wallet."),
    "share.not_found": ("No such link", "That share link is not one of yours."),
    "request.not_found": ("No such page", "There is nothing at this address."),
}


@pages.after_request
def _strict(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@pages.errorhandler(DomainError)
def _refused(error: DomainError) -> tuple[str, int]:
    context.db().rollback()
    title, text = _NOT_FOUND.get(error.code, ("That didn't work", FRIENDLY.get(error.code, error.detail)))
    if error.code == "request.validation_failed":
        text = f"{FRIENDLY[error.code]} {error.detail}"
    back = request.referrer if error.status != 404 else None
    return render_template("app/badges/message.html", title=title, text=text, back=_same_site(back)), error.status


def learner_page(view: View) -> View:
    """A page or form of the signed-in learner's own wallet.

    A form's CSRF token is judged first (400), then the ids in the address: one that is no canonical UUID
    (or an unknown download format) can name nothing, so it is 404 for everyone — signed in or not —
    before the sign-in redirect; then the sign-in itself.
    """

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            check_csrf()
        for name in ("badge_id", "coll", "share_id"):
            if name in kwargs and read_models.parse_id(kwargs[name]) is None:
                raise DomainError(_ID_ERRORS[name])
        if "fmt" in kwargs and kwargs["fmt"] not in DOWNLOADS:
            raise DomainError("request.not_found")
        return login_required(view)(*args, **kwargs)

    return checked  # type: ignore[return-value]


_ID_ERRORS = {"badge_id": "credential.not_found", "coll": "collection.not_found", "share_id": "share.not_found"}


def _same_site(url: str | None) -> str | None:
    base = context.state().settings.base_url.rstrip("/")
    if url and (url.startswith(base + "/") or url.startswith(request.host_url)):
        return url
    return None


def _account_id() -> uuid.UUID:
    account = signed_in_account()
    assert account is not None  # login_required
    return account.id


def _base_url() -> str:
    return context.state().settings.base_url.rstrip("/")


def _date(moment: dt.datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else ""


def _when(moment: dt.datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y at %H:%M} UTC" if moment else ""


def _render(template: str, **values: Any) -> str:
    return render_template(template, date=_date, when=_when, **values)


def _done(endpoint: str, message: str, **values: Any) -> Response:
    context.db().commit()
    flash(message)
    return redirect(url_for(endpoint, **values), code=303)


def _text(name: str, limit: int) -> str:
    """A form field, refused (422) when longer than any value we accept, so nothing is cut silently."""
    value = request.form.get(name, "")
    if len(value) > limit:
        raise DomainError("request.validation_failed", f"That is longer than {limit} characters.")
    return value


def _position(current: int, count: int) -> int:
    direction = request.form.get("direction", "")
    if direction == "up":
        return max(0, current - 1)
    if direction == "down":
        return min(count - 1, current + 1)
    raise DomainError("request.validation_failed", "Choose up or down.")


def _verify(held: HeldCredential) -> dict[str, Any]:
    return holding.verify_held(held, fetcher=context.fetcher(), now=context.now())


def _verify_document(raw: bytes) -> dict[str, Any]:
    """An endorsement's report, checked like any credential (offline when the fetcher says so)."""
    return holding.verify_document(raw, fetcher=context.fetcher(), now=context.now())


def _mine(badge_id: str) -> HeldCredential:
    return read_models.own_credential(context.db(), account_id=_account_id(), badge_id=badge_id)


# --- my badges --------------------------------------------------------------------------------------


@pages.get("/wallet")
@learner_page
def index() -> str:
    query = read_models.BadgeQuery.parse(request.args)
    listing = read_models.my_badges(context.db(), account_id=_account_id(), query=query, now=context.now())
    return _render("app/badges/index.html", listing=listing, query=query)


@pages.get("/wallet/badges/<badge_id>")
@learner_page
def badge(badge_id: str) -> str:
    state = context.state()
    held = _mine(badge_id)
    if held_is_record(held):
        return _record(held)
    detail = read_models.badge_detail(
        context.db(),
        account_id=_account_id(),
        badge_id=badge_id,
        registry=context.issuer_registry(),
        cache=state.sharing.reports,
        base_url=_base_url(),
        verify=_verify,
        now=context.now(),
        verify_document=_verify_document,
    )
    context.db().commit()
    return _render(
        "app/badges/badge.html",
        detail=detail,
        panel=detail.panel,
        badge=detail.panel.badge,
        verdict=detail.panel.verdict,
        held=detail.credential,
        max_expiry=MAX_EXPIRY_DAYS,
    )


def _record(held: HeldCredential) -> str:
    """A record (CLR 2.0) the learner made: what it holds, each badge checked on its own, and its links."""
    detail = read_models.record_detail(
        context.db(),
        account_id=_account_id(),
        credential=held,
        registry=context.issuer_registry(),
        cache=context.state().sharing.reports,
        base_url=_base_url(),
        verify=_verify,
        service_dids=service_dids(context.state().secrets.secret_keys),
        now=context.now(),
    )
    context.db().commit()
    return _render(
        "app/badges/record.html",
        detail=detail,
        record=detail.record,
        verdict=detail.record.verdict,
        held=held,
        max_expiry=MAX_EXPIRY_DAYS,
    )


@pages.get("/wallet/badges/<badge_id>/image")
@learner_page
def badge_image(badge_id: str) -> Response:
    """The badge's picture, fetched by the server (with the share pages' image checks) or a placeholder."""
    held = _mine(badge_id)
    image = context.state().sharing.images.load(held.image_url, fetcher=context.fetcher()) if held.image_url else None
    body, media_type = image if image is not None else (placeholder_png(held.achievement_name or "Badge"), "image/png")
    response = Response(body, mimetype=media_type)
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@pages.get("/wallet/badges/<badge_id>/download/<fmt>")
@learner_page
def download(badge_id: str, fmt: str) -> Response:
    """The credential as issued (JSON or JWT), or baked into a PNG or SVG (the API's export)."""
    held = _mine(badge_id)
    exported = exporting.export_credential(context.db(), credential=held, fmt=fmt)  # type: ignore[arg-type]
    response = Response(exported.body, mimetype=exported.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@pages.post("/wallet/badges/<badge_id>/pin")
@learner_page
def pin(badge_id: str) -> Response:
    held = _mine(badge_id)
    pinned = request.form.get("pinned") == "1"
    edits.set_pinned(
        context.db(), account_id=_account_id(), cred_hash=held.content_hash, pinned=pinned, now=context.now()
    )
    return _done(".badge", "Pinned to the top." if pinned else "Unpinned.", badge_id=badge_id)


@pages.post("/wallet/badges/<badge_id>/note")
@learner_page
def note(badge_id: str) -> Response:
    held = _mine(badge_id)
    text = _text("note", 2000).strip()
    edits.set_note(context.db(), account_id=_account_id(), cred_hash=held.content_hash, note=text, now=context.now())
    return _done(".badge", "Note saved." if text else "Note cleared.", badge_id=badge_id)


@pages.post("/wallet/badges/<badge_id>/tags")
@learner_page
def add_tag(badge_id: str) -> Response:
    held = _mine(badge_id)
    shown = edits.add_tag(
        context.db(), account_id=_account_id(), cred_hash=held.content_hash, tag=_text("tag", 256), now=context.now()
    )
    return _done(".badge", f"Tagged “{shown}”.", badge_id=badge_id)


@pages.post("/wallet/badges/<badge_id>/tags/remove")
@learner_page
def remove_tag(badge_id: str) -> Response:
    held = _mine(badge_id)
    tag = _text("tag", 256)
    edits.remove_tag(context.db(), account_id=_account_id(), cred_hash=held.content_hash, tag=tag, now=context.now())
    return _done(".badge", "Tag removed.", badge_id=badge_id)


@pages.post("/wallet/badges/<badge_id>/collections")
@learner_page
def add_to_collection(badge_id: str) -> Response:
    held = _mine(badge_id)
    coll = _text("coll", 36)
    edits.add_member(context.db(), account_id=_account_id(), coll=coll, cred_hash=held.content_hash, now=context.now())
    return _done(".badge", "Added to the collection.", badge_id=badge_id)


@pages.route("/wallet/badges/<badge_id>/delete", methods=["GET", "POST"])
@learner_page
def delete(badge_id: str) -> Any:
    held = _mine(badge_id)
    if request.method == "GET":
        links = sharing.list_shares(context.db(), account_id=_account_id(), target_id=held.id)
        active = [link for link in links if sharing.link_state(link, now=context.now()) == "active"]
        return _render("app/badges/delete.html", held=held, active_links=len(active))
    holding.delete_credential(context.db(), account_id=_account_id(), credential_id=held.id, now=context.now())
    return _done(".index", f"“{held.achievement_name or 'The badge'}” was deleted from your wallet.")


# --- collections ------------------------------------------------------------------------------------


@pages.route("/wallet/collections", methods=["GET", "POST"])
@learner_page
def collections() -> Any:
    if request.method == "POST":
        coll = edits.create_collection(
            context.db(), account_id=_account_id(), name=_text("name", 200), now=context.now()
        )
        return _done(".collection", "Collection created.", coll=coll)
    listing = read_models.my_badges(
        context.db(), account_id=_account_id(), query=read_models.BadgeQuery(), now=context.now()
    )
    return _render("app/badges/collections.html", collections=listing.collections)


def _collection(coll: str) -> read_models.CollectionDetail:
    return read_models.collection_detail(
        context.db(), account_id=_account_id(), coll=coll, base_url=_base_url(), now=context.now()
    )


@pages.get("/wallet/collections/<coll>")
@learner_page
def collection(coll: str) -> str:
    return _render("app/badges/collection.html", collection=_collection(coll), max_expiry=MAX_EXPIRY_DAYS)


@pages.post("/wallet/collections/<coll>/rename")
@learner_page
def rename_collection(coll: str) -> Response:
    _collection(coll)
    edits.rename_collection(
        context.db(), account_id=_account_id(), coll=coll, name=_text("name", 200), now=context.now()
    )
    return _done(".collection", "Collection renamed.", coll=coll)


@pages.post("/wallet/collections/<coll>/move")
@learner_page
def move_collection(coll: str) -> Response:
    found = _collection(coll)
    index = _position(found.position, found.count)
    edits.move_collection(context.db(), account_id=_account_id(), coll=coll, index=index, now=context.now())
    return _done(".collections", "Moved.")


@pages.route("/wallet/collections/<coll>/delete", methods=["GET", "POST"])
@learner_page
def delete_collection(coll: str) -> Any:
    found = _collection(coll)
    if request.method == "GET":
        return _render("app/badges/delete_collection.html", collection=found)
    edits.delete_collection(context.db(), account_id=_account_id(), coll=coll, now=context.now())
    return _done(".collections", f"“{found.name}” was deleted. Its badges are still in your wallet.")


@pages.post("/wallet/collections/<coll>/members")
@learner_page
def add_member(coll: str) -> Response:
    _collection(coll)
    held = _mine(_text("badge", 36))
    edits.add_member(context.db(), account_id=_account_id(), coll=coll, cred_hash=held.content_hash, now=context.now())
    return _done(".collection", "Badge added.", coll=coll)


@pages.post("/wallet/collections/<coll>/members/<badge_id>/remove")
@learner_page
def remove_member(coll: str, badge_id: str) -> Response:
    _collection(coll)
    held = _mine(badge_id)
    edits.remove_member(
        context.db(), account_id=_account_id(), coll=coll, cred_hash=held.content_hash, now=context.now()
    )
    return _done(".collection", "Badge taken out of the collection.", coll=coll)


@pages.post("/wallet/collections/<coll>/members/<badge_id>/move")
@learner_page
def move_member(coll: str, badge_id: str) -> Response:
    found = _collection(coll)
    held = _mine(badge_id)
    current = next((i for i, card in enumerate(found.members) if card.id == held.id), None)
    if current is None:
        raise DomainError("credential.not_found")
    index = _position(current, len(found.members))
    edits.move_member(
        context.db(), account_id=_account_id(), coll=coll, cred_hash=held.content_hash, index=index, now=context.now()
    )
    return _done(".collection", "Moved.", coll=coll)


# --- share links ------------------------------------------------------------------------------------


@pages.route("/wallet/shares", methods=["GET", "POST"])
@learner_page
def shares() -> Any:
    if request.method == "POST":
        return _create_share()
    links = read_models.my_shares(context.db(), account_id=_account_id(), base_url=_base_url(), now=context.now())
    return _render("app/badges/shares.html", links=links)


def _expiry() -> dt.datetime | None:
    raw = request.form.get("expires_in_days", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXPIRY_DAYS:
        raise DomainError("request.validation_failed", f"A link can last from 1 to {MAX_EXPIRY_DAYS} days.")
    return context.now() + dt.timedelta(days=int(raw))


def _create_share() -> Response:
    kind, target = request.form.get("kind", ""), request.form.get("target", "")
    label = _text("label", MAX_LABEL_LENGTH).strip()
    db, account_id = context.db(), _account_id()
    if kind == "badge":
        target_kind, target_id = ShareTarget.CREDENTIAL, _mine(target).id
    elif kind == "collection":
        target_kind, target_id = ShareTarget.COLLECTION, uuid.UUID(_collection(target[:36]).coll)
    elif kind == "skills":
        target_kind, target_id = ShareTarget.SKILLS, account_id
    else:
        raise DomainError("request.validation_failed", "Choose a badge, a collection or your skills to share.")
    link = sharing.create_share(
        db,
        account_id=account_id,
        target_kind=target_kind,
        target_id=target_id,
        label=label,
        expires_at=_expiry(),
        now=context.now(),
    )
    return _done(".share", "Your link is ready.", share_id=str(link.id))


@pages.get("/wallet/shares/<share_id>")
@learner_page
def share(share_id: str) -> str:
    db = context.db()
    link = read_models.my_share(
        db, account_id=_account_id(), share_id=share_id, base_url=_base_url(), now=context.now()
    )
    linkedin = None
    if link.target_kind == "badge" and link.state == "active":
        held = sharing.shared_credential(db, link=sharing.get_share(db, account_id=_account_id(), share_id=link.id))
        if held is not None:
            linkedin = linkedin_add_url(badge_view(held), share_url=link.url)
    return _render("app/badges/share.html", link=link, linkedin=linkedin)


@pages.get("/wallet/shares/<share_id>/qr.svg")
@learner_page
def share_qr(share_id: str) -> Response:
    """The link as a QR code, big enough for an employer's phone camera across a table."""
    link = read_models.my_share(
        context.db(), account_id=_account_id(), share_id=share_id, base_url=_base_url(), now=context.now()
    )
    response = Response(render_svg(link.url, box_size=8, border=4), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@pages.post("/wallet/shares/<share_id>/revoke")
@learner_page
def revoke_share(share_id: str) -> Response:
    link = read_models.my_share(
        context.db(), account_id=_account_id(), share_id=share_id, base_url=_base_url(), now=context.now()
    )
    sharing.revoke_share(context.db(), account_id=_account_id(), share_id=link.id, now=context.now())
    return _done(".share", "The link is turned off. Anyone who opens it now is told so.", share_id=share_id)
