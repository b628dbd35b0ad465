"""Rate limits for views: count the hit in its own transaction, refuse with 429 + ``Retry-After``.

A view calls :func:`enforce` first, before it touches the request's database session::

    limits.enforce(limits.by_client_ip("login", limit=30, window=MINUTE),
                   limits.by_value("login", "username", body["username"], limit=5, window=MINUTE))

and documents the refusal with ``@blp.alt_response(429, …)``. Hits are committed at once through a
session of their own (see :mod:`wallet.ratelimit`), so a request that fails afterwards still counts.

Paths that judge a password take their limits from :func:`sign_in` and :func:`sign_up`, so the API and
the claim pages count in the same buckets under the same ``WALLET_RATELIMIT_*`` settings.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from flask import g

from wallet import ratelimit
from wallet.errors import DomainError
from wallet.ratelimit import Limit
from wallet.web import context

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def by_client_ip(name: str, *, limit: int, window: dt.timedelta) -> Limit:
    """``limit`` hits per ``window`` on ``name`` from the client's IP (``ProxyFix`` resolves trusted proxies)."""
    return Limit(ratelimit.bucket_key(name, "ip", context.client_ip()), limit, window)


def by_value(name: str, kind: str, value: str, *, limit: int, window: dt.timedelta) -> Limit:
    """``limit`` hits per ``window`` on ``name`` for one client-given ``value`` (a username, a code).

    The value is folded (NFKC, case) the way usernames are, so ``Sam`` and ``sam`` share a bucket.
    """
    folded = unicodedata.normalize("NFKC", value).strip().casefold()
    return Limit(ratelimit.bucket_key(name, kind, folded), limit, window)


def end_read_only_transaction() -> None:
    """End the request session's transaction if it has only read, so a limiter's own connection can write.

    On SQLite every transaction begins ``IMMEDIATE`` (it holds the write lock), so a counter committed
    on another connection would wait for the request to end. Raises if the view already changed rows.
    """
    session = g.get("db")
    if session is not None and session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("rate limits must be enforced before the view changes anything")
        session.commit()


def enforce(*limits: Limit) -> None:
    """Count one hit on each limit; raise ``request.rate_limited`` (429, ``Retry-After``) if any is exceeded.

    Must run before the view writes through the request's session. If that session already has a
    read-only transaction open (``login_required`` reads the device), it is ended first: on SQLite the
    open transaction holds the write lock the limiter's own connection needs.
    """
    end_read_only_transaction()
    state = context.state()
    refusal = ratelimit.record_hits(state.session_factory, limits, now=context.now())
    if refusal is not None:
        raise DomainError(
            "request.rate_limited",
            f"Too many attempts; try again in {refusal.retry_after_seconds} seconds.",
            retry_after=refusal.retry_after_seconds,
        )


def sign_in(username: str) -> tuple[Limit, Limit]:
    """The limits on one sign-in attempt, wherever it is made (API or page): per client IP and per username.

    Both come from the settings (``WALLET_RATELIMIT_LOGIN_PER_IP_PER_MINUTE``,
    ``WALLET_RATELIMIT_LOGIN_PER_USERNAME_PER_MINUTE``); a guesser gains nothing by switching paths.
    """
    settings = context.state().settings
    return (
        by_client_ip("login", limit=settings.ratelimit_login_per_ip_per_minute, window=MINUTE),
        by_value(
            "login", "username", username or "-", limit=settings.ratelimit_login_per_username_per_minute, window=MINUTE
        ),
    )


def sign_up() -> Limit:
    """The limit on one sign-up, wherever it is made: ``WALLET_RATELIMIT_SIGNUP_PER_IP_PER_HOUR`` per client IP."""
    return by_client_ip("signup", limit=context.state().settings.ratelimit_signup_per_ip_per_hour, window=HOUR)


def reset_code_issuing(issuer_id: object) -> Limit:
    """The limit on issuing password reset codes: ``WALLET_RATELIMIT_RESET_CODES_PER_STAFF_PER_HOUR`` per issuer.

    The API and the console both call it before :func:`wallet.accounts.recovery.issue_reset_code`. Typing a
    reset or recovery code is judged under :func:`sign_in` for the username, like a password.
    """
    settings = context.state().settings
    return by_value(
        "reset-code", "issuer", str(issuer_id), limit=settings.ratelimit_reset_codes_per_staff_per_hour, window=HOUR
    )
