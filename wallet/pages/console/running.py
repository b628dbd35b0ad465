"""The youth worker's pages: pick an organisation, start a session, watch it live, hand out the badge."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from wallet.accounts import services as accounts
from wallet.claims import display, moderation, sessions
from wallet.claims.codes import card_url
from wallet.claims.moderation import Decision
from wallet.console import overview, times
from wallet.errors import DomainError
from wallet.issuing.achievements import list_achievements
from wallet.issuing.credentials import achievement_image_url
from wallet.models import Achievement, SessionMode, SessionState
from wallet.organisations.services import ANY_MEMBER, require_role, role_of
from wallet.pages.console import pages
from wallet.pages.console.common import account, console_view, form_error, me, show_time
from wallet.web import context
from wallet.web.context import claim_config as config
from wallet.web.friendly import FRIENDLY
from wallet.web.session import safe_next, signed_in_device_id


@pages.app_template_filter("local_time")
def _local_time(moment: Any, time_zone: str = "UTC") -> str:
    return show_time(moment, time_zone)


@pages.get("/")
@console_view
def index() -> Any:
    """Your organisations; with one, straight to it."""
    memberships = overview.my_organisations(context.db(), actor=me())
    if len(memberships) == 1 and not account().is_operator and request.args.get("all") is None:
        return redirect(url_for(".organisation", slug=memberships[0][0].slug), code=303)
    return render_template("app/console/index.html", memberships=memberships, operator=account().is_operator)


@pages.route("/first-password", methods=["GET", "POST"])
@console_view
def first_password() -> Any:
    """Choose your own password: the one-time password you signed in with is spent."""
    target = safe_next(request.args.get("next"), default=url_for(".index"))
    if not account().must_change_password:
        return redirect(target, code=303)
    if request.method == "GET":
        return render_template("app/console/first_password.html", error=None, next=target)
    new, again = request.form.get("password", ""), request.form.get("password_again", "")
    if new != again:
        return render_template(
            "app/console/first_password.html", error="The two passwords differ; type them again.", next=target
        ), 422
    db = context.db()
    device_id = signed_in_device_id()
    assert device_id is not None  # console_view checked the sign-in
    try:
        accounts.set_first_password(
            db,
            account_id=me(),
            new_password=new,
            hasher=context.state().hasher,
            keep_device_id=device_id,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        return render_template("app/console/first_password.html", error=form_error(error), next=target), error.status
    db.commit()
    return redirect(target, code=303)


def _image(achievement: Achievement) -> str | None:
    if not achievement.image_sha256:
        return None
    return achievement_image_url(context.state().settings.base_url, achievement.id)


@pages.get("/orgs/<slug>")
@console_view
def organisation(slug: str) -> Any:
    home = overview.organisation_home(context.db(), slug=slug, actor=me(), now=context.now())
    return render_template(
        "app/console/organisation.html",
        home=home,
        org=home.organisation,
        role=home.role.value,
        image=_image,
        requests_url=_requests_url(slug),
    )


def _requests_url(slug: str) -> str | None:
    """The badge-request review page (#16), when its blueprint is registered."""
    try:
        return url_for("review_pages.review_list", slug=slug)
    except BuildError:
        return None


_MODES = {
    "shared": "One QR code on the screen for everyone",
    "rotating": "A QR code that changes every 30 seconds (a photo sent on stops working)",
    "single_use": "Printed cards, one per learner",
}


def _session_form(slug: str, *, error: str | None = None, status: int = 200) -> Any:
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ANY_MEMBER)
    badges = list_achievements(db, slug=slug, actor=me())
    local_now = times.local(context.now(), organisation.time_zone)
    form = {
        "achievement": request.values.get("badge") or request.form.get("achievement") or "",
        "title": request.form.get("title", ""),
        "venue": request.form.get("venue", ""),
        "start_date": request.form.get("start_date", local_now.date().isoformat()),
        "start_time": request.form.get("start_time", ""),
        "duration": request.form.get("duration", str(times.DEFAULT_DURATION)),
        "cap": request.form.get("cap", "30"),
        "codes": request.form.get("codes", "20"),
        "mode": request.form.get("mode", "shared"),
        "pin_on": request.form.get("pin_on", "on") if request.method == "GET" else request.form.get("pin_on", ""),
        "moderated": request.form.get("moderated", ""),
    }
    if not form["achievement"] and len(badges) == 1:
        form["achievement"] = str(badges[0].id)
    role = role_of(db, organisation_id=organisation.id, account_id=me())
    return render_template(
        "app/console/session_new.html",
        org=organisation,
        role=role.value if role else "",
        badges=badges,
        form=form,
        error=error,
        durations=times.DURATIONS,
        modes=_MODES,
        today=local_now.date().isoformat(),
        image=_image,
    ), status


def _int(field: str, raw: str, label: str) -> int:
    try:
        return int(raw.strip())
    except (ValueError, AttributeError) as error:
        raise DomainError(
            "request.validation_failed", f"{label} must be a whole number.", errors={field: ["a whole number"]}
        ) from error


@pages.route("/orgs/<slug>/sessions/new", methods=["GET", "POST"])
@console_view
def new_session(slug: str) -> Any:
    """Start a claim session: badge, then everything defaulted (now, 2 hours, PIN on, shared QR)."""
    if request.method == "GET":
        return _session_form(slug)
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ANY_MEMBER)
    form = request.form
    try:
        try:
            achievement_id = uuid.UUID(form.get("achievement", ""))
        except ValueError as error:
            raise DomainError(
                "request.validation_failed", "Pick the badge to hand out.", errors={"achievement": ["pick one"]}
            ) from error
        starts_at, ends_at = times.session_window(
            start_date=form.get("start_date", ""),
            start_time=form.get("start_time", ""),
            duration_minutes=form.get("duration", ""),
            time_zone=organisation.time_zone,
            now=context.now(),
        )
        mode_choice = form.get("mode", "shared")
        if mode_choice not in _MODES:
            raise DomainError("request.validation_failed", "Pick how learners get the badge.", errors={"mode": ["?"]})
        mode = SessionMode.SINGLE_USE if mode_choice == "single_use" else SessionMode.SHARED
        codes = _int("codes", form.get("codes", ""), "The number of cards") if mode is SessionMode.SINGLE_USE else None
        cap = codes if codes is not None else _int("cap", form.get("cap", ""), "The most badges")
        pin = sessions.new_pin() if form.get("pin_on") else None
        title = form.get("title", "").strip()
        if len(title) > 200 or len(form.get("venue", "")) > 200:
            raise DomainError("request.validation_failed", "Keep the title and venue under 200 characters.")
        badge = db.get(Achievement, achievement_id)
        session = sessions.open_session(
            db,
            organisation_slug=slug,
            achievement_id=achievement_id,
            actor=me(),
            title=title or (badge.name if badge is not None else "Claim session"),
            venue=form.get("venue", ""),
            starts_at=starts_at,
            ends_at=ends_at,
            cap=cap,
            mode=mode,
            codes=codes,
            pin=pin,
            rotation_period_s=sessions.CONSOLE_ROTATION_S if mode_choice == "rotating" else None,
            moderated=bool(form.get("moderated")),
            config=config(),
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code in ("request.validation_failed", "achievement.not_found"):
            return _session_form(slug, error=form_error(error), status=422)
        raise
    db.commit()
    return redirect(url_for(".live", session_id=session.id), code=303)


def _live(session_id: uuid.UUID) -> overview.LiveSession:
    return overview.live_session(context.db(), session_id=session_id, actor=me(), config=config(), now=context.now())


@pages.get("/sessions/<uuid:session_id>")
@console_view
def live(session_id: uuid.UUID) -> Any:
    """The live session: what to tell the room, the count, the claims as they arrive."""
    view = _live(session_id)
    base = context.state().settings.base_url
    return render_template(
        "app/console/live.html",
        live=view,
        s=view.session,
        org=view.organisation,
        role=view.role.value,
        image=_image(view.achievement),
        status=overview.live_status(view),
        code_address=base.split("://", 1)[-1].rstrip("/") + "/code",
        notice=FRIENDLY.get(request.args.get("notice", ""), None),
    )


@pages.get("/sessions/<uuid:session_id>/live.json")
@console_view
def live_json(session_id: uuid.UUID) -> Response:
    response = jsonify(overview.live_status(_live(session_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


_STATES = {
    "pause": SessionState.PAUSED,
    "resume": SessionState.OPEN,
    "close": SessionState.CLOSED,
    "reopen": SessionState.OPEN,
}


@pages.post("/sessions/<uuid:session_id>/state")
@console_view
def change_state(session_id: uuid.UUID) -> Any:
    """Pause, resume, close or reopen (reopening an ended session gives it two more hours)."""
    action = request.form.get("action", "")
    if action not in _STATES:
        raise DomainError("request.validation_failed", "Pick pause, resume, close or reopen.")
    db = context.db()
    now = context.now()
    changes: dict[str, Any] = {"state": _STATES[action]}
    if action == "reopen":
        session = sessions.require_session(db, session_id=session_id, actor=me())
        if session.ends_at <= now:
            changes["ends_at"] = now + times_default()
    sessions.update_session(db, session_id=session_id, actor=me(), now=now, **changes)
    db.commit()
    return redirect(url_for(".live", session_id=session_id), code=303)


def times_default() -> Any:
    import datetime as dt

    return dt.timedelta(minutes=times.DEFAULT_DURATION)


@pages.post("/sessions/<uuid:session_id>/claims/<uuid:claim_id>")
@console_view
def decide(session_id: uuid.UUID, claim_id: uuid.UUID) -> Any:
    """Approve or reject a waiting claim; revoke a badge handed out by mistake."""
    try:
        decision = Decision(request.form.get("decision", ""))
    except ValueError as error:
        raise DomainError("request.validation_failed", "Pick approve, reject or revoke.") from error
    db = context.db()
    moderation.decide_claim(
        db,
        session_id=session_id,
        claim_id=claim_id,
        actor=me(),
        decision=decision,
        reason="revoked by a youth worker in the console" if decision is Decision.REVOKE else None,
        config=config(),
        now=context.now(),
    )
    db.commit()
    return redirect(url_for(".live", session_id=session_id), code=303)


@pages.get("/sessions/<uuid:session_id>/claims.csv")
@console_view
def claims_csv(session_id: uuid.UUID) -> Response:
    text = sessions.claims_csv(context.db(), session_id=session_id, actor=me())
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="claims-{session_id}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/sessions/<uuid:session_id>/display")
@console_view
def open_display(session_id: uuid.UUID) -> Any:
    """One click to the projector page: a display link for this session, valid for the day."""
    url, _ = display.display_link(context.db(), session_id=session_id, actor=me(), config=config(), now=context.now())
    return redirect(url, code=303)


@pages.get("/sessions/<uuid:session_id>/cards.pdf")
@console_view
def cards(session_id: uuid.UUID) -> Any:
    """The single-use cards to print: badge, venue and date, QR and typed code on each."""
    from wallet.qr.cards import Card, single_use_cards_pdf

    db = context.db()
    session, codes = sessions.single_use_codes(db, session_id=session_id, actor=me())
    unspent = [code for code in codes if code.redeemed_at is None and code.expired_at is None]
    if not unspent:
        raise DomainError("request.conflict", "Every card of this session is used or expired.")
    organisation = sessions.organisation_of(db, session)
    page = "Letter" if request.args.get("page") == "Letter" else "A4"
    pdf = single_use_cards_pdf(
        badge_name=sessions.achievement_of(db, session).name,
        issuer_name=organisation.name,
        cards=[Card(card_url(code, config=config()), code.fallback_code) for code in unspent],
        code_entry_address=config().base_url.split("://", 1)[-1].rstrip("/") + "/code",
        page=page,
        venue=session.venue,
        when=times.show(session.starts_at, organisation.time_zone, now=context.now()),
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="claim-cards-{session.public_id}.pdf"'
    return response
