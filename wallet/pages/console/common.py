"""What every console page shares: sign-in and CSRF first, refusals as pages that say why."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import redirect, render_template, request, url_for

from wallet.console import times
from wallet.errors import DomainError
from wallet.models import Account
from wallet.organisations.services import get_by_slug
from wallet.web import context
from wallet.web.friendly import FRIENDLY
from wallet.web.session import FIRST_PASSWORD_ENDPOINT, check_csrf, signed_in_account

View = TypeVar("View", bound=Callable[..., Any])

_WHY = {
    "organisation.not_found": (
        404,
        "No such organisation",
        "Either it does not exist or you are not one of its members. Ask one of its admins to add you.",
    ),
    "claim.session_not_found": (
        404,
        "No such session",
        "Either it does not exist or it belongs to an organisation you are not a member of.",
    ),
    "achievement.not_found": (404, "No such badge", "This organisation has no such badge."),
    "credential.not_found": (404, "No such award", "This organisation issued no such badge."),
    "organisation.not_member": (404, "Not a member", "That account is not a member of this organisation."),
    "pathway.not_found": (
        404,
        "No such pathway",
        "This organisation neither owns nor co-designs such a pathway.",
    ),
}


def me() -> uuid.UUID:
    account = signed_in_account()
    assert account is not None  # console_view checked it
    return account.id


def account() -> Account:
    signed = signed_in_account()
    assert signed is not None  # console_view checked it
    return signed


def refused(error: DomainError) -> tuple[str, int]:
    """A page that says what was refused and why, with the API's status for the same refusal."""
    if error.code in _WHY:
        status, title, why = _WHY[error.code]
    elif error.code == "auth.forbidden":
        status, title, why = 403, "Not allowed", error.detail
    else:
        status, title, why = error.status, error.title, FRIENDLY.get(error.code, error.detail)
    return render_template("app/console/refused.html", title=title, why=why, code=error.code), status


def known_organisation() -> Any:
    """Before sign-in and CSRF: an address naming no organisation is a 404 page, for anyone.

    Slugs are public (``/issuers/<slug>`` publishes every organisation's profile), so saying "no such
    organisation" to a browser that is not signed in tells it nothing new, and a malformed or unknown
    slug (10 KB, invalid UTF-8, ``..``) never reaches the sign-in redirect or a view.
    """
    slug = (request.view_args or {}).get("slug")
    if slug is None:
        return None
    try:
        get_by_slug(context.db(), slug=slug)
    except DomainError as error:
        context.db().rollback()
        return refused(error)
    return None


def console_view(view: View) -> View:
    """CSRF on every POST (before anything else), then sign-in, then the view; refusals as pages.

    A browser signed in with a one-time password is sent to choose its own password first.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method == "POST":
            check_csrf()
        account = signed_in_account()
        if account is None:
            return redirect(url_for("account_pages.sign_in", next=request.full_path.rstrip("?")), code=303)
        if account.must_change_password and request.endpoint != FIRST_PASSWORD_ENDPOINT:
            return redirect(url_for(FIRST_PASSWORD_ENDPOINT, next=request.full_path.rstrip("?")), code=303)
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            context.db().rollback()
            return refused(error)

    return wrapper  # type: ignore[return-value]


def form_error(error: DomainError) -> str:
    """One plain sentence for a refused form."""
    if error.code == "request.validation_failed" and error.detail:
        return error.detail
    return FRIENDLY.get(error.code, error.detail)


def show_time(moment: Any, time_zone: str) -> str:
    return times.show(moment, time_zone, now=context.now())
