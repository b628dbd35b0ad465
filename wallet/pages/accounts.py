"""Sign up, sign in and sign out in the browser: the one web sign-in the wallet, claim pages and console share.

Routes: ``/signup``, ``/login`` (both take ``?next=`` — a same-origin path to return to), ``POST /logout``.
The rules are the API's (``wallet.accounts``): no email, the same username and password policy, the same
rate limits. A refused form keeps what was typed (never the password) and says the rule in plain words.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

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
    fields = {key: request.form.get(key, "") for key in ("username", "display_name")}
    return render_template(template, form=fields, error=error, next=_next()), status


def _next() -> str:
    return safe_next(request.args.get("next"), default="/")


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
        return _form("app/sign_up.html", error=FRIENDLY.get(error.code, error.detail), status=error.status)
    web_session.sign_in(account)
    db.commit()
    return redirect(_next(), code=303)


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
    return redirect(url_for("account_pages.sign_in"), code=303)
