"""One exception tree for every error the server reports, chosen by its stable ``code``.

The server answers every failure as RFC 9457 problem+json with a ``code`` (``wallet_protocol.errors``);
the class is picked from the code's HTTP status, so a new server code still lands in the right branch.
Catch :class:`WalletError` for everything, or a subclass for what you can act on.
"""

from __future__ import annotations

from typing import Any


class WalletError(Exception):
    """An error from the wallet service (or reaching it). ``code`` is stable; ``detail`` is prose."""

    def __init__(
        self, code: str, detail: str = "", *, status: int | None = None, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.status = status
        self.body = body or {}


class TransportError(WalletError):
    """The server could not be reached (after the retries allowed for this request)."""


class AuthError(WalletError):
    """401. ``auth.invalid_token`` ("refresh your access token") is refreshed automatically; what
    reaches you is either :class:`SignedOut` or a wrong password at sign-in."""


class SignedOut(AuthError):
    """401: this device is signed out — show the sign-in screen.

    Raised when the refresh token can never work again (reused, unknown, expired), the device was signed
    out (from another device, by a password change), or there are no tokens at all. Edits queued in an
    :class:`~wallet_client.OfflineWallet` are kept and pushed once the learner signs in again on the same
    replica.
    """


SIGNED_OUT_CODES = frozenset(
    {
        "auth.signed_out",
        "auth.device_revoked",
        "auth.required",
        "auth.refresh_token_invalid",
        "auth.refresh_token_reused",
    }
)
"""Codes that mean "sign in again" (the last two from servers older than ``auth.signed_out``)."""


class Forbidden(WalletError):
    """403: signed in, but not allowed."""


class NotFound(WalletError):
    """404 (or 410): no such thing, or not yours."""


class Conflict(WalletError):
    """409: the request conflicts with the current state (a username taken, a code used)."""


class ValidationFailed(WalletError):
    """400/413/415/422: the request itself is wrong; ``body["errors"]`` says where."""


class RateLimited(WalletError):
    """429: slow down; ``retry_after`` seconds (or ``None``)."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        status: int | None = None,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, detail, status=status, body=body)
        self.retry_after = retry_after


class ServerError(WalletError):
    """5xx: the server failed; safe requests were already retried."""


_BY_STATUS: dict[int, type[WalletError]] = {
    401: AuthError,
    403: Forbidden,
    404: NotFound,
    410: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_for(status: int, body: Any, *, retry_after: float | None = None) -> WalletError:
    """The exception for an error response with ``status`` and (problem+json, if any) ``body``."""
    problem = body if isinstance(body, dict) else {}
    code = str(problem.get("code") or f"http.{status}")
    detail = str(problem.get("detail") or "")
    if status == 429:
        return RateLimited(code, detail, status=status, body=problem, retry_after=retry_after)
    cls = _BY_STATUS.get(status)
    if status == 401 and code in SIGNED_OUT_CODES:
        cls = SignedOut
    if cls is None:
        cls = ServerError if status >= 500 else ValidationFailed
    return cls(code, detail, status=status, body=problem)
