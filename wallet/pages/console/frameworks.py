"""Importing a skills framework in the console: a file or pasted text (CASE 1.1 JSON or CSV).

An organisation's admins import frameworks their organisation owns (``/orgs/<slug>/frameworks``); the
operator any framework, for any owner or none (``/operator/frameworks``) — the rules of
:func:`wallet.skills.frameworks.import_upload`, which reads the file as the API does. A file that cannot
be read is shown with where it went wrong (``framework.unreadable``), the typed fields kept.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from wallet.console import pathways as design
from wallet.errors import DomainError
from wallet.organisations.services import ADMINS, require_operator, require_role
from wallet.pages.console import pages
from wallet.pages.console.common import console_view, form_error, me
from wallet.skills import frameworks as skills
from wallet.web import context

IMPORT_FIELDS = ("slug", "title", "text", "owner")
_REFUSED_HERE = ("framework.unreadable", "request.validation_failed", "request.conflict", "auth.forbidden")


def _page(
    *,
    org: Any = None,
    errors: dict[str, str] | None = None,
    result: skills.ImportResult | None = None,
    status: int = 200,
) -> Any:
    db = context.db()
    typed = {k: request.form.get(k, "") for k in IMPORT_FIELDS} if errors else {}
    return render_template(
        "app/console/frameworks.html",
        org=org,
        role="admin",
        operator=org is None,
        frameworks=design.framework_rows(db),
        organisations=design.city_organisations(db) if org is None else [],
        errors=errors or {},
        typed=typed,
        result=result,
        items=skills.item_count(db, version_id=result.version.id) if result else 0,
    ), status


def _upload() -> bytes:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.read()
    return request.form.get("text", "").encode("utf-8")


def _errors(error: DomainError) -> dict[str, str]:
    if error.code == "framework.unreadable":
        where = error.extra.get("where", "file")
        return {"file": f"The framework could not be read: {where} {error.detail}. Nothing was imported."}
    if error.code == "request.validation_failed" and "slug" in (error.extra.get("errors") or {}):
        return {"slug": form_error(error)}
    if error.code == "organisation.not_found":
        return {"owner": "Pick the owner from the list, or none."}
    return {"form": form_error(error) if error.code != "auth.forbidden" else error.detail}


Refusal = tuple[int, dict[str, str]]


def _import(*, as_operator: bool, organisation_slug: str | None) -> skills.ImportResult | Refusal:
    data = _upload()
    if not data.strip():
        return 422, {"file": "Choose a file, or paste the framework's JSON or CSV."}
    db = context.db()
    try:
        result = skills.import_upload(
            db,
            slug=request.form.get("slug", "").strip(),
            data=data,
            title=request.form.get("title", "")[:300],
            actor=me(),
            as_operator=as_operator,
            organisation_slug=organisation_slug,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code in _REFUSED_HERE or (as_operator and error.code == "organisation.not_found"):
            return (422 if error.code == "organisation.not_found" else error.status), _errors(error)
        raise
    db.commit()
    return result


def _answer(outcome: skills.ImportResult | Refusal, org: Any = None) -> Any:
    if isinstance(outcome, tuple):
        status, errors = outcome
        return _page(org=org, errors=errors, status=status)
    return _page(org=org, result=outcome)


@pages.get("/orgs/<slug>/frameworks")
@console_view
def frameworks(slug: str) -> Any:
    return _page(org=require_role(context.db(), slug=slug, actor=me(), roles=ADMINS))


@pages.post("/orgs/<slug>/frameworks")
@console_view
def import_framework(slug: str) -> Any:
    """Import a framework owned by this organisation, or a new version of one it owns (admins)."""
    organisation = require_role(context.db(), slug=slug, actor=me(), roles=ADMINS)
    return _answer(_import(as_operator=False, organisation_slug=slug), organisation)


@pages.get("/operator/frameworks")
@console_view
def operator_frameworks() -> Any:
    require_operator(context.db(), actor=me(), to="import frameworks for the whole service")
    return _page()


@pages.post("/operator/frameworks")
@console_view
def operator_import_framework() -> Any:
    """Import any framework, owned by an organisation or by the service (operators)."""
    require_operator(context.db(), actor=me(), to="import frameworks for the whole service")
    return _answer(_import(as_operator=True, organisation_slug=request.form.get("owner") or None))
