"""The browser's sign-in and CSRF, shared by every page: claim landing, the learner's wallet, the console.

A browser that signs in becomes one of the account's devices (platform ``web``). Flask's signed session
cookie carries the account and device ids; each request checks that the device is still active, so
revoking it on the devices page (or from a phone) signs that browser out, and signing out revokes it.
The cookie is HttpOnly, ``SameSite=Lax`` and ``Secure`` under an https origin (``create_app``), and
lasts ``WEB_SESSION_DAYS`` so a learner on a phone is not signed out between events.

Forms carry a per-browser CSRF token (double submit: a random value in the signed session cookie,
echoed in a hidden field, compared in constant time). A fresh session, and so a fresh CSRF token, is
started on every sign-in: no session fixation.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for

from wallet.accounts import services as accounts
from wallet.errors import DomainError
from wallet.models import Account
from wallet.web import context, scans

WEB_SESSION_DAYS = 30
_ACCOUNT = "account_id"
_DEVICE = "device_id"
_CSRF = "csrf"
_SEEN_EVERY = dt.timedelta(hours=1)
FIRST_PASSWORD_ENDPOINT = "console_pages.first_password"  # noqa: S105 - an endpoint name
"""Where a browser signed in with a one-time password must choose its own before any other page."""

View = TypeVar("View", bound=Callable[..., Any])


def csrf_token() -> str:
    token = session.get(_CSRF)
    if not token:
        token = session[_CSRF] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf() -> None:
    """Refuse a form whose CSRF field does not match this browser's token (400, a page that says why)."""
    expected = session.get(_CSRF) or ""
    given = request.form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(str(expected), given):
        abort(400, description="The form expired; reload the page and try again.")


CSRF_HEADER = "X-CSRF-Token"


def check_csrf_header() -> bool:
    """Whether a script's JSON request carries this browser's CSRF token in ``X-CSRF-Token``.

    A cross-site page cannot set the header without a CORS preflight we never answer, nor read the token.
    """
    expected = session.get(_CSRF) or ""
    given = request.headers.get(CSRF_HEADER, "")
    return bool(expected) and hmac.compare_digest(str(expected), given)


def _uuid(raw: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def signed_in_account() -> Account | None:
    """The account this browser is signed in as, or None (also when its device was revoked)."""
    if "web_account" in g:
        cached: Account | None = g.web_account
        return cached
    g.web_account = None
    account_id, device_id = _uuid(session.get(_ACCOUNT)), _uuid(session.get(_DEVICE))
    if account_id is None or device_id is None:
        return None
    db = context.db()
    try:
        device = accounts.active_device(db, account_id=account_id, device_id=device_id)
    except DomainError:
        session.pop(_ACCOUNT, None)
        session.pop(_DEVICE, None)
        return None
    now = context.now()
    if device.last_seen_at < now - _SEEN_EVERY:
        device.last_seen_at = now
        db.commit()
    g.web_account = device.account
    return g.web_account


def signed_in_device_id() -> uuid.UUID | None:
    """The device row of this browser's sign-in (so the devices page can say "this browser")."""
    return _uuid(session.get(_DEVICE)) if signed_in_account() is not None else None


def sign_in(account: Account) -> None:
    """Start a fresh session for ``account`` on this browser; the caller commits.

    The rotating codes this browser scanned (:mod:`wallet.web.scans`) survive: a learner signs up
    between the scan and the claim.
    """
    scanned = scans.carried_over()
    session.clear()
    scans.restore(scanned)
    device = accounts.open_browser_session(
        context.db(), account=account, name=_browser_name(request.user_agent.string), now=context.now()
    )
    session.permanent = True
    session[_ACCOUNT] = str(account.id)
    session[_DEVICE] = str(device.id)
    g.web_account = account


def sign_out() -> None:
    """End this browser's session and revoke its device row; the caller commits."""
    device_id = _uuid(session.get(_DEVICE))
    if device_id is not None:
        accounts.revoke_device_chain(context.db(), device_id=device_id, now=context.now())
    session.clear()
    g.web_account = None


def forget_browser() -> None:
    """Clear this browser's session without touching the database (the account was just erased)."""
    session.clear()
    g.web_account = None


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-origin path to go to after sign-in; anything else (another host, ``//x``, a scheme) is ignored."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def login_required(view: View) -> View:
    """Send a browser that is not signed in to the sign-in page, then back here.

    A form post is judged by its CSRF token first (400 when it is missing or forged, signed in or not), so
    a forged cross-site post learns nothing, not even whether the browser is signed in.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            check_csrf()
        account = signed_in_account()
        if account is None:
            return redirect(url_for("account_pages.sign_in", next=request.full_path.rstrip("?")), code=303)
        if account.must_change_password and request.endpoint != FIRST_PASSWORD_ENDPOINT:
            return redirect(url_for(FIRST_PASSWORD_ENDPOINT, next=request.full_path.rstrip("?")), code=303)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS", "Mac"),
    ("Linux", "Linux"),
)


def _browser_name(user_agent: str) -> str:
    """A name a learner recognises on the devices list ("Chrome on Android"), from the User-Agent."""
    ua = user_agent or ""
    browser = next((name for key, name in _BROWSERS if key in ua), "Web browser")
    system = next((name for key, name in _SYSTEMS if key in ua), None)
    return f"{browser} on {system}" if system else browser
