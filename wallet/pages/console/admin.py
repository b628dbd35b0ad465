"""The admin's pages: badges, members, awards, the issuer profile and its keys."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from flask import redirect, render_template, request, url_for

from wallet.claims import sessions
from wallet.console import pathways as design
from wallet.errors import DomainError
from wallet.issuing import achievements, credentials, keys
from wallet.issuing.credentials import achievement_image_url
from wallet.issuing.profiles import profile_url
from wallet.models import Achievement, Role, SessionMode
from wallet.organisations import services as organisations
from wallet.organisations.services import ADMINS, require_role
from wallet.pages.console import pages
from wallet.pages.console.common import console_view, form_error, me
from wallet.skills import frameworks as skills
from wallet.web import context
from wallet.web.context import claim_config as config

_MAX_IMAGE = 512 * 1024
ALIGNMENT_FIELDS = ("targetName", "targetUrl", "targetFramework", "targetCode")
ALIGNMENT_ROWS = 3


def _base_url() -> str:
    return context.state().settings.base_url


def _kek() -> bytes:
    return context.state().secrets.key_encryption_key


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("request.validation_failed", message, errors={field: [message]})


# --- Badges -----------------------------------------------------------------------------------------


def _badge_fields() -> dict[str, Any]:
    """The badge form as the service takes it; each field checked as the API's schema checks it."""
    form = request.form
    name, description = form.get("name", "").strip(), form.get("description", "").strip()
    if not 1 <= len(name) <= 120:
        raise _invalid("name", "Give the badge a name (at most 120 characters).")
    if not 1 <= len(description) <= 4000:
        raise _invalid("description", "Say what the badge is for (at most 4000 characters).")
    narrative = form.get("criteria_narrative", "").strip()
    if len(narrative) > 8000:
        raise _invalid("criteria_narrative", "Keep the criteria under 8000 characters.")
    criteria_url = form.get("criteria_url", "").strip() or None
    if criteria_url and not _web_address(criteria_url):
        raise _invalid("criteria_url", "The criteria address must start with https:// or http://.")
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    if len(tags) > 30 or any(len(t) > 60 for t in tags):
        raise _invalid("tags", "At most 30 skills, each under 60 characters.")
    alignments = []
    for row in range(ALIGNMENT_ROWS):
        entry = {f: form.get(f"align-{row}-{f}", "").strip() for f in ALIGNMENT_FIELDS}
        if not any(entry.values()):
            continue
        if not entry["targetName"] or not _web_address(entry["targetUrl"]):
            raise _invalid("alignments", "Each framework link needs a name and an address starting with https://.")
        if any(len(v) > 200 for v in entry.values()):
            raise _invalid("alignments", "Keep framework names and codes under 200 characters.")
        alignments.append({k: v for k, v in entry.items() if v})
    validity = form.get("validity_days", "").strip()
    validity_days = None
    if validity:
        if not validity.isdigit() or not 1 <= int(validity) <= 36500:
            raise _invalid("validity_days", "Validity is a number of days from 1 to 36500, or blank.")
        validity_days = int(validity)
    return {
        "name": name,
        "description": description,
        "criteria_narrative": narrative,
        "criteria_url": criteria_url,
        "tags": tags,
        "alignments": alignments,
        "validity_days": validity_days,
    }


def _web_address(text: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and len(text) <= 500


def _upload() -> bytes | None:
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return None
    data = upload.read(_MAX_IMAGE + 1)
    if len(data) > _MAX_IMAGE:
        raise DomainError("achievement.invalid_image", "The image is larger than 512 KB.", reason="too_large")
    return data


def _badge_page(
    slug: str,
    badge: Achievement | None,
    *,
    error: str | None = None,
    alignment_error: str | None = None,
    status: int = 200,
) -> Any:
    organisation = require_role(context.db(), slug=slug, actor=me(), roles=ADMINS)
    values: dict[str, Any]
    if request.method == "POST" and alignment_error is None:
        values = {
            k: request.form.get(k, "")
            for k in ("name", "description", "criteria_narrative", "criteria_url", "tags", "validity_days")
        }
        rows = [{f: request.form.get(f"align-{i}-{f}", "") for f in ALIGNMENT_FIELDS} for i in range(ALIGNMENT_ROWS)]
    elif badge is not None:
        values = {
            "name": badge.name,
            "description": badge.description,
            "criteria_narrative": badge.criteria_narrative,
            "criteria_url": badge.criteria_url or "",
            "tags": ", ".join(badge.tags or []),
            "validity_days": badge.validity_days or "",
        }
        rows = [dict(a) for a in (badge.alignments or []) if not skills.is_framework_alignment(_base_url(), a)][
            :ALIGNMENT_ROWS
        ]
    else:
        values, rows = {}, []
    rows += [{} for _ in range(ALIGNMENT_ROWS - len(rows))]
    image = achievement_image_url(_base_url(), badge.id) if badge is not None and badge.image_sha256 else None
    return render_template(
        "app/console/badge_form.html",
        org=organisation,
        role="admin",
        badge=badge,
        values=values,
        rows=rows,
        error=error,
        image=image,
        fields=ALIGNMENT_FIELDS,
        alignment_error=alignment_error,
        framework_alignments=design.framework_alignments(context.db(), achievement=badge, base_url=_base_url())
        if badge is not None
        else [],
        skill_groups=design.skill_choices(context.db(), base_url=_base_url()) if badge is not None else [],
        typed_skill=request.form.get("skill", "") if alignment_error else "",
    ), status


@pages.get("/orgs/<slug>/badges/new")
@console_view
def new_badge(slug: str) -> Any:
    return _badge_page(slug, None)


def _save_image(slug: str, badge_id: uuid.UUID, data: bytes | None) -> None:
    if data is not None:
        achievements.set_image(
            context.db(), slug=slug, actor=me(), achievement_id=badge_id, data=data, now=context.now()
        )


@pages.post("/orgs/<slug>/badges/new")
@console_view
def create_badge(slug: str) -> Any:
    db = context.db()
    try:
        fields = _badge_fields()
        data = _upload()
        badge = achievements.create_achievement(db, slug=slug, actor=me(), now=context.now(), **fields)
        _save_image(slug, badge.id, data)
    except DomainError as error:
        db.rollback()
        if error.code in ("request.validation_failed", "achievement.invalid_image"):
            return _badge_page(slug, None, error=form_error(error), status=422)
        raise
    db.commit()
    return redirect(url_for(".organisation", slug=slug), code=303)


@pages.get("/orgs/<slug>/badges/<uuid:badge_id>")
@console_view
def edit_badge(slug: str, badge_id: uuid.UUID) -> Any:
    require_role(context.db(), slug=slug, actor=me(), roles=ADMINS)
    badge = achievements.get_achievement(context.db(), slug=slug, actor=me(), achievement_id=badge_id)
    return _badge_page(slug, badge)


@pages.post("/orgs/<slug>/badges/<uuid:badge_id>")
@console_view
def update_badge(slug: str, badge_id: uuid.UUID) -> Any:
    db = context.db()
    require_role(db, slug=slug, actor=me(), roles=ADMINS)
    badge = achievements.get_achievement(db, slug=slug, actor=me(), achievement_id=badge_id)
    try:
        fields = _badge_fields()
        fields["alignments"] = skills.with_framework_alignments(
            _base_url(), badge.alignments or [], fields["alignments"]
        )
        data = _upload()
        achievements.update_achievement(
            db, slug=slug, actor=me(), achievement_id=badge_id, changes=fields, now=context.now()
        )
        _save_image(slug, badge_id, data)
    except DomainError as error:
        db.rollback()
        if error.code in ("request.validation_failed", "achievement.invalid_image"):
            return _badge_page(slug, badge, error=form_error(error), status=422)
        raise
    db.commit()
    return redirect(url_for(".organisation", slug=slug), code=303)


@pages.post("/orgs/<slug>/badges/<uuid:badge_id>/archive")
@console_view
def archive_badge(slug: str, badge_id: uuid.UUID) -> Any:
    db = context.db()
    achievements.archive_achievement(db, slug=slug, actor=me(), achievement_id=badge_id, now=context.now())
    db.commit()
    return redirect(url_for(".organisation", slug=slug), code=303)


@pages.post("/orgs/<slug>/badges/<uuid:badge_id>/alignments")
@console_view
def align_badge(slug: str, badge_id: uuid.UUID) -> Any:
    """Align the badge to a framework item; badges issued from now carry the alignment (admins)."""
    db = context.db()
    require_role(db, slug=slug, actor=me(), roles=ADMINS)
    badge = achievements.get_achievement(db, slug=slug, actor=me(), achievement_id=badge_id)
    try:
        framework, version, item = design.alignment_target(request.form.get("skill", ""), base_url=_base_url())
        skills.align_achievement(
            db,
            slug=slug,
            actor=me(),
            achievement_id=badge_id,
            framework=framework,
            item=item,
            version=version,
            base_url=_base_url(),
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code in (
            "request.validation_failed",
            "framework.not_found",
            "framework.item_not_found",
            "request.conflict",
        ):
            message = form_error(error)
            if error.code.startswith("framework."):
                message = "That skill is not in the framework any more: pick one from the list."
            return _badge_page(
                slug, badge, alignment_error=message, status=error.status if error.status != 404 else 422
            )
        raise
    db.commit()
    return redirect(url_for(".edit_badge", slug=slug, badge_id=badge_id, _anchor="skills"), code=303)


@pages.post("/orgs/<slug>/badges/<uuid:badge_id>/alignments/remove")
@console_view
def unalign_badge(slug: str, badge_id: uuid.UUID) -> Any:
    """Remove one framework alignment (named by its address); badges already issued keep theirs."""
    db = context.db()
    require_role(db, slug=slug, actor=me(), roles=ADMINS)
    skills.remove_alignment(
        db,
        slug=slug,
        actor=me(),
        achievement_id=badge_id,
        target_url=request.form.get("target_url", "")[:2000],
        now=context.now(),
    )
    db.commit()
    return redirect(url_for(".edit_badge", slug=slug, badge_id=badge_id, _anchor="skills"), code=303)


# --- Members ----------------------------------------------------------------------------------------


def _members_page(
    slug: str, *, error: str | None = None, invited: dict[str, str] | None = None, status: int = 200
) -> Any:
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ADMINS)
    members = organisations.list_members(db, slug=slug, actor=me())
    return render_template(
        "app/console/members.html",
        org=organisation,
        role="admin",
        members=members,
        error=error,
        invited=invited,
        me=me(),
        roles=[(Role.YOUTH_WORKER.value, "Youth worker"), (Role.ADMIN.value, "Admin")],
        form={k: request.form.get(k, "") for k in ("username", "display_name")} if error else {},
    ), status


def _role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError as error:
        raise _invalid("role", "Pick youth worker or admin.") from error


@pages.get("/orgs/<slug>/members")
@console_view
def members(slug: str) -> Any:
    return _members_page(slug)


@pages.post("/orgs/<slug>/members/invite")
@console_view
def invite(slug: str) -> Any:
    """A new account for a youth worker: a one-time password to hand over, shown once."""
    db = context.db()
    username = request.form.get("username", "").strip()
    try:
        role = _role(request.form.get("role", Role.YOUTH_WORKER.value))
        existing = request.form.get("existing") == "yes"
        if existing:
            organisations.offer_membership(db, slug=slug, actor=me(), username=username, role=role, now=context.now())
            password = None
        else:
            _, password = organisations.invite_member(
                db,
                slug=slug,
                actor=me(),
                username=username,
                display_name=request.form.get("display_name", "")[:80] or username,
                role=role,
                hasher=context.state().hasher,
                now=context.now(),
            )
    except DomainError as error:
        db.rollback()
        if error.code in (
            "request.validation_failed",
            "account.username_taken",
            "account.not_found",
            "organisation.already_member",
            "account.weak_password",
        ):
            message = form_error(error)
            if error.code == "account.username_taken":
                message = (
                    "That username is taken. If it is their account already, tick "
                    "\u201cThey already have an account\u201d."
                )
            return _members_page(slug, error=message, status=error.status)
        raise
    db.commit()
    invited = {"username": username, "password": password or "", "role": role.value}
    return _members_page(slug, invited=invited)


@pages.post("/orgs/<slug>/members/<uuid:account_id>/role")
@console_view
def change_role(slug: str, account_id: uuid.UUID) -> Any:
    db = context.db()
    try:
        organisations.change_role(
            db, slug=slug, actor=me(), account_id=account_id, role=_role(request.form.get("role", ""))
        )
    except DomainError as error:
        db.rollback()
        if error.code in ("organisation.last_admin", "request.validation_failed"):
            return _members_page(slug, error=_last_admin(error), status=error.status)
        raise
    db.commit()
    return redirect(url_for(".members", slug=slug), code=303)


def _last_admin(error: DomainError) -> str:
    if error.code == "organisation.last_admin":
        return "An organisation keeps at least one admin: make someone else admin first."
    return form_error(error)


@pages.post("/orgs/<slug>/members/<uuid:account_id>/remove")
@console_view
def remove_member(slug: str, account_id: uuid.UUID) -> Any:
    db = context.db()
    try:
        organisations.remove_member(db, slug=slug, actor=me(), account_id=account_id)
    except DomainError as error:
        db.rollback()
        if error.code == "organisation.last_admin":
            return _members_page(slug, error=_last_admin(error), status=409)
        raise
    db.commit()
    return redirect(url_for(".members", slug=slug), code=303)


# --- Awards -----------------------------------------------------------------------------------------


def _awards_page(slug: str, *, error: str | None = None, done: str | None = None, status: int = 200) -> Any:
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ADMINS)
    rows = credentials.list_awards(db, slug=slug, actor=me())
    badges = achievements.list_achievements(db, slug=slug, actor=me())
    return render_template(
        "app/console/awards.html",
        org=organisation,
        role="admin",
        awards=rows,
        badges=badges,
        error=error,
        done=done,
        form={k: request.form.get(k, "") for k in ("username", "achievement")} if error else {},
    ), status


def _badge_id() -> uuid.UUID:
    try:
        return uuid.UUID(request.form.get("achievement", ""))
    except ValueError as error:
        raise _invalid("achievement", "Pick the badge.") from error


@pages.get("/orgs/<slug>/awards")
@console_view
def awards(slug: str) -> Any:
    return _awards_page(slug)


@pages.post("/orgs/<slug>/awards")
@console_view
def award(slug: str) -> Any:
    """Award a badge straight into a learner's wallet, by their username."""
    db = context.db()
    username = request.form.get("username", "").strip()
    try:
        issued = credentials.award(
            db,
            slug=slug,
            actor=me(),
            achievement_id=_badge_id(),
            username=username,
            kek=_kek(),
            base_url=_base_url(),
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code in (
            "request.validation_failed",
            "account.not_found",
            "achievement.not_found",
            "request.conflict",
        ):
            return _awards_page(slug, error=form_error(error), status=error.status)
        raise
    db.commit()
    badge = db.get(Achievement, issued.achievement_id)
    return _awards_page(slug, done=f"{badge.name if badge else 'The badge'} is in {username}'s wallet.")


@pages.post("/orgs/<slug>/awards/code")
@console_view
def one_person_code(slug: str) -> Any:
    """A code for one learner (a single-use session of one card, open for a week): hand it over or print it."""
    db = context.db()
    now = context.now()
    try:
        session = sessions.open_session(
            db,
            organisation_slug=slug,
            achievement_id=_badge_id(),
            actor=me(),
            title="One-person code",
            venue="",
            starts_at=now,
            ends_at=now + dt.timedelta(days=7),
            cap=1,
            mode=SessionMode.SINGLE_USE,
            codes=1,
            config=config(),
            now=now,
        )
    except DomainError as error:
        db.rollback()
        if error.code in ("request.validation_failed", "achievement.not_found"):
            return _awards_page(slug, error=form_error(error), status=error.status)
        raise
    db.commit()
    return redirect(url_for(".live", session_id=session.id), code=303)


@pages.post("/orgs/<slug>/awards/<uuid:issued_id>/revoke")
@console_view
def revoke_award(slug: str, issued_id: uuid.UUID) -> Any:
    db = context.db()
    reason = request.form.get("reason", "").strip()[:500] or "revoked by an admin"
    credentials.revoke(
        db,
        slug=slug,
        actor=me(),
        issued_id=issued_id,
        reason=reason,
        kek=_kek(),
        base_url=_base_url(),
        now=context.now(),
    )
    db.commit()
    return redirect(url_for(".awards", slug=slug), code=303)


# --- Issuer profile ---------------------------------------------------------------------------------


def _issuer_page(slug: str, *, error: str | None = None, status: int = 200) -> Any:
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ADMINS)
    return render_template(
        "app/console/issuer.html",
        org=organisation,
        role="admin",
        keys=keys.all_keys(db, organisation_id=organisation.id),
        profile=profile_url(_base_url(), organisation.slug),
        error=error,
        zones=time_zones(),
    ), status


def time_zones() -> list[str]:
    return sorted(zone for zone in zoneinfo.available_timezones() if "/" in zone and not zone.startswith("Etc/"))


@pages.get("/orgs/<slug>/issuer")
@console_view
def issuer(slug: str) -> Any:
    return _issuer_page(slug)


@pages.post("/orgs/<slug>/issuer")
@console_view
def update_issuer(slug: str) -> Any:
    db = context.db()
    form = request.form
    try:
        name = form.get("name", "").strip()
        if not 1 <= len(name) <= 120:
            raise _invalid("name", "Give the organisation a name (at most 120 characters).")
        url = form.get("url", "").strip()
        if url and not _web_address(url):
            raise _invalid("url", "The website must start with https:// or http://.")
        if len(form.get("description", "")) > 4000:
            raise _invalid("description", "Keep the description under 4000 characters.")
        organisations.update_organisation(
            db,
            slug=slug,
            actor=me(),
            name=name,
            description=form.get("description", ""),
            url=url,
            time_zone=form.get("time_zone", "UTC"),
        )
    except DomainError as error:
        db.rollback()
        if error.code == "request.validation_failed":
            return _issuer_page(slug, error=form_error(error), status=422)
        raise
    db.commit()
    return redirect(url_for(".issuer", slug=slug), code=303)


@pages.post("/orgs/<slug>/issuer/rotate-key")
@console_view
def rotate_key(slug: str) -> Any:
    """Retire the signing key and make a new one; badges already issued still verify."""
    db = context.db()
    keys.rotate_key(db, slug=slug, actor=me(), kek=_kek(), now=context.now())
    db.commit()
    return redirect(url_for(".issuer", slug=slug), code=303)
