"""Per-request access to the app's state: the database session, the clock, the signed-in principal.

Views call these; services never do (they receive what they need as arguments).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy.orm import Session

from wallet.accounts import services as accounts
from wallet.accounts import tokens
from wallet.claims.policy import ClaimConfig
from wallet.credentials.fetcher import LocalFirstFetcher
from wallet.errors import DomainError
from wallet.holding.registry import IssuerRegistry, RegistryFile
from wallet.state import WalletState
from wallet.web.retry import watch_commits


def state() -> WalletState:
    return current_app.extensions["wallet"]


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = watch_commits(state().session_factory)()  # listeners registered once per factory
    return g.db


def now() -> dt.datetime:
    return state().clock()


def claim_config() -> ClaimConfig:
    """The app's claim keys (codes, PINs, display links), derived once in ``create_app()``."""
    return state().claims


@dataclass(frozen=True)
class Principal:
    account_id: uuid.UUID
    device_id: uuid.UUID


FIRST_PASSWORD_ROUTES = frozenset(
    {("POST", "/api/v1/me/password"), ("GET", "/api/v1/me"), ("POST", "/api/v1/auth/logout")}
)
"""What a session opened with a one-time password may do before it chooses its own password."""


def authenticate_request() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError("auth.required")
    policy = state().token_policy
    claims = tokens.read_access_token(
        policy.access_key, token.strip(), now=now(), previous_keys=policy.previous_access_keys
    )
    device = accounts.active_device(db(), account_id=claims.account_id, device_id=claims.device_id)
    if device.account.must_change_password and (request.method, request.path) not in FIRST_PASSWORD_ROUTES:
        raise DomainError(
            "account.password_change_required",
            "You signed in with a one-time password: choose your own first (POST /api/v1/me/password).",
        )
    g.principal = Principal(claims.account_id, claims.device_id)
    # Kept referenced for the request, so a service reading the signed-in account (a claim's delivery
    # does) finds it in the session's identity map instead of selecting it again.
    g.signed_in_account = device.account
    return g.principal


def principal() -> Principal:
    """The signed-in principal; only valid inside a ``login_required`` view."""
    return g.principal


def fetcher() -> LocalFirstFetcher:
    """The app's fetcher: its own documents from the request's session, other URLs through the guard."""
    fetcher = state().fetcher
    assert fetcher is not None, "create_app() builds the fetcher"
    return fetcher


def client_ip() -> str:
    return request.remote_addr or "unknown"


def issuer_registry() -> IssuerRegistry:
    """The operator's issuer registry (``WALLET_ISSUER_REGISTRY``), re-read when its file changes."""
    app_state = state()
    if app_state.issuer_registry is None:
        app_state.issuer_registry = RegistryFile(app_state.settings.issuer_registry)
    return app_state.issuer_registry.current()
