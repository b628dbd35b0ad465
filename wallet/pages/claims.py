"""Claim pages: the landing page a phone camera opens, typed-code entry, and the youth worker's display.

Routes:

``/c/<code>`` (and ``/C/<code>``)  the badge, whom it is from and where; sign in or sign up (username and
                                 password, no email) and claim; the app's deep link
``/code``                        type the fallback printed on a card or shown on the screen
``/claims/<id>/display?t=…``     the projector/tablet page: big QR, PIN, live count (display link from the API)
``/claims/<id>/display/status``  what ``display.js`` polls (the same display token)
``/claims/<id>/display/qr.svg``  the current QR
``/c/<code>/wallet-app``          "Add to another wallet app": the OpenID4VCI offer as a link and a QR

The display page shows our claim URL by default, or with ``?qr=oid4vci`` the OpenID4VCI offer for the
same session (docs/interop.md says which to project when).

Forms carry a per-browser CSRF token (double submit: a random value in the signed session cookie, echoed
in a hidden field, compared in constant time). Every page that answers a code (the landing page, its
forms, "another wallet app") is judged under the one claim-code guessing limit (one request costs one,
however often it shows the code); wrong PINs by the claim service's lockout; sign-in and sign-up by the
API's rate limits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, redirect, render_template, request, url_for
from wallet_protocol.claim_codes import InvalidClaimCode, normalise_fallback

from wallet.accounts import recovery
from wallet.accounts import services as accounts
from wallet.claims import sessions
from wallet.claims.codes import APP_SCHEME, ResolvedCode, session_qr
from wallet.claims.display import read_display_token
from wallet.claims.guessing import CodeGuard, judge_code
from wallet.claims.redeem import check_rotation, check_session_open, redeem_code
from wallet.console.times import show as show_time
from wallet.errors import DomainError
from wallet.issuing.credentials import achievement_image_url
from wallet.models import ClaimSession, ClaimStatus, SessionMode
from wallet.oid4vci.offers import offer_by_reference
from wallet.pages.accounts import hold_recovery_codes
from wallet.transactions import unit_of_work
from wallet.web import context, limits, scans
from wallet.web.context import claim_config as config
from wallet.web.friendly import FRIENDLY
from wallet.web.guessing import code_guard
from wallet.web.qr import qr_image_response
from wallet.web.session import check_csrf, csrf_token, sign_in, sign_out, signed_in_account

pages = Blueprint(
    "claim_pages", __name__, template_folder="templates", static_folder="static", static_url_path="/assets/claims"
)


# --- Landing page -----------------------------------------------------------------------------------


def _guard() -> CodeGuard:
    """One budget per request: the landing page re-shows the code after a form, at no second cost."""
    if "claim_page_guard" not in g:
        account = signed_in_account()
        g.claim_page_guard = code_guard(account.id if account else None)
    guard: CodeGuard = g.claim_page_guard
    return guard


def _landing(code: str, *, error: str | None = None, result: dict[str, Any] | None = None, status: int = 200) -> Any:
    db = context.db()
    try:
        resolved = judge_code(db, code=code, config=config(), guard=_guard())
    except DomainError as refused:
        if refused.code == "request.rate_limited":
            return _too_many(refused)
        return render_template("claims/message.html", title="Unknown code", message=FRIENDLY["claim.unknown_code"]), 404
    claim_session = resolved.session
    _remember_fresh_scan(resolved)
    achievement = sessions.achievement_of(db, claim_session)
    organisation = sessions.organisation_of(db, claim_session)
    image = (
        achievement_image_url(context.state().settings.base_url, achievement.id) if achievement.image_sha256 else None
    )
    notice = _availability(claim_session)
    return render_template(
        "claims/landing.html",
        code=resolved.canonical,
        session=claim_session,
        achievement=achievement,
        organisation=organisation,
        image=image,
        account=signed_in_account(),
        csrf=csrf_token(),
        error=error,
        result=result,
        notice=notice,
        needs_pin=claim_session.pin_hash is not None,
        deep_link=f"{APP_SCHEME}://claim?c={resolved.canonical}",
        other_wallet=None if claim_session.moderated else url_for(".other_wallet", code=resolved.canonical),
    ), status


def _remember_fresh_scan(resolved: ResolvedCode) -> None:
    """Bind a rotating code to this browser while it is fresh, so sign-up may take minutes (web/scans.py)."""
    claim_session = resolved.session
    if resolved.code is not None or not claim_session.rotation_period_s or resolved.step is None:
        return
    now = context.now()
    try:
        check_rotation(claim_session, resolved, scan_time=now, scanned_offline=False, now=now)
    except DomainError:
        return
    scans.remember_scan(public_id=claim_session.public_id, step=resolved.step, now=now)


def _scanned_at(code: str) -> dt.datetime | None:
    """When this browser first opened ``code`` while it was fresh (rotating codes only), else None."""
    try:
        resolved = judge_code(context.db(), code=code, config=config(), guard=_guard())
    except DomainError:
        return None  # redeem_code judges the code again and answers the refusal
    if resolved.code is not None or not resolved.session.rotation_period_s or resolved.step is None:
        return None
    return scans.scanned_at(public_id=resolved.session.public_id, step=resolved.step, now=context.now())


def _too_many(refused: DomainError) -> tuple[str, int, dict[str, str]]:
    body = render_template("claims/message.html", title="Too many tries", message=FRIENDLY["request.rate_limited"])
    return body, 429, {"Retry-After": str(refused.extra.get("retry_after", 60))}


def _too_many_response(refused: DomainError) -> Response:
    body, status, headers = _too_many(refused)
    return Response(body, status=status, headers=headers, mimetype="text/html")


def _availability(claim_session: ClaimSession) -> str | None:
    """Why a claim would be refused right now, in the learner's words; judged by the claim service itself."""
    try:
        check_session_open(claim_session, None, scan_time=context.now())
    except DomainError as error:
        return FRIENDLY.get(error.code, error.detail)
    return None


@pages.get("/c/<code>")
@pages.get("/C/<code>")
def landing(code: str) -> Any:
    """The page a phone camera opens: no app, no account needed to see what the badge is."""
    return _landing(code)


@pages.post("/c/<code>/sign-up")
@pages.post("/C/<code>/sign-up")
def landing_sign_up(code: str) -> Any:
    check_csrf()
    state = context.state()
    db = context.db()
    username = request.form.get("username", "")
    try:
        limits.enforce(limits.sign_up())
        account = accounts.sign_up(
            db,
            username=username,
            password=request.form.get("password", ""),
            display_name=request.form.get("display_name", "")[:80],
            email=None,
            hasher=state.hasher,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        return _landing(code, error=FRIENDLY.get(error.code, error.detail), status=error.status)
    codes = recovery.new_recovery_codes(db, account_id=account.id, now=context.now())
    sign_in(account)
    hold_recovery_codes(codes)
    db.commit()
    return redirect(url_for("account_pages.new_recovery_codes", next=url_for(".landing", code=code)), code=303)


@pages.post("/c/<code>/sign-in")
@pages.post("/C/<code>/sign-in")
def landing_sign_in(code: str) -> Any:
    check_csrf()
    state = context.state()
    db = context.db()
    username = request.form.get("username", "")
    try:
        limits.enforce(*limits.sign_in(username))
        account = accounts.authenticate(
            db, username=username, password=request.form.get("password", ""), hasher=state.hasher
        )
    except DomainError as error:
        db.rollback()
        return _landing(code, error=FRIENDLY.get(error.code, error.detail), status=error.status)
    sign_in(account)
    db.commit()
    return redirect(url_for(".landing", code=code), code=303)


@pages.post("/c/<code>/sign-out")
@pages.post("/C/<code>/sign-out")
def landing_sign_out(code: str) -> Any:
    check_csrf()
    sign_out()
    context.db().commit()
    return redirect(url_for(".landing", code=code), code=303)


@pages.post("/c/<code>/claim")
@pages.post("/C/<code>/claim")
def landing_claim(code: str) -> Any:
    """Claim as the signed-in learner; the PIN (if any) comes with the form."""
    check_csrf()
    account = signed_in_account()
    if account is None:
        return _landing(code, error="Sign in or sign up first.", status=401)
    try:
        with unit_of_work(context.db()) as db:
            redemption = redeem_code(
                db,
                account_id=account.id,
                code=code,
                pin=request.form.get("pin") or None,
                scanned_at=_scanned_at(code),
                now=context.now(),
                config=config(),
                guard=_guard(),
            )
    except DomainError as error:
        if error.code == "request.rate_limited":
            return _too_many(error)
        return _landing(code, error=FRIENDLY.get(error.code, error.detail), status=error.status)
    pending = redemption.claim.status is ClaimStatus.PENDING
    return _landing(code, result={"pending": pending, "repeat": not redemption.created}, status=202 if pending else 200)


def _other_wallet_offer(code: str) -> tuple[Any, str]:
    try:
        resolved = judge_code(context.db(), code=code, config=config(), guard=_guard())
    except DomainError as refused:
        if refused.code == "request.rate_limited":
            abort(_too_many_response(refused))
        abort(404)
    if resolved.session.moderated:
        abort(404)
    return resolved, offer_by_reference(config().base_url, resolved.canonical)


@pages.get("/c/<code>/wallet-app")
@pages.get("/C/<code>/wallet-app")
def other_wallet(code: str) -> Any:
    """The same badge for a standards wallet (OpenID4VCI): a link on this phone, a QR for another device."""
    resolved, offer = _other_wallet_offer(code)
    db = context.db()
    return render_template(
        "claims/other_wallet.html",
        code=resolved.canonical,
        offer=offer,
        achievement=sessions.achievement_of(db, resolved.session),
        organisation=sessions.organisation_of(db, resolved.session),
        needs_pin=resolved.session.pin_hash is not None,
    )


@pages.get("/c/<code>/wallet-app/qr.svg")
@pages.get("/C/<code>/wallet-app/qr.svg")
def other_wallet_qr(code: str) -> Response:
    _, offer = _other_wallet_offer(code)
    return qr_image_response(offer, fmt="svg", query={"box_size": 10, "border": 4, "error_correction": "M"})


@pages.route("/code", methods=["GET", "POST"])
def typed_code() -> Any:
    """For a camera that will not scan: type the code from the card or the screen."""
    if request.method == "GET":
        return render_template("claims/code.html", csrf=csrf_token(), error=None)
    check_csrf()
    try:
        canonical = normalise_fallback(request.form.get("code", ""))
    except InvalidClaimCode as error:
        message = (
            "A character looks mistyped; check the code."
            if error.reason == "bad_check"
            else "A code has nine letters and digits, like K7Q-M3X-PDR."
        )
        return render_template("claims/code.html", csrf=csrf_token(), error=message), 422
    return redirect(url_for(".landing", code=canonical), code=303)


# --- Display page -----------------------------------------------------------------------------------


def _display_session(session_id: uuid.UUID) -> tuple[ClaimSession, str]:
    token = request.args.get("t", "")
    try:
        if read_display_token(config(), token, now=context.now()) != session_id:
            raise DomainError("auth.forbidden", "This display link is for another session.")
    except DomainError:
        abort(403, description="This display link is not valid or has expired; make a new one.")
    claim_session = context.db().get(ClaimSession, session_id)
    if claim_session is None:
        abort(404)
    return claim_session, token


def _qr_mode(claim_session: ClaimSession) -> str:
    """``oid4vci`` when the display was asked for the standards-wallet offer (``?qr=oid4vci``)."""
    if request.args.get("qr") == "oid4vci" and not claim_session.moderated:
        return "oid4vci"
    return "claim"


def _display_status(claim_session: ClaimSession, token: str) -> dict[str, Any]:
    counts = sessions.counts_of(context.db(), claim_session)
    status: dict[str, Any] = {
        "claimed": counts.claimed,
        "cap": counts.cap,
        "pending": counts.pending,
        "state": counts.state.value,
        "refresh_ms": 3000,
        "pin": sessions.session_pin(claim_session, config=config()),
    }
    if claim_session.mode is SessionMode.SHARED:
        qr = session_qr(claim_session, config=config(), now=context.now())
        status["fallback"] = qr.fallback
        status["step"] = qr.step
        mode = _qr_mode(claim_session)
        status["qr"] = url_for(
            ".display_qr", session_id=claim_session.id, t=token, v=qr.step or 0, qr=mode if mode != "claim" else None
        )
    return status


@pages.get("/claims/<uuid:session_id>/display")
def display(session_id: uuid.UUID) -> Any:
    claim_session, token = _display_session(session_id)
    achievement = sessions.achievement_of(context.db(), claim_session)
    mode = _qr_mode(claim_session)
    modes = []
    if claim_session.mode is SessionMode.SHARED and not claim_session.moderated:
        modes = [
            ("claim", "phone camera & our app", url_for(".display", session_id=session_id, t=token)),
            ("oid4vci", "other wallet apps", url_for(".display", session_id=session_id, t=token, qr="oid4vci")),
        ]
    organisation = sessions.organisation_of(context.db(), claim_session)
    base_url = context.state().settings.base_url
    return render_template(
        "claims/display.html",
        session=claim_session,
        achievement=achievement,
        organisation=organisation,
        image=achievement_image_url(base_url, achievement.id) if achievement.image_sha256 else None,
        code_address=base_url.split("://", 1)[-1].rstrip("/") + "/code",
        when=show_time(claim_session.starts_at, organisation.time_zone, now=context.now()),
        status=_display_status(claim_session, token),
        status_url=url_for(".display_status", session_id=session_id, t=token, qr=mode if mode != "claim" else None),
        qr_mode=mode,
        qr_modes=modes,
    )


@pages.get("/claims/<uuid:session_id>/display/status")
def display_status(session_id: uuid.UUID) -> Response:
    claim_session, token = _display_session(session_id)
    response = jsonify(_display_status(claim_session, token))
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/claims/<uuid:session_id>/display/qr.svg")
def display_qr(session_id: uuid.UUID) -> Response:
    claim_session, _ = _display_session(session_id)
    if claim_session.mode is not SessionMode.SHARED:
        abort(404)
    qr = session_qr(claim_session, config=config(), now=context.now())
    url = offer_by_reference(config().base_url, qr.token) if _qr_mode(claim_session) == "oid4vci" else qr.url
    return qr_image_response(url, fmt="svg", query={"box_size": 10, "border": 4, "error_correction": "M"})
