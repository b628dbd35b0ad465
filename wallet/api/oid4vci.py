"""OpenID4VCI 1.0: the youth worker's offer (OpenAPI) and the protocol endpoints a standards wallet calls.

The protocol endpoints follow OAuth and OpenID4VCI rather than this API's conventions, so they live on a
plain Flask blueprint outside the OpenAPI document: form-encoded token requests, and errors as JSON
``{"error", "error_description"}`` with the OAuth error code — plus ``code``, this service's stable error
code (``claim.wrong_pin``, ``claim.session_full`` …), so a wrong PIN is never reported like an expired
code. They never answer HTML, and never 500 without JSON. docs/interop.md describes them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import Response, jsonify, request
from flask.views import MethodView
from werkzeug.exceptions import HTTPException

from wallet.api.core import Blueprint, load_request_json
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.errors import DomainError
from wallet.oid4vci import grants, issuance, metadata, offers
from wallet.transactions import unit_of_work
from wallet.web import context, limits
from wallet.web.context import claim_config as config
from wallet.web.guessing import code_guard

blp = Blueprint(
    "oid4vci",
    __name__,
    url_prefix="/api/v1",
    description="OpenID4VCI offers: any standards wallet claims from a session (docs/interop.md)",
)

protocol = FlaskBlueprint("oid4vci_protocol", __name__)
log = logging.getLogger("wallet.http")


# --- The youth worker's offer ---------------------------------------------------------------------


class OfferRequestSchema(StrictSchema):
    by = ma.fields.String(
        load_default="reference",
        validate=ma.validate.OneOf(["reference", "value"]),
        metadata={
            "description": "`reference` (a QR for the whole room: every scan gets its own code) or `value` "
            "(one wallet: the pre-authorized code is in the QR)"
        },
    )
    card = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(1, 500),
        metadata={"description": "Single-use sessions: the card's position on the printed sheet"},
    )


class OfferSchema(OutputSchema):
    offer = ma.fields.String(metadata={"description": "What the QR holds: `openid-credential-offer://?…`"})
    credential_offer_uri = ma.fields.String(allow_none=True)
    credential_offer = ma.fields.Dict(allow_none=True, metadata={"description": "The offer object (by value)"})
    pre_authorized_code_expires_at = ma.fields.DateTime(allow_none=True)
    tx_code_required = ma.fields.Boolean(metadata={"description": "The wallet will ask for the session's PIN"})


@blp.route("/claim-sessions/<uuid:session_id>/oid4vci-offer")
class Oid4vciOffer(MethodView):
    @blp.login_required
    @blp.arguments(OfferRequestSchema, example={"by": "reference"})
    @blp.response(201, OfferSchema)
    @blp.alt_response(404, description="No such session in your organisations (`claim.session_not_found`)")
    @blp.alt_response(409, description="`oid4vci.moderated_session`, or the session is not open (`claim.*`)")
    def post(self, body: dict[str, Any], session_id: Any) -> dict[str, Any]:
        """An OpenID4VCI credential offer for a session or one of its cards (youth workers, admins)"""
        db = context.db()
        offer = offers.worker_offer(
            db,
            session_id=session_id,
            actor=context.principal().account_id,
            by=body["by"],
            card=body["card"],
            config=config(),
            now=context.now(),
        )
        db.commit()
        return {
            "offer": offer.uri,
            "credential_offer_uri": offer.credential_offer_uri,
            "credential_offer": offer.credential_offer,
            "pre_authorized_code_expires_at": offer.code_expires_at,
            "tx_code_required": offer.tx_code_required,
        }


# --- OAuth-style answers ----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def oauth_error(
    status: int, error: str, description: str, code: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """``{"error", "error_description", "code"}``; the description kept to the ASCII OAuth allows."""
    body = {"error": error, "error_description": _UNSAFE.sub("'", description), "code": code, **extra}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _retry_headers(error: DomainError) -> dict[str, str]:
    retry_after = error.extra.get("retry_after")
    return {"Retry-After": str(int(retry_after))} if retry_after is not None else {}


_TOKEN_ERRORS = {
    "oid4vci.invalid_request": "invalid_request",
    "claim.pin_required": "invalid_request",
    "oid4vci.unsupported_grant_type": "unsupported_grant_type",
    "request.rate_limited": "invalid_request",
}

_CREDENTIAL_ERRORS = {
    "oid4vci.invalid_credential_request": "invalid_credential_request",
    "request.invalid_json": "invalid_credential_request",
    "oid4vci.unknown_credential_configuration": "unknown_credential_configuration",
    "oid4vci.invalid_proof": "invalid_proof",
    "oid4vci.invalid_nonce": "invalid_nonce",
    "oid4vci.invalid_encryption_parameters": "invalid_encryption_parameters",
    "request.rate_limited": "invalid_request",
}


def _token_error(error: DomainError) -> Response:
    """RFC 6749 §5.2: 400 (429 when rate-limited); everything about the grant itself is ``invalid_grant``."""
    status = 429 if error.code == "request.rate_limited" else 400
    extra = {key: value for key, value in error.extra.items() if key in ("attempts_left", "retry_after")}
    return oauth_error(
        status,
        _TOKEN_ERRORS.get(error.code, "invalid_grant"),
        error.detail,
        error.code,
        headers=_retry_headers(error),
        **extra,
    )


def _credential_error(error: DomainError) -> Response:
    """§8.3.1: ``invalid_token`` is 401 (RFC 6750); the limits of the session are ``credential_request_denied``."""
    if error.code == "oid4vci.invalid_token":
        return oauth_error(
            401,
            "invalid_token",
            error.detail,
            error.code,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    status = 429 if error.code == "request.rate_limited" else 400
    return oauth_error(
        status,
        _CREDENTIAL_ERRORS.get(error.code, "credential_request_denied"),
        error.detail,
        error.code,
        headers=_retry_headers(error),
    )


@protocol.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return oauth_error(
        status,
        "invalid_request" if status < 500 else "server_error",
        error.description or "The request failed.",
        "request.malformed" if status < 500 else "server.internal_error",
    )


@protocol.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"event": "unhandled"})
    return oauth_error(
        500, "server_error", "Something went wrong on our side; try again later.", "server.internal_error"
    )


# --- Metadata ---------------------------------------------------------------------------------------


@protocol.get("/.well-known/openid-credential-issuer")
def credential_issuer_metadata() -> Response:
    """OpenID4VCI 1.0 §12.2.2: static for a deployment, so cacheable."""
    response = jsonify(metadata.credential_issuer_metadata(context.state().settings.base_url))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@protocol.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata() -> Response:
    response = jsonify(metadata.authorization_server_metadata(context.state().settings.base_url))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# --- Offer, token, nonce, credential ------------------------------------------------------------------


@protocol.get(f"{metadata.OFFER_PATH}/<path:claim_token>")
def credential_offer(claim_token: str) -> Response:
    """The offer object behind a ``credential_offer_uri``: each fetch mints a fresh pre-authorized code."""
    db = context.db()
    try:
        limits.enforce(limits.by_client_ip("oid4vci-offer", limit=120, window=limits.MINUTE))
        offer = offers.fetch_offer(db, claim_token=claim_token, config=config(), guard=code_guard(), now=context.now())
    except DomainError as error:
        db.rollback()
        return oauth_error(error.status, "invalid_request", error.detail, error.code, headers=_retry_headers(error))
    db.commit()
    return _json(offer)


def _form_parameters(*names: str) -> dict[str, str | None]:
    if request.mimetype != "application/x-www-form-urlencoded":
        raise DomainError("oid4vci.invalid_request", "Send the token request as application/x-www-form-urlencoded.")
    values: dict[str, str | None] = {}
    for name in names:
        given = request.form.getlist(name)
        if len(given) > 1:
            raise DomainError("oid4vci.invalid_request", f"The {name} parameter is repeated.")
        values[name] = given[0] if given else None
    return values


@protocol.post(metadata.TOKEN_PATH)
def token() -> Response:
    """The token endpoint: pre-authorized code (+ ``tx_code``) for a Bearer access token."""
    try:
        limits.enforce(limits.by_client_ip("oid4vci-token", limit=60, window=limits.MINUTE))
        form = _form_parameters("grant_type", "pre-authorized_code", "tx_code")
        with unit_of_work(context.db()) as db:
            granted = grants.exchange_pre_authorized_code(
                db,
                grant_type=form["grant_type"],
                code=form["pre-authorized_code"],
                tx_code=form["tx_code"],
                config=config(),
                guard=code_guard(),
                now=context.now(),
            )
    except DomainError as error:
        context.db().rollback()
        return _token_error(error)
    return _json({"access_token": granted.access_token, "token_type": "Bearer", "expires_in": granted.expires_in})


@protocol.post(metadata.NONCE_PATH)
def nonce() -> Response:
    """The nonce endpoint: a fresh single-use ``c_nonce`` (no access token needed)."""
    db = context.db()
    try:
        limits.enforce(limits.by_client_ip("oid4vci-nonce", limit=120, window=limits.MINUTE))
        value, _ = grants.issue_nonce(db, now=context.now())
    except DomainError as error:
        db.rollback()
        return _credential_error(error)
    db.commit()
    return _json({"c_nonce": value})


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


@protocol.post(metadata.CREDENTIAL_PATH)
def credential() -> Response:
    """The credential endpoint: a key proof for the badge, as ``{"credentials": [{"credential": …}]}``."""
    db = context.db()
    try:
        access_token = _bearer()
        grants.authorise(db, access_token=access_token, now=context.now())
        if request.mimetype != "application/json":
            raise DomainError("oid4vci.invalid_credential_request", "Send the credential request as application/json.")
        body = load_request_json(request.get_data())
        issued = issuance.issue_to_holder(db, access_token=access_token, body=body, config=config(), now=context.now())
    except DomainError as error:
        db.rollback()
        return _credential_error(error)
    db.commit()
    return _json({"credentials": [{"credential": issued.credential}]})
