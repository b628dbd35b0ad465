"""Stable, machine-readable error codes: the contract between server and clients.

A client acts on ``code``, never on ``title`` or ``detail`` (which may be reworded). Codes are
``<area>.<reason>``; once published a code keeps its meaning and HTTP status forever. The server
raises them as domain exceptions and renders them as RFC 9457 problem+json; the SDK raises the
matching exception class. Adding a code: add it here, with its status and a one-line title.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    title: str


_CODES: tuple[ErrorCode, ...] = (
    # Generic HTTP-level failures (the framework's own errors map here).
    ErrorCode("request.malformed", 400, "The request could not be understood"),
    ErrorCode("request.invalid_json", 400, "The request body is not valid JSON"),
    ErrorCode("request.too_large", 413, "The request body is too large"),
    ErrorCode("request.unsupported_media_type", 415, "The request body has an unsupported content type"),
    ErrorCode("request.validation_failed", 422, "The request did not pass validation"),
    ErrorCode("request.not_found", 404, "No such resource"),
    ErrorCode("request.method_not_allowed", 405, "Method not allowed on this resource"),
    ErrorCode("request.not_acceptable", 406, "No acceptable representation"),
    ErrorCode("request.conflict", 409, "The request conflicts with the current state"),
    ErrorCode("request.precondition_failed", 412, "The resource changed since it was read"),
    ErrorCode("request.rate_limited", 429, "Too many requests; retry later"),
    ErrorCode("server.internal_error", 500, "Something went wrong on our side"),
    ErrorCode("server.unavailable", 503, "The service is busy; retry later"),
    # Authentication and authorisation.
    ErrorCode("auth.required", 401, "Sign in to do this"),
    ErrorCode("auth.invalid_token", 401, "The access token is missing, malformed or expired"),
    ErrorCode("auth.invalid_credentials", 401, "Wrong username or password"),
    # A refresh that can never succeed (token reused, unknown, expired, or its device signed out): show
    # the sign-in screen. The problem's ``reason`` says which, for logs. Replaces the two codes below,
    # which the server no longer sends but which keep their meaning for older clients.
    ErrorCode("auth.signed_out", 401, "This device is signed out; sign in again"),
    ErrorCode("auth.refresh_token_invalid", 401, "The refresh token is unknown or expired"),
    ErrorCode("auth.refresh_token_reused", 401, "The refresh token was already used; the device was signed out"),
    ErrorCode("auth.device_revoked", 401, "This device was signed out"),
    ErrorCode("auth.forbidden", 403, "You are not allowed to do this"),
    ErrorCode("auth.invalid_reset_code", 401, "The reset or recovery code is wrong, used or expired"),
    # Accounts.
    ErrorCode("account.username_taken", 409, "That username is taken"),
    ErrorCode("account.weak_password", 422, "That password is too weak or too common"),
    ErrorCode("account.not_found", 404, "No such account"),
    ErrorCode("device.not_found", 404, "No such device"),
    # Signed in with a one-time password (an invite, ``wallet org create``): only choosing a new one works.
    ErrorCode("account.password_change_required", 403, "Choose your own password first"),
    # Organisations.
    ErrorCode("organisation.not_found", 404, "No such organisation"),
    ErrorCode("organisation.slug_taken", 409, "That organisation slug is taken"),
    ErrorCode("organisation.already_member", 409, "That account is already a member"),
    ErrorCode("organisation.not_member", 404, "That account is not a member"),
    ErrorCode("organisation.last_admin", 409, "An organisation must keep at least one admin"),
    # Credentials.
    ErrorCode("credential.not_found", 404, "No such credential"),
    ErrorCode("credential.invalid", 422, "The credential is not valid"),
    ErrorCode("credential.unsupported_format", 415, "That credential format is not supported"),
    ErrorCode("credential.unknown_context", 422, "The credential uses a JSON-LD context we do not know"),
    ErrorCode("credential.duplicate", 409, "That credential is already in the wallet"),
    ErrorCode("credential.binding_failed", 422, "The proof of holding the credential's key did not verify"),
    ErrorCode("credential.fetch_failed", 422, "The credential could not be fetched"),
    ErrorCode("credential.fetch_forbidden", 422, "That address may not be fetched"),
    ErrorCode("achievement.not_found", 404, "No such achievement"),
    ErrorCode("collection.not_found", 404, "No such collection in your wallet"),
    ErrorCode("achievement.invalid_image", 422, "The image is not an acceptable PNG or SVG"),
    # Sync.
    ErrorCode("sync.client_unknown", 404, "This sync client is not registered"),
    ErrorCode("sync.protocol_unsupported", 400, "Unsupported sync protocol version"),
    ErrorCode("sync.too_many_ops", 413, "Too many operations in one sync; send fewer"),
    # Claims.
    ErrorCode("claim.session_not_found", 404, "No such claim session"),
    ErrorCode("claim.unknown_code", 404, "That claim code is not known"),
    ErrorCode("claim.expired_code", 410, "That claim code has expired"),
    ErrorCode("claim.not_started", 409, "This claim session has not started yet"),
    ErrorCode("claim.ended", 410, "This claim session has ended"),
    ErrorCode("claim.closed", 409, "This claim session is closed"),
    ErrorCode("claim.paused", 409, "This claim session is paused"),
    ErrorCode("claim.session_full", 409, "This claim session has no badges left"),
    ErrorCode("claim.already_claimed", 409, "This code was already used"),
    ErrorCode("claim.wrong_pin", 403, "Wrong PIN"),
    ErrorCode("claim.pin_required", 403, "This session needs a PIN"),
    ErrorCode("claim.locked_out", 429, "Too many wrong PINs; wait before trying again"),
    ErrorCode("claim.pending_approval", 202, "The claim waits for the youth worker's approval"),
    ErrorCode("claim.rejected", 403, "The youth worker rejected this claim"),
    # OpenID4VCI (standards wallets; the OAuth error rides in ``error``, this code in ``code``).
    ErrorCode("oid4vci.invalid_request", 400, "The OpenID4VCI request is malformed"),
    ErrorCode("oid4vci.unsupported_grant_type", 400, "Only the pre-authorized code grant is supported"),
    ErrorCode("oid4vci.invalid_token", 401, "The access token is unknown or expired"),
    ErrorCode("oid4vci.invalid_credential_request", 400, "The credential request is malformed"),
    ErrorCode("oid4vci.unknown_credential_configuration", 400, "No such credential configuration"),
    ErrorCode("oid4vci.invalid_proof", 400, "The key proof is missing or invalid"),
    ErrorCode("oid4vci.invalid_nonce", 400, "The key proof's nonce is unknown, used or expired"),
    ErrorCode("oid4vci.invalid_encryption_parameters", 400, "Encrypted credential responses are not supported"),
    ErrorCode("oid4vci.token_bound", 403, "This access token was already used for another key"),
    ErrorCode("oid4vci.moderated_session", 409, "Moderated sessions need the Learner Wallet app"),
    # Sharing.
    ErrorCode("share.not_found", 404, "No such share link"),
    ErrorCode("share.expired", 410, "This share link has expired"),
    ErrorCode("share.revoked", 410, "This share link was revoked"),
)

ERROR_CODES: dict[str, ErrorCode] = {entry.code: entry for entry in _CODES}


def lookup(code: str) -> ErrorCode:
    """The registered entry for ``code``; unknown codes are a programming error."""
    return ERROR_CODES[code]
