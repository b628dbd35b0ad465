"""Skills frameworks and pathways in the browser: public framework pages, and the learner's own pages.

Routes:

``/frameworks/<slug>`` (``?version=N``)            a framework's items (public, read-only)
``/frameworks/<slug>/v<N>/items/<identifier>``   one item — the page an alignment's ``targetUrl`` opens; says
                                                  when a newer version exists and whether the item changed
``/pathways/<id>``                                 a pathway (public); JSON for ``Accept: application/json``
``/wallet/pathways``                               the learner's pathways, progress and next steps (signed in)
``/wallet/skills``                                 the learner's skills across their badges, and a link to
                                                  share them (signed in)
``/wallet/records/new``                            make a record (CLR 2.0) of chosen badges and started pathways;
                                                  it is held in the wallet and opens on its badge page, where it
                                                  is shared like a badge (signed in, CSRF)

Each view asks a service for its read model and renders it; no script, nothing from another origin.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from wallet.errors import DomainError
from wallet.holding.badges import my_shares, parse_id
from wallet.pathways import services as pathways
from wallet.records import clr
from wallet.records.clr import skills_summary
from wallet.skills import frameworks as skills
from wallet.web import context
from wallet.web.friendly import FRIENDLY
from wallet.web.session import login_required, signed_in_account
from wallet.web.text import judges_nul

blp = Blueprint("pathway_pages", __name__, template_folder="templates")


def _base_url() -> str:
    return context.state().settings.base_url


def _not_found(error: DomainError) -> tuple[str, int]:
    message = FRIENDLY.get(error.code, error.detail)
    return render_template("app/not_found.html", message=message), error.status


@blp.route("/frameworks/<slug>")
def framework(slug: str) -> Any:
    version = request.args.get("version", type=int)
    try:
        view = skills.framework_view(context.db(), slug=slug, version=version)
    except DomainError as error:
        return _not_found(error)
    base = _base_url()
    children: dict[str | None, list[Any]] = {}
    for item in view.items:
        children.setdefault(item.parent_identifier, []).append(item)
    rows = []

    def walk(parent: str | None, depth: int) -> None:
        for item in children.get(parent, []):
            rows.append((item, min(depth, 4), skills.item_url(base, slug, view.version.version, item.identifier)))
            walk(item.identifier, depth + 1)

    walk(None, 0)
    return render_template("app/framework.html", view=view, rows=rows)


@blp.route("/frameworks/<slug>/v<int:version>/items/<path:identifier>")
def framework_item(slug: str, version: int, identifier: str) -> Any:
    try:
        view = skills.item_view(context.db(), slug=slug, version=version, identifier=identifier)
    except DomainError as error:
        return _not_found(error)
    latest_url = skills.item_url(_base_url(), slug, view.latest_version, identifier)
    return render_template("app/framework_item.html", view=view, latest_url=latest_url)


@blp.route("/pathways/<uuid:pathway_id>")
def pathway(pathway_id: Any) -> Any:
    db = context.db()
    try:
        found = pathways.get_pathway(db, pathway_id=pathway_id)
    except DomainError as error:
        return _not_found(error)
    document = pathways.pathway_document(db, found, base_url=_base_url())
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/ld+json"])
    if best in ("application/json", "application/ld+json"):
        return jsonify(document)
    account = signed_in_account()
    mine = pathways.learner_pathway(db, account_id=account.id, pathway_id=found.id) if account else None
    return render_template("app/pathway.html", pathway=found, document=document, mine=mine)


@blp.route("/wallet/pathways")
@login_required
def my_pathways() -> Any:
    account = signed_in_account()
    assert account is not None
    page = pathways.my_pathways(context.db(), account_id=account.id, base_url=_base_url(), now=context.now())
    return render_template("app/my_pathways.html", page=page)


@blp.route("/wallet/skills")
@login_required
def my_skills() -> Any:
    account = signed_in_account()
    assert account is not None
    db = context.db()
    summary = skills_summary(db, account_id=account.id, base_url=_base_url())
    links = my_shares(db, account_id=account.id, base_url=_base_url(), now=context.now(), target_id=account.id)
    return render_template("app/my_skills.html", skills=summary, links=links, max_expiry=MAX_EXPIRY_DAYS)


MAX_EXPIRY_DAYS = 365
"""The longest a share link may last (the share form's last choice; the badge pages judge the value)."""

_RECORD_REFUSALS = {
    "credential.not_found": "One of the badges you chose is not in your wallet. Choose again from the list below.",
    "pathway.not_found": "One of the pathways you chose does not exist. Choose again from the list below.",
}


def _record_form(
    *,
    chosen_badges: set[str] | None = None,
    chosen_pathways: set[str] | None = None,
    name: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    account = signed_in_account()
    assert account is not None
    choices = clr.record_choices(context.db(), account_id=account.id)
    if chosen_badges is None:
        counting = {str(badge.id) for badge in choices.badges if badge.embeddable and badge.in_started_pathway}
        chosen_badges = counting or {str(badge.id) for badge in choices.badges if badge.embeddable}
    if chosen_pathways is None:
        chosen_pathways = {str(pathway.id) for pathway in choices.pathways}
    html = render_template(
        "app/record_new.html",
        choices=choices,
        chosen_badges=chosen_badges,
        chosen_pathways=chosen_pathways,
        name=choices.default_name if name is None else name,
        error=error,
    )
    return html, status


def _ids(field: str, code: str) -> list[uuid.UUID]:
    """The ids ticked in ``field``; one that is no canonical id can name nothing of the learner's (``code``)."""
    values = request.form.getlist(field)
    if len(values) > clr.MAX_BADGES:
        raise DomainError(
            "request.validation_failed", f"At most {clr.MAX_BADGES} badges and {clr.MAX_PATHWAYS} pathways."
        )
    parsed = [parse_id(value) for value in values]
    if any(value is None for value in parsed):
        raise DomainError(code)
    return [value for value in parsed if value is not None]


def _kept(text: str) -> str:
    """What the learner typed, as it can be shown again (no control characters, not endless)."""
    return "".join(char for char in text if ord(char) >= 32 or char in "\t")[: clr.MAX_NAME_LENGTH * 2]


@blp.route("/wallet/records/new", methods=["GET", "POST"])
@judges_nul
@login_required
def new_record() -> Any:
    """Choose badges and pathways; the signed record is held in the wallet and opens on its badge page.

    Judges NUL itself (:func:`judges_nul`): the name through :func:`clr.record_name` (422, the form kept),
    ids through :func:`parse_id` (404); the CSRF token is compared, never stored."""
    if request.method == "GET":
        return _record_form()
    account = signed_in_account()
    assert account is not None
    typed = request.form.get("name", "")
    chosen_badges = {value[:40] for value in request.form.getlist("badge")[: clr.MAX_BADGES + 1]}
    chosen_pathways = {value[:40] for value in request.form.getlist("pathway")[: clr.MAX_PATHWAYS + 1]}
    db = context.db()
    try:
        name = clr.record_name(typed)
        held = clr.export_record(
            db,
            account_id=account.id,
            credential_ids=_ids("badge", "credential.not_found"),
            pathway_ids=_ids("pathway", "pathway.not_found"),
            base_url=_base_url(),
            secret_key=context.state().secrets.secret_key,
            now=context.now(),
            name=name,
        )
    except DomainError as error:
        db.rollback()
        if error.code == "account.not_found":
            raise
        message = _RECORD_REFUSALS.get(error.code) or (
            error.detail if error.code == "request.validation_failed" else FRIENDLY.get(error.code, error.detail)
        )
        return _record_form(
            chosen_badges=chosen_badges,
            chosen_pathways=chosen_pathways,
            name=_kept(typed),
            error=message,
            status=error.status,
        )
    db.commit()
    flash("Your record is ready. Make a link below to share it, or download it.")
    return redirect(url_for("badge_pages.badge", badge_id=str(held.id)), code=303)
