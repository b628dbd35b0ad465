"""Recognition in the console (#16): an admin lets learners ask for a badge, and endorses other organisations.

Routes (under ``/console``; who may use each is the API's rule for the same action):

``/orgs/<slug>/badges/<id>/requestable``       whether learners may ask for the badge: guidance, the
                                               evidence wanted, who reviews; save or stop (admins)
``/orgs/<slug>/endorsements``                  what the organisation endorsed (members); withdraw (admins)
``/orgs/<slug>/endorsements/new``              pick another organisation or one of its badges, then say
                                               why; signed with the organisation's own key (admins)

Each form calls the service the API calls (``PUT/DELETE …/requestable``, ``POST …/endorsements`` and
``…/withdraw``), so what a form makes is what the API would make. A refused form is its page again with
the reason and what was typed, and the API's status: 422 for a wrong value, a word too many or a wrong
choice, 400 for a NUL character (these two forms judge it themselves, :func:`wallet.web.text.judges_nul`,
and keep the rest).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import redirect, render_template, request, url_for

from wallet.console import recognition
from wallet.endorsements import services as endorsements
from wallet.errors import DomainError
from wallet.organisations.services import ADMINS, get_by_slug, require_role
from wallet.pages.console import pages
from wallet.pages.console.common import console_view, form_error, me
from wallet.requests import services as requests
from wallet.web import context
from wallet.web.text import judges_nul

EVIDENCE_CHOICES = (
    ("narrative", "What they did, in their own words"),
    ("links", "Links to things they made or posted"),
    ("files", "Photos or documents"),
    ("witness", "The name of a youth worker who saw it"),
)
REVIEWER_CHOICES = (
    ("youth_worker", "Any member (youth workers and admins)"),
    ("admin", "Admins only"),
)
_SUBJECT_GONE = {
    "achievement.not_found": ("No such badge", "There is no such badge to endorse, or it was archived."),
    "organisation.not_found": ("No such organisation", "There is no organisation of that name to endorse."),
}


def _invalid(message: str) -> DomainError:
    return DomainError("request.validation_failed", message)


def _base_url() -> str:
    return context.state().settings.base_url


# --- Requestable badges -----------------------------------------------------------------------------


def _settings_page(
    slug: str, badge_id: uuid.UUID, *, error: str | None = None, status: int = 200, typed: dict[str, Any] | None = None
) -> Any:
    settings = recognition.request_settings(context.db(), slug=slug, actor=me(), achievement_id=badge_id)
    if typed is not None:
        values = typed
    elif settings.policy is not None:
        values = {
            "guidance": settings.policy.guidance,
            "evidence": list(settings.policy.evidence_wanted),
            "reviewer_role": settings.policy.reviewer_role,
        }
    else:
        values = {"guidance": "", "evidence": ["narrative"], "reviewer_role": "youth_worker"}
    return render_template(
        "app/console/requestable.html",
        org=settings.organisation,
        role="admin",
        badge=settings.achievement,
        policy=settings.policy,
        values=values,
        error=error,
        evidence_choices=EVIDENCE_CHOICES,
        reviewer_choices=REVIEWER_CHOICES,
        max_guidance=requests.MAX_GUIDANCE_LENGTH,
    ), status


def _typed_policy() -> dict[str, Any]:
    return {
        "guidance": request.form.get("guidance", "").replace("\x00", ""),
        "evidence": [kind.replace("\x00", "") for kind in request.form.getlist("evidence")],
        "reviewer_role": request.form.get("reviewer_role", "").replace("\x00", ""),
    }


def _policy_fields() -> dict[str, Any]:
    """The form as :func:`wallet.requests.services.make_requestable` takes it, checked as the API's schema is."""
    typed = _typed_policy()
    if len(typed["guidance"]) > requests.MAX_GUIDANCE_LENGTH:
        raise _invalid(f"Keep the guidance under {requests.MAX_GUIDANCE_LENGTH} characters.")
    kinds = {kind for kind, _ in EVIDENCE_CHOICES}
    if not typed["evidence"] or any(kind not in kinds for kind in typed["evidence"]):
        raise _invalid("Tick at least one kind of evidence from the list.")
    if typed["reviewer_role"] not in {role for role, _ in REVIEWER_CHOICES}:
        raise _invalid("Choose who reviews: any member, or admins only.")
    return {
        "guidance": typed["guidance"],
        "evidence_wanted": typed["evidence"],
        "reviewer_role": typed["reviewer_role"],
    }


@pages.get("/orgs/<slug>/badges/<uuid:badge_id>/requestable")
@console_view
def requestable(slug: str, badge_id: uuid.UUID) -> Any:
    return _settings_page(slug, badge_id)


@pages.post("/orgs/<slug>/badges/<uuid:badge_id>/requestable")
@judges_nul
@console_view
def save_requestable(slug: str, badge_id: uuid.UUID) -> Any:
    """Let learners ask for the badge, or change what is asked for (``PUT …/requestable``).

    Judges NUL itself (:func:`judges_nul`): the form comes back with what was typed, less the NUL (400)."""
    if _nul_in_form():
        return _nul_answer(slug, badge_id=badge_id)
    db = context.db()
    recognition.request_settings(db, slug=slug, actor=me(), achievement_id=badge_id)
    try:
        requests.make_requestable(
            db, slug=slug, actor=me(), achievement_id=badge_id, now=context.now(), **_policy_fields()
        )
    except DomainError as error:
        db.rollback()
        if error.code in ("request.validation_failed", "request.conflict"):
            return _settings_page(slug, badge_id, error=form_error(error), status=error.status, typed=_typed_policy())
        raise
    db.commit()
    return redirect(url_for(".requestable", slug=slug, badge_id=badge_id, saved=1), code=303)


@pages.post("/orgs/<slug>/badges/<uuid:badge_id>/requestable/stop")
@console_view
def stop_requestable(slug: str, badge_id: uuid.UUID) -> Any:
    """No new requests for the badge; open ones can still be decided (``DELETE …/requestable``)."""
    db = context.db()
    recognition.request_settings(db, slug=slug, actor=me(), achievement_id=badge_id)
    requests.stop_requests(db, slug=slug, actor=me(), achievement_id=badge_id)
    db.commit()
    return redirect(url_for(".requestable", slug=slug, badge_id=badge_id, stopped=1), code=303)


# --- Endorsements -----------------------------------------------------------------------------------


def _endorsements_page(slug: str, *, error: str | None = None, status: int = 200) -> Any:
    shown = recognition.given(context.db(), slug=slug, actor=me(), base_url=_base_url())
    done = next((item for item in shown.items if str(item.endorsement.id) == request.args.get("done")), None)
    return render_template(
        "app/console/endorsements.html",
        org=shown.organisation,
        role="admin" if shown.is_admin else "youth_worker",
        given=shown,
        error=error,
        done=done,
    ), status


@pages.get("/orgs/<slug>/endorsements")
@console_view
def endorsements_given(slug: str) -> Any:
    return _endorsements_page(slug)


def _subject_ids(source: Any) -> tuple[uuid.UUID | None, str | None]:
    raw_badge, raw_issuer = source.get("achievement", ""), source.get("issuer", "")
    try:
        badge = uuid.UUID(raw_badge) if raw_badge else None
    except ValueError:
        raise DomainError("achievement.not_found") from None
    return badge, (raw_issuer or None)


def _subject_refused(error: DomainError) -> Any:
    if error.code in _SUBJECT_GONE:
        title, why = _SUBJECT_GONE[error.code]
        return render_template("app/console/refused.html", title=title, why=why, code=error.code), 404
    raise error


def _endorse_form(
    slug: str,
    subject: recognition.EndorsementSubject,
    *,
    comment: str = "",
    error: str | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "app/console/endorse.html",
        org=get_by_slug(context.db(), slug=slug),
        role="admin",
        subject=subject,
        comment=comment,
        error=error,
        max_comment=endorsements.MAX_COMMENT_LENGTH,
    ), status


@pages.get("/orgs/<slug>/endorsements/new")
@console_view
def new_endorsement(slug: str) -> Any:
    """Pick what to endorse (another organisation or one of its badges), then say why."""
    db = context.db()
    require_role(db, slug=slug, actor=me(), roles=ADMINS)  # the endorser's refusal is the console's own page
    if not request.args.get("achievement") and not request.args.get("issuer"):
        choices = recognition.endorsable(db, slug=slug, actor=me())
        return render_template(
            "app/console/endorse_choose.html", org=get_by_slug(db, slug=slug), role="admin", choices=choices
        )
    try:
        badge, issuer = _subject_ids(request.args)
        subject = recognition.endorsement_subject(db, slug=slug, actor=me(), achievement_id=badge, issuer_slug=issuer)
    except DomainError as error:
        if error.code == "request.validation_failed":
            return redirect(url_for(".new_endorsement", slug=slug), code=303)
        return _subject_refused(error)
    return _endorse_form(slug, subject)


@pages.post("/orgs/<slug>/endorsements/new")
@judges_nul
@console_view
def endorse(slug: str) -> Any:
    """Sign an endorsement with the organisation's own key (``POST …/endorsements``).

    Judges NUL itself (:func:`judges_nul`): the form comes back with what was typed, less the NUL (400)."""
    if _nul_in_form():
        return _nul_answer(slug)
    db = context.db()
    state = context.state()
    require_role(db, slug=slug, actor=me(), roles=ADMINS)
    try:
        badge, issuer = _subject_ids(request.form)
        subject = recognition.endorsement_subject(db, slug=slug, actor=me(), achievement_id=badge, issuer_slug=issuer)
    except DomainError as error:
        if error.code == "request.validation_failed":
            return render_template(
                "app/console/refused.html", title="Pick what to endorse", why=error.detail, code=error.code
            ), 422
        return _subject_refused(error)
    comment = request.form.get("comment", "")
    try:
        if len(comment) > endorsements.MAX_COMMENT_LENGTH:
            raise _invalid(f"Keep it under {endorsements.MAX_COMMENT_LENGTH} characters.")
        created = endorsements.endorse(
            db,
            slug=slug,
            actor=me(),
            achievement_id=badge,
            issuer_slug=issuer,
            comment=comment,
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code in ("request.validation_failed", "endorsement.own_work"):
            message = form_error(error)
            if error.code == "request.validation_failed" and not comment.strip():
                message = "Say why you endorse it: your words are shown with the endorsement."
            return _endorse_form(slug, subject, comment=comment, error=message, status=error.status)
        raise
    db.commit()
    return redirect(url_for(".endorsements_given", slug=slug, done=created.id), code=303)


@pages.post("/orgs/<slug>/endorsements/<uuid:endorsement_id>/withdraw")
@console_view
def withdraw_endorsement(slug: str, endorsement_id: uuid.UUID) -> Any:
    """Stop showing and serving an endorsement and revoke it (``POST …/endorsements/<id>/withdraw``)."""
    db = context.db()
    state = context.state()
    try:
        endorsements.withdraw_endorsement(
            db,
            slug=slug,
            actor=me(),
            endorsement_id=endorsement_id,
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code == "endorsement.not_found":
            why = "This organisation gave no such endorsement."
            return render_template(
                "app/console/refused.html", title="No such endorsement", why=why, code=error.code
            ), 404
        raise
    db.commit()
    return redirect(url_for(".endorsements_given", slug=slug), code=303)


# --- A NUL character in one of these forms -----------------------------------------------------------


def _nul_in_form() -> bool:
    return any("\x00" in part for item in request.form.items(multi=True) for part in item)


def _nul_answer(slug: str, *, badge_id: uuid.UUID | None = None) -> Any:
    """The form again, with the reason and what was typed less the NUL (400), to whoever may see it."""
    message = "Remove the invisible NUL character from what you typed (it cannot be stored), then try again."
    if badge_id is not None:
        return _settings_page(slug, badge_id, error=message, status=400, typed=_typed_policy())
    form = {key: value.replace("\x00", "") for key, value in request.form.items()}
    badge, issuer = _subject_ids(form)
    subject = recognition.endorsement_subject(
        context.db(), slug=slug, actor=me(), achievement_id=badge, issuer_slug=issuer
    )
    return _endorse_form(slug, subject, comment=form.get("comment", ""), error=message, status=400)
