"""Hand a learner (or, for admins, a colleague) a password reset code, typed at ``/reset``.

Who may issue one for whom is :func:`wallet.accounts.recovery.check_may_issue` — the API's rule for
``POST /api/v1/accounts/{username}/reset-code`` — under the same per-issuer rate limit.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from wallet.accounts import recovery
from wallet.errors import DomainError
from wallet.organisations.services import ANY_MEMBER, require_role, role_of
from wallet.pages.console import pages
from wallet.pages.console.common import console_view, form_error, me
from wallet.web import context, limits


def _page(slug: str, *, error: str | None = None, issued: Any = None, status: int = 200) -> Any:
    db = context.db()
    organisation = require_role(db, slug=slug, actor=me(), roles=ANY_MEMBER)
    role = role_of(db, organisation_id=organisation.id, account_id=me())
    base = context.state().settings.base_url
    return render_template(
        "app/console/reset_code.html",
        org=organisation,
        role=role.value if role else "",
        error=error,
        issued=issued,
        reset_address=base.split("://", 1)[-1].rstrip("/") + "/reset",
        form={"username": request.form.get("username", "")} if error else {},
    ), status


@pages.get("/orgs/<slug>/reset-code")
@console_view
def reset_code(slug: str) -> Any:
    return _page(slug)


@pages.post("/orgs/<slug>/reset-code")
@console_view
def issue_reset_code(slug: str) -> Any:
    """A reset code for a learner who forgot their password (shown once, valid 30 minutes)."""
    db = context.db()
    require_role(db, slug=slug, actor=me(), roles=ANY_MEMBER)
    try:
        limits.enforce(limits.reset_code_issuing(me()))
        issued = recovery.issue_reset_code_for_username(
            db, username=request.form.get("username", ""), issued_by=me(), now=context.now()
        )
    except DomainError as error:
        db.rollback()
        if error.code in ("account.not_found", "auth.forbidden", "request.rate_limited"):
            return _page(slug, error=form_error(error), status=error.status)
        raise
    db.commit()
    return _page(slug, issued=issued)
