"""Open Badges 2.0 import: hosted and signed assertions, checked the way OB 2.0 says.

A learner may bring old badges: a baked image or a JSON file holding an OB 2.0 *assertion*. OB 2.0 has
two verification methods (``verification.type``):

hosted
    The assertion lives at its ``id`` URL; the copy fetched from there is authoritative. The ``id`` must
    be on an origin the issuer allows (``verification.startsWith`` / ``allowedOrigins`` on the issuer
    Profile, else the issuer id's host). A revoked hosted assertion answers ``410 Gone``.
signed
    The assertion is the payload of a compact JWS (RS256). ``verification.creator`` names the issuer's
    ``CryptographicKey`` (``publicKeyPem``, ``owner``); the key's owner must be the issuer. Revocation is
    the issuer's ``revocationList`` (``revokedAssertions``).

The BadgeClass and Profile are fetched when referenced by URL. The recipient is kept exactly as given
(a hashed identity stays hashed). Checks use the names of :mod:`wallet.credentials.verify`: ``proof``,
``issuer_key``, ``validity``, ``status``, ``shape``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.exceptions import InvalidTokenError

from wallet.credentials.fetcher import JSON_TYPES, FetchError, FetchFailed, FetchResult
from wallet.credentials.jwt import VcJwtError, decode_unverified
from wallet.credentials.reasons import Reason
from wallet.credentials.timestamps import parse_timestamp
from wallet.credentials.verify import CheckResult, ReportOutcome, overall_outcome

OB2_CONTEXT = "https://w3id.org/openbadges/v2"


class Fetcher(Protocol):
    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult: ...


class Ob2Error(ValueError):
    """The input is not an OB 2.0 assertion we can import (the message says why)."""


@dataclass(frozen=True)
class Ob2Assertion:
    assertion: dict[str, Any]
    badge: dict[str, Any]
    issuer: dict[str, Any]
    recipient: dict[str, Any]
    issued_on: str | None
    expires: str | None
    image: str | None
    verification_type: Literal["hosted", "signed"]
    checks: tuple[CheckResult, ...]

    @property
    def outcome(self) -> ReportOutcome:
        return overall_outcome(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "verificationType": self.verification_type,
            "checks": [check.to_dict() for check in self.checks],
        }


def _get_json(fetcher: Fetcher, url: str) -> Any:
    result = fetcher.get(url, accept=JSON_TYPES)
    try:
        return json.loads(result.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FetchFailed(f"{url} did not return JSON", url=url) from exc


def _types(node: Mapping[str, Any]) -> set[str]:
    value = node.get("type")
    return {value} if isinstance(value, str) else {v for v in value or [] if isinstance(v, str)}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _image_of(node: Mapping[str, Any]) -> str | None:
    image = node.get("image")
    if isinstance(image, Mapping):
        image = image.get("id")
    return image if isinstance(image, str) else None


def _resolve(fetcher: Fetcher, value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            document = _get_json(fetcher, value)
        except FetchError as exc:
            raise Ob2Error(f"the {what} {value} could not be fetched: {exc}") from exc
        if not isinstance(document, dict):
            raise Ob2Error(f"the {what} at {value} is not a JSON object")
        return document
    raise Ob2Error(f"the assertion has no {what}")


def _validity(assertion: Mapping[str, Any], now: datetime) -> CheckResult:
    issued = parse_timestamp(assertion.get("issuedOn"), allow_epoch=True)
    if issued is None:
        return CheckResult.of("validity", Reason.VALIDITY_MALFORMED_DATE, "issuedOn is missing or not a date-time")
    if now < issued:
        return CheckResult.of("validity", Reason.VALIDITY_NOT_YET_VALID, f"issued in the future ({issued.isoformat()})")
    if "expires" in assertion:
        expires = parse_timestamp(assertion["expires"], allow_epoch=True)
        if expires is None:
            return CheckResult.of("validity", Reason.VALIDITY_MALFORMED_DATE, "expires is not a date-time")
        if now >= expires:
            return CheckResult.of("validity", Reason.VALIDITY_EXPIRED, f"expired at {expires.isoformat()}")
    return CheckResult.of("validity", Reason.VALIDITY_CURRENT, "within its validity period")


def _shape(assertion: Mapping[str, Any], badge: Mapping[str, Any], issuer: Mapping[str, Any]) -> CheckResult:
    problems: list[str] = []
    if "Assertion" not in _types(assertion):
        problems.append("type must be Assertion")
    recipient = assertion.get("recipient")
    if not isinstance(recipient, Mapping) or not recipient.get("identity") or not recipient.get("type"):
        problems.append("recipient needs type and identity")
    if "BadgeClass" not in _types(badge):
        problems.append("badge must be a BadgeClass")
    problems += [f"badge lacks {key}" for key in ("name", "description", "criteria") if not badge.get(key)]
    if not _image_of(badge):
        problems.append("badge lacks image")
    if not ({"Issuer", "Profile"} & _types(issuer)):
        problems.append("issuer must be a Profile")
    problems += [f"issuer lacks {key}" for key in ("id", "name") if not issuer.get(key)]
    if problems:
        return CheckResult.of("shape", Reason.SHAPE_NOT_AN_OPEN_BADGE, "; ".join(problems))
    return CheckResult.of("shape", Reason.SHAPE_CONFORMS, "well-formed Open Badges 2.0 assertion")


def _allowed_origin(assertion_id: str, issuer: Mapping[str, Any]) -> CheckResult:
    policy = issuer.get("verification") if isinstance(issuer.get("verification"), Mapping) else {}
    starts = [s for s in _as_list(policy.get("startsWith")) if isinstance(s, str)]
    origins = [o for o in _as_list(policy.get("allowedOrigins")) if isinstance(o, str)]
    host = urlsplit(assertion_id).hostname or ""
    if starts:
        ok = any(assertion_id.startswith(prefix) for prefix in starts)
        rule = f"startsWith {starts}"
    elif origins:
        ok = host in {urlsplit(o).hostname or o for o in origins}
        rule = f"allowedOrigins {origins}"
    else:
        issuer_host = urlsplit(str(issuer.get("id", ""))).hostname
        ok = bool(issuer_host) and host == issuer_host
        rule = f"the issuer's host {issuer_host}"
    if ok:
        return CheckResult.of("issuer_key", Reason.ISSUER_KEY_LISTED, f"{assertion_id} is allowed by {rule}")
    return CheckResult.of("issuer_key", Reason.ISSUER_KEY_NOT_LISTED, f"{assertion_id} is not allowed by {rule}")


def import_ob2(source: str | Mapping[str, Any], *, fetcher: Fetcher, now: datetime) -> Ob2Assertion:
    """Fetch, check and normalise an OB 2.0 assertion given as its URL, its JSON, or a signed JWS.

    Raises :class:`Ob2Error` when there is nothing to import (unreachable hosted assertion, unreadable
    input); problems with an assertion that was obtained are reported in ``.checks`` instead.
    """
    if isinstance(source, Mapping):
        verification = source.get("verification")
        kind = verification.get("type") if isinstance(verification, Mapping) else None
        if str(kind).lower() in ("signed", "signedbadge"):
            raise Ob2Error("a signed assertion must be imported as its JWS, not its decoded JSON")
        if not isinstance(source.get("id"), str):
            raise Ob2Error("the assertion has no id URL to fetch it from")
        return _import_hosted(source["id"], fetcher=fetcher, now=now)
    text = source.strip()
    if text.startswith(("https://", "http://")):
        return _import_hosted(text, fetcher=fetcher, now=now)
    if text.startswith("{"):
        try:
            return import_ob2(json.loads(text), fetcher=fetcher, now=now)
        except ValueError as exc:
            if isinstance(exc, Ob2Error):
                raise
            raise Ob2Error(f"not valid JSON: {exc}") from exc
    return _import_signed(text, fetcher=fetcher, now=now)


def _import_hosted(url: str, *, fetcher: Fetcher, now: datetime) -> Ob2Assertion:
    revoked: str | None = None
    try:
        assertion = _get_json(fetcher, url)
    except FetchFailed as exc:
        if exc.status != 410:
            raise Ob2Error(f"the hosted assertion {url} could not be fetched: {exc}") from exc
        try:
            assertion = json.loads(exc.body)
        except ValueError:
            assertion = None
        if not isinstance(assertion, dict) or "badge" not in assertion:
            raise Ob2Error(f"the hosted assertion {url} has been revoked (410 Gone)") from exc
        revoked = "the issuer answers 410 Gone: revoked"
    except FetchError as exc:
        raise Ob2Error(f"the hosted assertion {url} could not be fetched: {exc}") from exc
    if not isinstance(assertion, dict):
        raise Ob2Error(f"{url} is not an assertion object")
    badge = _resolve(fetcher, assertion.get("badge"), "BadgeClass")
    issuer = _resolve(fetcher, badge.get("issuer"), "issuer Profile")
    verification = assertion.get("verification")
    kind = str(verification.get("type", "")) if isinstance(verification, Mapping) else ""
    if kind.lower() not in ("hosted", "hostedbadge"):
        proof = CheckResult.of(
            "proof", Reason.PROOF_MALFORMED, f"verification type {kind or 'missing'!r} is not hosted"
        )
    elif assertion.get("id") != url:
        proof = CheckResult.of(
            "proof", Reason.PROOF_HOSTED_MISMATCH, f"the assertion id {assertion.get('id')!r} is not its URL {url}"
        )
    else:
        proof = CheckResult.of("proof", Reason.PROOF_HOSTED_VERIFIED, f"hosted assertion fetched from {url}")
    if revoked is None and assertion.get("revoked") is True:
        revoked = "the hosted assertion says it is revoked"
    status = (
        CheckResult.of("status", Reason.STATUS_REVOKED, revoked)
        if revoked
        else CheckResult.of("status", Reason.STATUS_ACTIVE, "the issuer still hosts the assertion")
    )
    checks = (
        proof,
        _allowed_origin(url, issuer),
        _validity(assertion, now),
        status,
        _shape(assertion, badge, issuer),
    )
    return _normalised(assertion, badge, issuer, "hosted", checks)


def _import_signed(token: str, *, fetcher: Fetcher, now: datetime) -> Ob2Assertion:
    try:
        header, assertion = decode_unverified(token)
    except VcJwtError as exc:
        raise Ob2Error(f"not an OB 2.0 assertion URL, JSON or JWS: {exc}") from exc
    badge = _resolve(fetcher, assertion.get("badge"), "BadgeClass")
    issuer = _resolve(fetcher, badge.get("issuer"), "issuer Profile")
    verification = assertion.get("verification") if isinstance(assertion.get("verification"), Mapping) else {}
    creator = verification.get("creator")
    proof, issuer_key = _signed_proof(token, header, creator, issuer, fetcher)
    checks = (
        proof,
        issuer_key,
        _validity(assertion, now),
        _revocation(assertion, issuer, fetcher),
        _shape(assertion, badge, issuer),
    )
    return _normalised(assertion, badge, issuer, "signed", checks)


def _signed_proof(
    token: str, header: Mapping[str, Any], creator: Any, issuer: Mapping[str, Any], fetcher: Fetcher
) -> tuple[CheckResult, CheckResult]:
    if header.get("alg") != "RS256":
        failed = CheckResult.of(
            "proof", Reason.PROOF_ALGORITHM_FORBIDDEN, f"algorithm {header.get('alg')!r} is not RS256"
        )
        return failed, CheckResult.of("issuer_key", Reason.ISSUER_KEY_NOT_CHECKED, "no verified signature")
    if not isinstance(creator, str):
        failed = CheckResult.of("proof", Reason.PROOF_MALFORMED, "verification.creator (the key URL) is missing")
        return failed, CheckResult.of("issuer_key", Reason.ISSUER_KEY_NOT_CHECKED, "no key named")
    try:
        key_document = _get_json(fetcher, creator)
    except FetchError as exc:
        why = f"the signing key {creator} could not be fetched: {exc}"
        return CheckResult.of("proof", Reason.PROOF_KEY_UNRESOLVABLE, why), CheckResult.of(
            "issuer_key", Reason.ISSUER_KEY_ISSUER_UNRESOLVABLE, why
        )
    try:
        key = load_pem_public_key(str(key_document.get("publicKeyPem", "")).encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("not an RSA key")
        pyjwt.PyJWS().decode(token, key=key, algorithms=["RS256"])
    except (ValueError, TypeError, AttributeError, InvalidTokenError) as exc:
        failed = CheckResult.of(
            "proof", Reason.PROOF_SIGNATURE_MISMATCH, f"signature does not verify with {creator}: {exc}"
        )
        return failed, CheckResult.of("issuer_key", Reason.ISSUER_KEY_NOT_CHECKED, "no verified signature")
    proof = CheckResult.of("proof", Reason.PROOF_VERIFIED, f"RS256 signature by {creator}")
    owner = key_document.get("owner")
    listed = [k if isinstance(k, str) else k.get("id") for k in _as_list(issuer.get("publicKey")) if k]
    if owner != issuer.get("id"):
        return proof, CheckResult.of(
            "issuer_key", Reason.ISSUER_KEY_NOT_LISTED, f"key owner {owner!r} is not the issuer {issuer.get('id')!r}"
        )
    if listed and creator not in listed:
        return proof, CheckResult.of(
            "issuer_key", Reason.ISSUER_KEY_NOT_LISTED, f"the issuer does not list {creator} as its key"
        )
    return proof, CheckResult.of("issuer_key", Reason.ISSUER_KEY_LISTED, f"{creator} is owned by {owner}")


def _revocation(assertion: Mapping[str, Any], issuer: Mapping[str, Any], fetcher: Fetcher) -> CheckResult:
    url = issuer.get("revocationList")
    if not isinstance(url, str):
        return CheckResult.of("status", Reason.STATUS_NONE, "the issuer publishes no revocation list")
    try:
        document = _get_json(fetcher, url)
    except FetchError as exc:
        return CheckResult.of("status", Reason.STATUS_UNREACHABLE, f"revocation list {url} could not be fetched: {exc}")
    entries = document.get("revokedAssertions") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        return CheckResult.of("status", Reason.STATUS_LIST_INVALID, f"{url} has no revokedAssertions list")
    ids = {assertion.get("id"), assertion.get("uid")} - {None}
    for entry in entries:
        entry_id = (entry.get("id") or entry.get("uid")) if isinstance(entry, Mapping) else entry
        if entry_id in ids:
            reason = entry.get("revocationReason") if isinstance(entry, Mapping) else None
            return CheckResult.of(
                "status", Reason.STATUS_REVOKED, f"revoked: {reason}" if reason else f"revoked, listed in {url}"
            )
    return CheckResult.of("status", Reason.STATUS_ACTIVE, f"not listed in {url}")


def _normalised(
    assertion: dict[str, Any],
    badge: dict[str, Any],
    issuer: dict[str, Any],
    kind: Literal["hosted", "signed"],
    checks: tuple[CheckResult, ...],
) -> Ob2Assertion:
    recipient = assertion.get("recipient")
    return Ob2Assertion(
        assertion=assertion,
        badge=badge,
        issuer=issuer,
        recipient=dict(recipient) if isinstance(recipient, Mapping) else {},
        issued_on=assertion.get("issuedOn") if isinstance(assertion.get("issuedOn"), str) else None,
        expires=assertion.get("expires") if isinstance(assertion.get("expires"), str) else None,
        image=_image_of(assertion) or _image_of(badge),
        verification_type=kind,
        checks=checks,
    )
