"""Sign up, sign in and sign out in the browser: the one web sign-in the wallet, claim pages and console share.

Routes: ``/signup``, ``/login`` (both take ``?next=`` — a same-origin path to return to), ``POST /logout``,
``/reset`` (a recovery code, or a reset code a youth worker handed over, and a new password).
Sign-up answers the account's recovery codes once, on the page it lands on (never stored, never in a URL).
The rules are the API's (``wallet.accounts``): no email, the same username and password policy, the same
rate limits. A refused form keeps what was typed (never the password) and says the rule in plain words.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from wallet.accounts import recovery
from wallet.accounts import services as accounts
from wallet.errors import DomainError
from wallet.web import context, limits
from wallet.web import session as web_session
from wallet.web.friendly import FRIENDLY
from wallet.web.session import check_csrf, csrf_token, safe_next, signed_in_account

pages = Blueprint(
    "account_pages", __name__, template_folder="templates", static_folder="static", static_url_path="/assets/app"
)


@pages.app_context_processor
def _web_sign_in() -> dict[str, Any]:
    """Every page template can say who is signed in and post a CSRF-protected form."""
    return {"web_account": signed_in_account(), "web_csrf": csrf_token()}


def _form(template: str, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    fields = {key: request.form.get(key, "")[:80] for key in ("username", "display_name")}
    return render_template(template, form=fields, error=error, next=_next()), status


def _next() -> str:
    return safe_next(request.args.get("next"), default="/wallet")


def _say(error: DomainError) -> str:
    """Why a form was refused, in plain words: a password or username rule says exactly which rule."""
    if error.code in ("account.weak_password", "request.validation_failed"):
        return error.detail
    return FRIENDLY.get(error.code, error.detail)


@pages.route("/signup", methods=["GET", "POST"])
def sign_up() -> Any:
    if request.method == "GET":
        return _form("app/sign_up.html")
    check_csrf()
    state, db = context.state(), context.db()
    try:
        limits.enforce(limits.sign_up())
        account = accounts.sign_up(
            db,
            username=request.form.get("username", ""),
            password=request.form.get("password", ""),
            display_name=request.form.get("display_name", "")[:80],
            email=None,
            hasher=state.hasher,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        return _form("app/sign_up.html", error=_say(error), status=error.status)
    codes = recovery.new_recovery_codes(db, account_id=account.id, now=context.now())
    web_session.sign_in(account)
    hold_recovery_codes(codes)
    db.commit()
    return redirect(url_for("account_pages.new_recovery_codes", next=_next()), code=303)


_HELD_CODES = "recovery_codes"


def hold_recovery_codes(codes: list[str]) -> None:
    """Keep fresh recovery codes in this browser's session cookie until :func:`new_recovery_codes` shows them.

    Showing them after the redirect (not in the POST's answer) means a reload never re-submits the form;
    the codes leave the cookie the moment they are shown. Call after ``sign_in`` (which clears the session).
    """
    session[_HELD_CODES] = codes


def recovery_codes_page(codes: list[str], *, next_url: str, first_time: bool) -> Any:
    """The one time a learner sees their recovery codes: never cached, never in a URL."""
    body = render_template("app/recovery_codes.html", codes=codes, next=next_url, first_time=first_time)
    return body, 200, {"Cache-Control": "no-store"}


@pages.get("/account/recovery-codes/new")
def new_recovery_codes() -> Any:
    """Show the codes sign-up just made, once; afterwards (or if there are none) the account page."""
    codes = session.pop(_HELD_CODES, None)
    if signed_in_account() is None or not isinstance(codes, list) or not codes:
        return redirect("/account#recovery", code=303)
    return recovery_codes_page([str(code) for code in codes], next_url=_next(), first_time=True)


@pages.route("/login", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method == "GET":
        if signed_in_account() is not None:
            return redirect(_next(), code=303)
        return _form("app/sign_in.html")
    check_csrf()
    state, db = context.state(), context.db()
    username = request.form.get("username", "")
    try:
        limits.enforce(*limits.sign_in(username))
        account = accounts.authenticate(
            db, username=username, password=request.form.get("password", ""), hasher=state.hasher
        )
    except DomainError as error:
        db.rollback()
        return _form("app/sign_in.html", error=FRIENDLY.get(error.code, error.detail), status=error.status)
    web_session.sign_in(account)
    db.commit()
    return redirect(_next(), code=303)


@pages.post("/logout", endpoint="sign_out")
def sign_out_view() -> Any:
    check_csrf()
    web_session.sign_out()
    context.db().commit()
    response = redirect(url_for("account_pages.sign_in"), code=303)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'  # no one else's badges stay on a shared phone
    return response


@pages.route("/reset", methods=["GET", "POST"])
def reset() -> Any:
    """Forgot the password: a recovery code (from sign-up) or a reset code (from a youth worker) sets a new one."""
    if request.method == "GET":
        return _form("app/reset.html")
    check_csrf()
    state, db = context.state(), context.db()
    username = request.form.get("username", "")
    try:
        limits.enforce(*limits.sign_in(username))
        account = recovery.reset_password_with_code(
            db,
            username=username,
            code=request.form.get("code", ""),
            new_password=request.form.get("password", ""),
            hasher=state.hasher,
            now=context.now(),
        )
    except DomainError as error:
        db.rollback()
        return _form("app/reset.html", error=_say(error), status=error.status)
    web_session.sign_in(account)
    db.commit()
    left = recovery.recovery_codes_left(db, account_id=account.id)
    return render_template("app/reset_done.html", next=_next(), recovery_codes_left=left)
