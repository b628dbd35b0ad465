"""Designing learning pathways in the console: the organisation's pathways, a new one, its details,
its steps (added, removed and moved without script) and archiving.

Each form becomes the API's JSON (:mod:`wallet.console.pathways`) and goes to the API's services
(:mod:`wallet.pathways.services`), which decide who may change what: the owner's admins everything,
partners' admins the steps. A refused change is a page that says why; a form the service finds invalid
(``pathway.invalid``) is shown again, as typed, with each reason next to its field (422).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import redirect, render_template, request, url_for

from wallet.console import pathways as design
from wallet.errors import DomainError
from wallet.issuing.achievements import list_achievements
from wallet.organisations.services import ADMINS, require_role
from wallet.pages.console import pages
from wallet.pages.console.common import console_view, me
from wallet.pathways import services as pathways
from wallet.web import context

FORM_ERRORS = ("pathway.invalid", "request.validation_failed")
DETAIL_FIELDS = ("name", "description", "outcome", "outcome_badge")
STEP_FIELDS = ("step_kind", "step_badge", "step_n", "step_skill", "step_title")


def _base_url() -> str:
    return context.state().settings.base_url


def _typed_details() -> dict[str, Any]:
    form = request.form
    return {
        **{name: form.get(name, "") for name in DETAIL_FIELDS},
        "auto_award": form.get("auto_award") == "on",
        "ordered": form.get("ordered") == "on",
        "partners": form.getlist("partners"),
    }


def _typed_step() -> dict[str, Any]:
    return {
        **{name: request.form.get(name, "") for name in STEP_FIELDS},
        "step_any_of": request.form.getlist("step_any_of"),
    }


def _details() -> dict[str, Any]:
    typed = _typed_details()
    return design.pathway_input(
        name=typed["name"],
        description=typed["description"],
        outcome=typed["outcome"],
        outcome_badge=typed["outcome_badge"],
        auto_award=typed["auto_award"],
        ordered=typed["ordered"],
        partners=typed["partners"],
    )


def _step() -> dict[str, Any]:
    typed = _typed_step()
    return design.step_input(
        kind=typed["step_kind"],
        badge=typed["step_badge"],
        any_of=typed["step_any_of"],
        n=typed["step_n"],
        skill=typed["step_skill"],
        title=typed["step_title"],
        base_url=_base_url(),
    )


def _read(parse: Callable[[], dict[str, Any]], errors: dict[str, str]) -> dict[str, Any]:
    """``parse()``, or its reasons added to ``errors`` (so one page shows every field's)."""
    try:
        return parse()
    except DomainError as error:
        if error.code not in FORM_ERRORS:
            raise
        errors.update(design.field_errors(error))
        return {}


def _choices(slug: str) -> dict[str, Any]:
    db = context.db()
    return {
        "badge_groups": design.city_badges(db, base_url=_base_url()),
        "skill_groups": design.skill_choices(db, base_url=_base_url()),
        "organisations": [o for o in design.city_organisations(db) if o.slug != slug],
    }


@pages.get("/orgs/<slug>/pathways")
@console_view
def pathways_list(slug: str) -> Any:
    organisation, rows = design.organisation_pathways(context.db(), slug=slug, actor=me())
    return render_template("app/console/pathways.html", org=organisation, role="admin", rows=rows)


def _new_page(slug: str, *, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ADMINS)
    typed = request.method == "POST"
    return render_template(
        "app/console/pathway_new.html",
        org=organisation,
        role="admin",
        details=_typed_details() if typed else {"partners": []},
        step=_typed_step() if typed else {"step_kind": "badge", "step_any_of": []},
        errors=errors or {},
        outcome_badges=list_achievements(db, slug=slug, actor=me()),
        **_choices(slug),
    ), status


@pages.get("/orgs/<slug>/pathways/new")
@console_view
def new_pathway(slug: str) -> Any:
    return _new_page(slug)


@pages.post("/orgs/<slug>/pathways/new")
@console_view
def create_pathway(slug: str) -> Any:
    """A new pathway owned by this organisation, with its first step."""
    db = context.db()
    require_role(db, slug=slug, actor=me(), roles=ADMINS)
    errors: dict[str, str] = {}
    fields, step = _read(_details, errors), _read(_step, errors)
    if errors:
        return _new_page(slug, errors=errors, status=422)
    try:
        pathway = pathways.create_pathway(
            db, slug=slug, actor=me(), steps=[step], base_url=_base_url(), now=context.now(), **fields
        )
    except DomainError as error:
        db.rollback()
        if error.code in FORM_ERRORS:
            return _new_page(slug, errors=design.field_errors(error), status=422)
        raise
    db.commit()
    return redirect(url_for(".pathway", slug=slug, pathway_id=pathway.id), code=303)


def _pathway_page(
    slug: str,
    pathway_id: uuid.UUID,
    *,
    errors: dict[str, str] | None = None,
    typed: str | None = None,
    done: str | None = None,
    status: int = 200,
) -> Any:
    """The pathway's page; ``typed`` names the form (``details`` or ``step``) whose typed values to keep."""
    found = design.pathway_design(context.db(), slug=slug, actor=me(), pathway_id=pathway_id, base_url=_base_url())
    return render_template(
        "app/console/pathway.html",
        org=found.organisation,
        role="admin",
        design=found,
        details=_typed_details() if typed == "details" else design.pathway_values(found),
        step=_typed_step() if typed == "step" else {"step_kind": "badge", "step_any_of": []},
        errors=errors or {},
        done=done,
        public_url=url_for("pathway_pages.pathway", pathway_id=pathway_id),
        **_choices(found.owner.slug),
    ), status


@pages.get("/orgs/<slug>/pathways/<uuid:pathway_id>")
@console_view
def pathway(slug: str, pathway_id: uuid.UUID) -> Any:
    return _pathway_page(slug, pathway_id, done="Saved." if request.args.get("saved") else None)


def _change(
    slug: str,
    pathway_id: uuid.UUID,
    typed: str,
    change: Callable[[dict[str, Any]], Any],
    parse: Callable[[], dict[str, Any]] = dict,
) -> Any:
    """Parse the form, make the change through the service, commit, back to the pathway."""
    db = context.db()
    design.require_pathway(db, slug=slug, actor=me(), pathway_id=pathway_id)
    errors: dict[str, str] = {}
    parsed = _read(parse, errors)
    if errors:
        return _pathway_page(slug, pathway_id, errors=errors, typed=typed, status=422)
    try:
        change(parsed)
    except DomainError as error:
        db.rollback()
        if error.code in FORM_ERRORS:
            return _pathway_page(slug, pathway_id, errors=design.field_errors(error), typed=typed, status=422)
        raise
    db.commit()
    return redirect(url_for(".pathway", slug=slug, pathway_id=pathway_id, saved=1), code=303)


@pages.post("/orgs/<slug>/pathways/<uuid:pathway_id>")
@console_view
def update_pathway(slug: str, pathway_id: uuid.UUID) -> Any:
    """The pathway's details (the owner's admins; a partner is told why not)."""

    def change(fields: dict[str, Any]) -> Any:
        return pathways.update_pathway(
            context.db(), pathway_id=pathway_id, actor=me(), changes=fields, base_url=_base_url(), now=context.now()
        )

    return _change(slug, pathway_id, "details", change, _details)


@pages.post("/orgs/<slug>/pathways/<uuid:pathway_id>/steps")
@console_view
def add_step(slug: str, pathway_id: uuid.UUID) -> Any:
    def change(step: dict[str, Any]) -> Any:
        return pathways.add_step(
            context.db(), pathway_id=pathway_id, actor=me(), step=step, base_url=_base_url(), now=context.now()
        )

    return _change(slug, pathway_id, "step", change, _step)


@pages.post("/orgs/<slug>/pathways/<uuid:pathway_id>/steps/<int:index>/remove")
@console_view
def remove_step(slug: str, pathway_id: uuid.UUID, index: int) -> Any:
    def change(_: dict[str, Any]) -> Any:
        return pathways.remove_step(
            context.db(), pathway_id=pathway_id, actor=me(), index=index, base_url=_base_url(), now=context.now()
        )

    return _change(slug, pathway_id, "none", change)


@pages.post("/orgs/<slug>/pathways/<uuid:pathway_id>/steps/<int:index>/move")
@console_view
def move_step(slug: str, pathway_id: uuid.UUID, index: int) -> Any:
    """Move a step up or down (the order learners follow in an ordered pathway)."""

    def change(_: dict[str, Any]) -> Any:
        return pathways.move_step(
            context.db(),
            pathway_id=pathway_id,
            actor=me(),
            index=index,
            up=request.form.get("direction") != "down",
            base_url=_base_url(),
            now=context.now(),
        )

    return _change(slug, pathway_id, "none", change)


@pages.post("/orgs/<slug>/pathways/<uuid:pathway_id>/archive")
@console_view
def archive_pathway(slug: str, pathway_id: uuid.UUID) -> Any:
    """Archive (or bring back) a pathway: archived, it is no longer published or awarded (the owner's admins)."""

    def change(_: dict[str, Any]) -> Any:
        return pathways.update_pathway(
            context.db(),
            pathway_id=pathway_id,
            actor=me(),
            changes={"archived": request.form.get("archived", "yes") != "no"},
            base_url=_base_url(),
            now=context.now(),
        )

    return _change(slug, pathway_id, "none", change)
