"""The operator's page: create an organisation and its first admin, as ``wallet org create`` does."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from wallet.errors import DomainError
from wallet.organisations import services as organisations
from wallet.pages.console import pages
from wallet.pages.console.admin import time_zones
from wallet.pages.console.common import console_view, form_error, me
from wallet.web import context


def _page(*, error: str | None = None, created: dict[str, str] | None = None, status: int = 200) -> Any:
    db = context.db()
    every = organisations.operated_organisations(db, actor=me())
    form = {k: request.form.get(k, "") for k in ("slug", "name", "admin", "time_zone")} if error else {}
    return render_template(
        "app/console/operator.html",
        organisations=every,
        error=error,
        created=created,
        form=form,
        zones=time_zones(),
    ), status


@pages.get("/operator")
@console_view
def operator() -> Any:
    return _page()


@pages.post("/operator")
@console_view
def create_organisation() -> Any:
    db = context.db()
    form = request.form
    try:
        organisation, password = organisations.create_with_first_admin(
            db,
            actor=me(),
            slug=form.get("slug", "").strip(),
            name=form.get("name", ""),
            description=form.get("description", "")[:4000],
            time_zone=form.get("time_zone", "UTC"),
            admin_username=form.get("admin", "").strip(),
            hasher=context.state().hasher,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        if error.code in (
            "request.validation_failed",
            "organisation.slug_taken",
            "account.username_taken",
            "account.weak_password",
        ):
            return _page(error=form_error(error), status=error.status)
        raise
    db.commit()
    return _page(
        created={
            "name": organisation.name,
            "slug": organisation.slug,
            "admin": form.get("admin", ""),
            "password": password or "",
        }
    )
