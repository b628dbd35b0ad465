"""The application factory. Nothing is created at import time: engine, Api and state are bound here."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, g, request
from flask_cors import CORS
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from wallet import logs
from wallet.accounts.passwords import make_hasher
from wallet.accounts.services import TokenPolicy
from wallet.accounts.tokens import derive_key
from wallet.api.core import WalletApi, check_request_content_type, handle_domain_error
from wallet.claims.policy import claim_config
from wallet.config import Settings
from wallet.db import make_engine, make_session_factory
from wallet.errors import DomainError
from wallet.instance_secrets import for_settings as secrets_for
from wallet.pathways.services import recogniser
from wallet.state import WalletState, utc_now
from wallet.sync.actions import action_handlers
from wallet.web.problems import problem_response
from wallet.web.retry import retry_every_view
from wallet.web.session import WEB_SESSION_DAYS
from wallet.web.text import view_judges_nul
from wallet.web.uploads import apply_body_limit

log = logging.getLogger("wallet.http")

# HTML pages run no inline script and load nothing from elsewhere; no site may frame them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

API_VERSION = "1.0.0"


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], dt.datetime] = utc_now, engine: Engine | None = None
) -> Flask:
    """Build the Flask app for ``settings`` (default: from ``WALLET_*`` environment variables).

    ``engine`` lets an embedding process (the test suite, a benchmark) share one engine.
    """
    settings = settings or Settings.from_env()
    instance_path = settings.resolved_instance_path()
    app = Flask("wallet", instance_path=str(instance_path), instance_relative_config=True)
    logs.configure(settings.log_level, as_json=settings.log_json)

    instance_secrets = secrets_for(settings)  # refuses to start on PostgreSQL without shared secrets
    engine = engine or make_engine(settings.resolved_database_url())
    claims = claim_config(
        secret_key=instance_secrets.secret_key,
        key_encryption_key=instance_secrets.key_encryption_key,
        base_url=settings.base_url,
        previous_secret_keys=instance_secrets.previous_secret_keys,
    )
    app.extensions["wallet"] = WalletState(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        secrets=instance_secrets,
        hasher=make_hasher(settings.password_hash_profile),
        token_policy=TokenPolicy(
            access_key=derive_key(instance_secrets.secret_key, "access-token"),
            access_ttl=dt.timedelta(seconds=settings.access_token_ttl_seconds),
            refresh_ttl=dt.timedelta(days=settings.refresh_token_ttl_days),
            successor_key=derive_key(instance_secrets.secret_key, "refresh-token-successor"),
            refresh_grace=dt.timedelta(seconds=max(0, settings.refresh_grace_seconds)),
            previous_access_keys=tuple(
                derive_key(old, "access-token") for old in instance_secrets.previous_secret_keys
            ),
        ),
        claims=claims,
        actions=action_handlers(claim_config=claims, base_url=settings.base_url),
        recognise=recogniser(kek=instance_secrets.key_encryption_key, base_url=settings.base_url),
        clock=clock,
    )
    from wallet.fetching import build_fetcher
    from wallet.web import context

    app.extensions["wallet"].fetcher = build_fetcher(settings, session=context.db)
    app.config.update(
        SECRET_KEY=instance_secrets.secret_key,
        SECRET_KEY_FALLBACKS=list(instance_secrets.previous_secret_keys),  # browser sessions survive a rotation
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="Learner Wallet API",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs-assets/",
        JSON_SORT_KEYS=False,
        # Flask's defaults already hold these keys, so they are set here, not with setdefault: the
        # claim pages' session cookie (CSRF token, web sign-in) is HttpOnly, never sent cross-site on
        # a POST, and only over TLS when the public origin is https.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.lower().startswith("https://"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=WEB_SESSION_DAYS),
    )
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    if settings.cors_origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": list(settings.cors_origins)}},
            expose_headers=["ETag", "X-Request-Id", "Retry-After"],
        )

    api = WalletApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Learner Wallet: hold, verify, sync, claim and share Open Badges. "
                "Every error is RFC 9457 problem+json with a stable `code`."
            },
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    app.register_error_handler(DomainError, handle_domain_error)
    _register_request_hooks(app)
    _register_blueprints(app, api)
    retry_every_view(app)  # serialization failures and deadlocks: re-run, not 503 (wallet.web.retry)
    return app


def _register_blueprints(app: Flask, api: WalletApi) -> None:
    from wallet.api import accounts, achievements, auth, credentials, devices, issuers, meta, organisations
    from wallet.api import claims as claims_api
    from wallet.api import docs as api_docs
    from wallet.api import sync as sync_api
    from wallet.pages import claims as claim_pages

    meta.register(app)
    api_docs.register(app)
    for module in (auth, accounts, devices, organisations, credentials, achievements, issuers, sync_api, claims_api):
        api.register_blueprint(module.blp)
    app.register_blueprint(claim_pages.pages)
    from wallet.pages import accounts as account_pages

    app.register_blueprint(account_pages.pages)
    from wallet.pages import learner as learner_pages

    app.register_blueprint(learner_pages.pages)
    from wallet.pages import badges as badge_pages

    app.register_blueprint(badge_pages.pages)
    from wallet.pages import console as console_pages

    app.register_blueprint(console_pages.pages)
    from wallet.api import shares as shares_api
    from wallet.pages import sharing as sharing_pages

    api.register_blueprint(shares_api.blp)
    app.register_blueprint(sharing_pages.blp)
    from wallet.api import oid4vci as oid4vci_api

    api.register_blueprint(oid4vci_api.blp)
    app.register_blueprint(oid4vci_api.protocol)
    from wallet.api import pathways as pathways_api
    from wallet.pages import pathways as pathway_pages

    api.register_blueprint(pathways_api.blp)
    app.register_blueprint(pathway_pages.blp)
    from wallet.api import endorsements as endorsements_api
    from wallet.api import requests as requests_api
    from wallet.pages import requests as request_pages

    api.register_blueprint(requests_api.blp)
    api.register_blueprint(endorsements_api.blp)
    app.register_blueprint(request_pages.learner)
    app.register_blueprint(request_pages.console)


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_unstorable_text(view: Any = None) -> None:
    """400 for a NUL character anywhere in the path, the query string or a form, on every route.

    PostgreSQL's text type cannot hold NUL (psycopg raises ``DataError``: a 500) and SQLite stores it
    silently; no identifier, search or form field of ours has a use for it. JSON bodies are checked as
    they are parsed (:func:`wallet.api.core.load_request_json`). Checked before any view runs, so no
    route can forget it; a page view marked :func:`wallet.web.text.judges_nul` judges its own form fields
    (and shows the form again with what was typed).
    """
    texts = [request.path, *(part for item in request.args.items(multi=True) for part in item)]
    if request.mimetype in FORM_TYPES and not view_judges_nul(view):
        texts += [part for item in request.form.items(multi=True) for part in item]
    if any("\x00" in text for text in texts):
        abort(400, description="The address or form must not contain NUL characters.")


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.request_id = logs.sane_request_id(request.headers.get("X-Request-Id")) or secrets.token_hex(8)
        g.started = time.perf_counter()
        view = app.view_functions.get(request.endpoint or "")
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            view = getattr(view_class, request.method.lower(), view)
        apply_body_limit(view)
        refuse_unstorable_text(view)
        if request.path.startswith("/api/"):
            check_request_content_type(view)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        duration = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration, 1),
            },
        )
        return response

    @app.teardown_request
    def _close_session(_error: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.rollback()
            session.close()

    @app.errorhandler(OperationalError)
    def _database_busy(error: OperationalError) -> Any:
        # A dropped connection, "database is locked", or a serialization failure or deadlock that
        # outlasted the server's own retries (wallet.web.retry): the transaction was rolled back, so
        # the client may safely retry the same request.
        log.warning("database unavailable: %s", type(error.orig).__name__, extra={"event": "db_unavailable"})
        return problem_response(
            503,
            "server.unavailable",
            "The database is busy; retry in a moment.",
            headers={"Retry-After": "1"},
            retry_after=1,
            request_id=g.get("request_id"),
        )

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError) -> Any:
        # A uniqueness or foreign-key race that no service anticipated: the write did not happen.
        log.warning("integrity conflict", extra={"event": "integrity_conflict"})
        return problem_response(
            409,
            "request.conflict",
            "The change conflicts with another one; reload and retry.",
            request_id=g.get("request_id"),
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error
        log.exception("unhandled error", extra={"event": "unhandled"})
        return problem_response(
            500, "server.internal_error", InternalServerError.description, request_id=g.get("request_id")
        )
