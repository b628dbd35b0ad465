"""The learner's web app around the badges: home, account, adding a badge, and what makes it work offline.

Routes (the badge list, a badge, collections and share links are ``wallet_pages``, under ``/wallet``):

``/``                          what this is; the way in for learners, youth workers and developers
``/account``                   name, password, devices, recovery codes, download my data, delete my account
``/wallet/add``                add a badge: a claim code or link, a file, a baked image, a URL
``/manifest.webmanifest``      the web app manifest (install to the home screen); icons under ``/assets/app/``
``/sw.js``                     the service worker (scope ``/``): cached pages and badge images for offline use
``/app/offline``               the page the service worker shows for a page never opened, or a claim link
                               opened with no network (it keeps the claim on the phone)
``POST /app/claims/redeem``    JSON, for queued offline claims: the session cookie plus an ``X-CSRF-Token``
                               header; the one redemption path (:func:`wallet.claims.redeem.redeem_code`) and
                               the one claim-code guessing limit

Every form posts the CSRF token; every page but ``/`` and ``/app/offline`` needs a signed-in browser.
Everything but the offline queue works without script.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from wallet_protocol.claim_codes import (
    OFFLINE_QUEUE_LIMIT_S,
    InvalidClaimCode,
    normalise_fallback,
    read_claim_url,
)

from wallet import personal_data as account_export
from wallet.accounts import recovery
from wallet.accounts import services as accounts
from wallet.claims import sessions
from wallet.claims.redeem import redeem_code
from wallet.db import scrub_after_erasure
from wallet.errors import DomainError
from wallet.holding import services as holding
from wallet.models import Account, ClaimStatus
from wallet.organisations import services as organisations
from wallet.pathways import services as pathways
from wallet.transactions import unit_of_work
from wallet.web import context, limits
from wallet.web import session as web_session
from wallet.web.context import claim_config
from wallet.web.friendly import FRIENDLY
from wallet.web.guessing import code_guard
from wallet.web.problems import problem_response
from wallet.web.session import check_csrf, check_csrf_header, login_required, signed_in_account, signed_in_device_id

pages = Blueprint("learner_pages", __name__, template_folder="templates")

APP_VERSION = "1"
"""Bump when the service worker or the offline script changes: old caches are dropped on activation."""

IMPORT_TYPES = {
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".jwt": "application/jwt",
    ".txt": "text/plain",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


@pages.app_context_processor
def _offline_rule() -> dict[str, Any]:
    """Every app page can tell the learner how long a code kept offline stays claimable (the shared rule)."""
    return {"offline_queue_limit_hours": OFFLINE_QUEUE_LIMIT_S // 3600}


def _say(error: DomainError) -> str:
    """The refusal in plain words; the service's own sentence where it names the rule or the field."""
    if error.code in ("account.weak_password", "request.validation_failed", "auth.invalid_credentials"):
        return error.detail
    return FRIENDLY.get(error.code, error.detail)


# --- Home -------------------------------------------------------------------------------------------


@pages.get("/")
def home() -> Any:
    """What this is, and the way in for each of the people who come here."""
    return render_template("app/home.html")


# --- Account ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceRow:
    id: uuid.UUID
    name: str
    platform: str
    signed_in: dt.datetime
    last_seen: dt.datetime
    this_browser: bool


@dataclass(frozen=True)
class InvitationRow:
    id: uuid.UUID
    organisation: str
    role: str


@dataclass(frozen=True)
class AccountOverview:
    """What the account page shows: a read model, so the template does no lookups."""

    username: str
    display_name: str
    created_at: dt.datetime
    devices: list[DeviceRow]
    recovery_codes_left: int
    invitations: list[InvitationRow]


def _overview(account: Account) -> AccountOverview:
    db = context.db()
    here = signed_in_device_id()
    devices = [
        DeviceRow(d.id, d.name, d.platform, d.created_at, d.last_seen_at, d.id == here)
        for d in accounts.list_devices(db, account_id=account.id)
    ]
    devices.sort(key=lambda row: (not row.this_browser, -row.last_seen.timestamp()))
    return AccountOverview(
        username=account.username,
        display_name=account.display_name,
        created_at=account.created_at,
        devices=devices,
        recovery_codes_left=recovery.recovery_codes_left(db, account_id=account.id),
        invitations=[
            InvitationRow(invitation.id, organisation.name, invitation.role.value.replace("_", " "))
            for organisation, invitation in organisations.invitations_for(db, account_id=account.id)
        ],
    )


def _account_page(*, errors: dict[str, str] | None = None, done: str | None = None, status: int = 200) -> Any:
    account = signed_in_account()
    assert account is not None
    return render_template("app/account.html", overview=_overview(account), errors=errors or {}, done=done), status


def _me() -> Account:
    account = signed_in_account()
    assert account is not None  # login_required
    return account


@pages.get("/account")
@login_required
def account() -> Any:
    done = {
        "name": "Your name is saved.",
        "password": "Your new password is set; other devices are signed out.",
        "invitation-accept": "You are now a member: the organisation's console is at /console.",
        "invitation-decline": "Invitation declined.",
    }
    return _account_page(done=done.get(request.args.get("done", "")))


@pages.post("/account/name")
@login_required
def account_name() -> Any:
    check_csrf()
    name = request.form.get("display_name", "").strip()
    if not 1 <= len(name) <= 80:
        return _account_page(errors={"name": "Your name has 1 to 80 characters."}, status=422)
    db = context.db()
    accounts.update_profile(db, account_id=_me().id, display_name=name)
    db.commit()
    return redirect(url_for(".account", done="name"), code=303)


@pages.post("/account/password")
@login_required
def account_password() -> Any:
    check_csrf()
    me = _me()
    device_id = signed_in_device_id()
    assert device_id is not None
    try:
        limits.enforce(*limits.sign_in(me.username))
        db = context.db()
        accounts.change_password(
            db,
            account_id=me.id,
            current_password=request.form.get("current_password", ""),
            new_password=request.form.get("new_password", ""),
            hasher=context.state().hasher,
            keep_device_id=device_id,
            now=context.now(),
        )
    except DomainError as error:
        context.db().rollback()
        return _account_page(errors={"password": _say(error)}, status=error.status)
    db.commit()
    return redirect(url_for(".account", done="password"), code=303)


@pages.post("/account/devices/<device_id>/revoke")
@login_required
def account_revoke_device(device_id: str) -> Any:
    check_csrf()
    me = _me()
    try:
        target = uuid.UUID(device_id)
    except ValueError:
        return _account_page(errors={"devices": "That device is not on your list."}, status=404)
    this_browser = target == signed_in_device_id()
    db = context.db()
    try:
        accounts.revoke_device(db, account_id=me.id, device_id=target, now=context.now())
    except DomainError:
        db.rollback()
        return _account_page(errors={"devices": "That device is not on your list."}, status=404)
    if this_browser:
        web_session.sign_out()
        db.commit()
        return _signed_out_redirect(url_for("account_pages.sign_in"))
    db.commit()
    return redirect(url_for(".account") + "#devices", code=303)


@pages.post("/account/invitations/<invitation_id>/<answer>")
@login_required
def account_invitation(invitation_id: str, answer: str) -> Any:
    """Say yes or no to an organisation that asked you to be staff (nobody becomes staff without saying yes)."""
    db = context.db()
    try:
        target = uuid.UUID(invitation_id)
        if answer == "accept":
            organisations.accept_invitation(db, account_id=_me().id, invitation_id=target, now=context.now())
        elif answer == "decline":
            organisations.decline_invitation(db, account_id=_me().id, invitation_id=target)
        else:
            raise ValueError(answer)
    except (ValueError, DomainError):
        db.rollback()
        return _account_page(errors={"invitations": "That invitation is not waiting for you."}, status=404)
    db.commit()
    return redirect(url_for(".account", done=f"invitation-{answer}"), code=303)


@pages.post("/account/recovery-codes")
@login_required
def account_recovery_codes() -> Any:
    from wallet.pages.accounts import recovery_codes_page

    check_csrf()
    me = _me()
    try:
        limits.enforce(*limits.sign_in(me.username))
        db = context.db()
        codes = recovery.regenerate_recovery_codes(
            db,
            account_id=me.id,
            password=request.form.get("password", ""),
            hasher=context.state().hasher,
            now=context.now(),
        )
    except DomainError as error:
        context.db().rollback()
        return _account_page(errors={"recovery": _say(error)}, status=error.status)
    db.commit()
    return recovery_codes_page(codes, next_url=url_for(".account"), first_time=False)


@pages.get("/account/export.json")
@login_required
def account_export_json() -> Response:
    """Everything the service holds about me, as one JSON file (the API's ``GET /api/v1/me/export``)."""
    document = account_export.export_account(context.db(), account_id=_me().id, now=context.now())
    return Response(
        json.dumps(document, indent=2, ensure_ascii=False, default=str),
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="learner-wallet-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@pages.post("/account/delete")
@login_required
def account_delete() -> Any:
    check_csrf()
    me = _me()
    if request.form.get("confirm") != "yes":
        return _account_page(errors={"delete": "Tick the box to say you understand nothing can be undone."}, status=422)
    try:
        limits.enforce(*limits.sign_in(me.username))
        db = context.db()
        accounts.delete_account(
            db, account_id=me.id, password=request.form.get("password", ""), hasher=context.state().hasher
        )
    except DomainError as error:
        context.db().rollback()
        return _account_page(errors={"delete": _say(error)}, status=error.status)
    db.commit()
    db.close()
    scrub_after_erasure(context.state().engine)
    web_session.forget_browser()
    return _signed_out_redirect(url_for(".home", deleted=1))


def _signed_out_redirect(target: str) -> Response:
    """Leave this browser with nothing of the account: cookie gone, caches and offline queue cleared."""
    response = redirect(target, code=303)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


# --- Add a badge ------------------------------------------------------------------------------------


def _add_page(*, error: dict[str, str] | None = None, added: Any = None, status: int = 200) -> Any:
    return render_template(
        "app/add.html",
        errors=error or {},
        added=added,
        form={"code": request.form.get("code", "")[:200], "url": request.form.get("url", "")[:2000]},
    ), status


@pages.get("/wallet/add")
@login_required
def add() -> Any:
    return _add_page()


@pages.post("/wallet/add/code")
@login_required
def add_code() -> Any:
    """A typed code or a pasted claim link: on to the claim page, which shows the badge and claims it."""
    check_csrf()
    text = request.form.get("code", "").strip()
    try:
        if "/" in text:
            token = read_claim_url(text, trusted_base_urls=[context.state().settings.base_url]).token
        else:
            token = normalise_fallback(text)
    except InvalidClaimCode as error:
        message = {
            "bad_check": "A character looks mistyped; check the code.",
            "untrusted_host": "That link is for another website, not this wallet.",
        }.get(error.reason, "A code has nine letters and digits, like K7Q-M3X-PDR, or paste the whole claim link.")
        return _add_page(error={"code": message}, status=422)
    return redirect(url_for("claim_pages.landing", code=token), code=303)


def _media_type(filename: str, declared: str | None, data: bytes) -> str | None:
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in IMPORT_TYPES:
        return IMPORT_TYPES[extension]
    if data.startswith(b"\x89PNG"):
        return "image/png"
    head = data.lstrip()[:5]
    if head.startswith(b"<"):
        return "image/svg+xml"
    if head.startswith(b"{"):
        return "application/json"
    if head.startswith(b"ey"):
        return "application/jwt"
    return declared if declared in IMPORT_TYPES.values() else None


@pages.post("/wallet/add/file")
@login_required
def add_file() -> Any:
    """A credential file or a baked badge image, checked exactly as ``POST /api/v1/credentials/import``."""
    check_csrf()
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if not data:
        return _add_page(error={"file": "Choose a badge file (JSON) or a badge image (PNG or SVG)."}, status=422)
    media_type = _media_type(upload.filename or "", upload.mimetype, data) if upload is not None else None
    return _import(
        lambda db: holding.import_credential(
            db, account_id=_me().id, data=data, content_type=media_type, fetcher=context.fetcher(), now=context.now()
        ),
        field="file",
    )


@pages.post("/wallet/add/url")
@login_required
def add_url() -> Any:
    """A badge published at a URL (an Open Badges 2.0 assertion, a credential), as ``…/credentials/import-url``."""
    check_csrf()
    url = request.form.get("url", "").strip()
    if not url.lower().startswith(("https://", "http://")) or len(url) > 2000:
        return _add_page(error={"url": "Paste the badge's whole address, starting with https://"}, status=422)
    return _import(
        lambda db: holding.import_from_url(
            db, account_id=_me().id, url=url, fetcher=context.fetcher(), now=context.now()
        ),
        field="url",
    )


def _import(run: Any, *, field: str) -> Any:
    db = context.db()
    try:
        credential = run(db)
    except DomainError as error:
        db.rollback()
        message = FRIENDLY.get(error.code, error.detail)
        if error.code == "credential.duplicate" and error.extra.get("existing_id"):
            return _add_page(
                error={field: message}, added={"id": error.extra["existing_id"], "duplicate": True}, status=409
            )
        return _add_page(error={field: message}, status=error.status)
    awards = context.state().recognise(db, credential.account_id, context.now())
    completed = [pathways.get_pathway(db, pathway_id=award.pathway_id).name for award in awards]
    db.commit()
    return _add_page(
        added={
            "id": credential.id,
            "name": credential.achievement_name,
            "issuer": credential.issuer_name,
            "outcome": credential.outcome,
            "completed": completed,
        },
        status=201,
    )


# --- Offline: manifest, service worker, queued claims -----------------------------------------------


@pages.get("/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "Learner Wallet",
        "short_name": "Wallet",
        "description": "Your badges on your phone: claim, keep, show and share them, also offline.",
        "id": "/wallet",
        "start_url": "/wallet",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f6f8",
        "theme_color": "#0b6bcb",
        "icons": [
            {"src": url_for(".icon", size=size), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
            for size in (192, 512)
        ]
        + [
            {
                "src": url_for(".icon", size=512, maskable=1),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    return Response(json.dumps(body), mimetype="application/manifest+json", headers={"Cache-Control": "max-age=3600"})


@functools.cache
def _icon_png(size: int, maskable: bool) -> bytes:
    """The app icon, drawn here (a ribbon badge on the brand colour): no file to fetch from anywhere."""
    from PIL import Image, ImageDraw

    scale = 4
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    blue, white, gold = (11, 107, 203, 255), (255, 255, 255, 255), (245, 185, 40, 255)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=blue)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=blue)
    cx, cy, r = big // 2, int(big * 0.42), int(big * (0.2 if maskable else 0.25))
    ribbon = r // 2
    draw.polygon([(cx - ribbon, cy), (cx - ribbon * 2, cy + r * 2), (cx - ribbon // 3, cy + int(r * 1.6))], fill=gold)
    draw.polygon([(cx + ribbon, cy), (cx + ribbon * 2, cy + r * 2), (cx + ribbon // 3, cy + int(r * 1.6))], fill=gold)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=white)
    inner = int(r * 0.62)
    draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=gold)
    out = io.BytesIO()
    image.resize((size, size), Image.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


@pages.get("/assets/app/icon-<int:size>.png")
def icon(size: int) -> Response:
    if size not in (180, 192, 512):
        return Response(status=404)
    maskable = request.args.get("maskable") == "1"
    return Response(_icon_png(size, maskable), mimetype="image/png", headers={"Cache-Control": "max-age=86400"})


@pages.get("/sw.js")
def service_worker() -> Response:
    """The service worker, served from the root so that its scope is the whole app (``/``)."""
    body = render_template("app/sw.js", version=APP_VERSION)
    return Response(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@pages.get("/app/offline")
def offline() -> Any:
    """Shown by the service worker with no network: for a claim link it keeps the claim on the phone."""
    return render_template("app/offline.html")


def _scanned_at(raw: object) -> dt.datetime | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw < 2**53:
        raise DomainError(
            "request.validation_failed",
            "scanned_at is the phone's time of the scan, in milliseconds since 1970.",
            errors={"scanned_at": ["milliseconds since 1970, e.g. 1764669600000"]},
        )
    return dt.datetime.fromtimestamp(raw / 1000, tz=dt.UTC)


def _body() -> dict[str, Any]:
    if not request.is_json:
        raise DomainError("request.unsupported_media_type", "Send application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not set(body) <= {"code", "scanned_at", "pin"}:
        raise DomainError("request.malformed", "Send {code, scanned_at, pin?}.")
    code, pin = body.get("code"), body.get("pin")
    if not isinstance(code, str) or not 1 <= len(code) <= 200 or "\x00" in code:
        raise DomainError(
            "request.validation_failed", "code is the claim code or token.", errors={"code": ["required"]}
        )
    if pin is not None and (not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or len(pin) > 12):
        raise DomainError("request.validation_failed", "pin is 1-12 digits.", errors={"pin": ["1-12 digits"]})
    return body


@pages.post("/app/claims/redeem")
def redeem_queued() -> Any:
    """Redeem one claim the phone kept while offline (JSON in and out; problem+json on refusal).

    ``scanned_at`` is when the learner typed the code or opened the link; the server judges it (a claim
    older than the offline limit is ``claim.expired_code``). Repeating a redemption answers the same
    claim (``repeat: true``), so a lost answer is safe to send again.
    """
    if not check_csrf_header():
        return problem_response(403, "auth.forbidden", "Reload the page and try again (the form expired).")
    account = signed_in_account()
    if account is None:
        return problem_response(401, "auth.required", "Sign in to claim this badge.")
    body = _body()
    try:
        canonical = normalise_fallback(body["code"]) if len(body["code"]) <= 16 else body["code"]
    except InvalidClaimCode:
        canonical = body["code"]
    with unit_of_work(context.db()) as db:
        redemption = redeem_code(
            db,
            account_id=account.id,
            code=canonical,
            pin=body.get("pin") or None,
            scanned_at=_scanned_at(body.get("scanned_at")),
            now=context.now(),
            config=claim_config(),
            guard=code_guard(account.id),
        )
        achievement_name = sessions.achievement_of(db, redemption.session).name
    pending = redemption.claim.status is ClaimStatus.PENDING
    return {
        "status": "pending" if pending else "issued",
        "repeat": not redemption.created,
        "badge": achievement_name,
    }, (202 if pending else 200)
