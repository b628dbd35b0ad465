"""Skills frameworks and pathways in the browser: public framework pages, and the learner's own pages.

Routes:

``/frameworks/<slug>`` (``?version=N``)            a framework's items (public, read-only)
``/frameworks/<slug>/v<N>/items/<identifier>``   one item — the page an alignment's ``targetUrl`` opens; says
                                                  when a newer version exists and whether the item changed
``/pathways/<id>``                                 a pathway (public); JSON for ``Accept: application/json``
``/wallet/pathways``                               the learner's pathways, progress and next steps (signed in)
``/wallet/skills``                                 the learner's skills across their badges (signed in)

Each view asks a service for its read model and renders it; no script, nothing from another origin.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from wallet.errors import DomainError
from wallet.pathways import services as pathways
from wallet.records.clr import skills_summary
from wallet.skills import frameworks as skills
from wallet.web import context
from wallet.web.friendly import FRIENDLY
from wallet.web.session import login_required, signed_in_account

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
    db = context.db()
    account = signed_in_account()
    assert account is not None
    entries = pathways.learner_pathways(db, account_id=account.id)
    started = [entry for entry in entries if entry.progress.started]
    others = [entry for entry in entries if not entry.progress.started]
    steps = pathways.next_steps(db, account_id=account.id, base_url=_base_url(), now=context.now(), pathways=started)
    return render_template("app/my_pathways.html", started=started, others=others, next_steps=steps)


@blp.route("/wallet/skills")
@login_required
def my_skills() -> Any:
    account = signed_in_account()
    assert account is not None
    summary = skills_summary(context.db(), account_id=account.id, base_url=_base_url())
    return render_template("app/my_skills.html", skills=summary)
