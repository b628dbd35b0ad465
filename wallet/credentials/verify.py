"""The verification pipeline: one report, five named checks, for a credential a learner holds.

Checks (names are stable; the API and UI show them):

``proof``
    The credential's signature: a Data Integrity proof (``eddsa-rdfc-2022``, ``eddsa-jcs-2022``,
    legacy ``Ed25519Signature2020``) or a VC-JWT (EdDSA, ES256, RS256).
``issuer_key``
    The key that signed belongs to the issuer: a ``did:key``/``did:jwk`` method of the issuer DID itself,
    a method the issuer's ``did:web`` document lists under ``assertionMethod``, or one the issuer's https
    profile lists (``verificationMethod``, ``assertionMethod`` or ``publicKey``). A valid signature by
    somebody else's key proves nothing about the issuer.
``validity``
    ``validFrom``/``validUntil`` (VC 2.0) or ``issuanceDate``/``expirationDate`` (VC 1.1) against ``now``.
``status``
    Every ``credentialStatus`` entry (Bitstring Status List, 1EdTech Revocation List), the status list
    credential's own proof included.
``shape``
    The properties VC and Open Badges 3.0 require (OB 3.0 only for ``OpenBadgeCredential`` /
    ``AchievementCredential``).

Outcome rule (what a user is told): ``invalid`` if any check failed; else ``indeterminate`` if any check
could not be completed (a server was unreachable, a context is not bundled); else ``valid``. Anything
that could not be established is *never* reported as valid.

Network: every fetch goes through the caller's ``fetch_json`` (use ``GuardedFetcher.get_json``); with
``fetch_json=None`` the checks that need the network are indeterminate. Results are not cached here:
status changes over time and the right cache key (credential hash plus a time bucket) belongs to the
caller, who also owns the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote

from wallet.credentials import dataintegrity, jsontext, multikey
from wallet.credentials import jwt as vcjwt
from wallet.credentials.status_list import check_status
from wallet.credentials.timestamps import parse_timestamp

CheckOutcome = Literal["passed", "failed", "indeterminate", "skipped"]
ReportOutcome = Literal["valid", "invalid", "indeterminate"]
FetchJson = Callable[[str], Any]
DidWebResolver = Callable[[str], Mapping[str, Any]]

VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
CHECK_NAMES = ("proof", "issuer_key", "validity", "status", "shape")


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: CheckOutcome
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "outcome": self.outcome, "detail": self.detail}


def overall_outcome(checks: tuple[CheckResult, ...] | list[CheckResult]) -> ReportOutcome:
    """``invalid`` if any check failed, else ``indeterminate`` if any was, else ``valid``."""
    outcomes = {check.outcome for check in checks}
    if "failed" in outcomes:
        return "invalid"
    if "indeterminate" in outcomes:
        return "indeterminate"
    return "valid"


@dataclass(frozen=True)
class VerificationReport:
    """The checks, in :data:`CHECK_NAMES` order, and the credential as decoded (VC-JWT claims merged)."""

    checks: tuple[CheckResult, ...]
    credential: dict[str, Any] | None
    proof_format: Literal["data-integrity", "vc-jwt"] | None = None
    verification_method: str | None = None
    issuer_id: str | None = field(default=None)

    @property
    def outcome(self) -> ReportOutcome:
        return overall_outcome(self.checks)

    def check(self, name: str) -> CheckResult:
        return next(check for check in self.checks if check.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "format": self.proof_format,
            "issuer": self.issuer_id,
            "verificationMethod": self.verification_method,
            "checks": [check.to_dict() for check in self.checks],
        }


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def did_web_url(did: str) -> str:
    """The https URL of a ``did:web`` DID's document (did:web method spec, "Read")."""
    parts = did.split("#", 1)[0].split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise ValueError(f"not a did:web DID: {did}")
    host = unquote(parts[2])
    if "/" in host or "@" in host:
        raise ValueError(f"malformed did:web host: {did}")
    path = "/".join(unquote(part) for part in parts[3:])
    return f"https://{host}/{path}/did.json" if path else f"https://{host}/.well-known/did.json"


class _Keys:
    """Resolves verification methods and issuer documents for one verification, fetching each URL once."""

    def __init__(self, fetch_json: FetchJson | None, resolve_did_web: DidWebResolver | None) -> None:
        self._fetch_json = fetch_json
        self._resolve_did_web = resolve_did_web
        self._documents: dict[str, Any] = {}

    def document(self, url: str) -> Mapping[str, Any]:
        """The JSON at ``url`` (a DID resolves to its DID document); LookupError when unreachable."""
        if url in self._documents:
            cached = self._documents[url]
            if isinstance(cached, Exception):
                raise LookupError(str(cached))
            return cached
        try:
            if url.startswith("did:web:"):
                if self._resolve_did_web is not None:
                    document = self._resolve_did_web(url)
                elif self._fetch_json is not None:
                    document = self._fetch_json(did_web_url(url))
                else:
                    raise LookupError("no network access to resolve did:web")
            elif url.startswith("did:key:"):
                document = multikey.did_key_document(url)
            elif url.startswith(("https://", "http://")):
                if self._fetch_json is None:
                    raise LookupError("no network access to fetch the issuer's keys")
                document = self._fetch_json(url)
            else:
                raise ValueError(f"unsupported identifier {url}")
            if not isinstance(document, Mapping):
                raise ValueError(f"{url} is not a JSON object")
        except ValueError as exc:
            self._documents[url] = exc
            raise
        except Exception as exc:
            self._documents[url] = exc
            raise LookupError(f"{url} could not be fetched: {exc}") from exc
        self._documents[url] = document
        return document

    @staticmethod
    def methods(document: Mapping[str, Any], *relations: str) -> list[Any]:
        found: list[Any] = []
        for relation in relations:
            found.extend(_as_list(document.get(relation)))
        return found

    @staticmethod
    def _absolute(method_id: str, base: str) -> str:
        return base + method_id if method_id.startswith("#") else method_id

    def find_method(self, document: Mapping[str, Any], method: str, *relations: str) -> Mapping[str, Any] | None:
        """The method object for ``method`` in ``document`` (listed by id or embedded), if any."""
        base = str(document.get("id", ""))
        listed = self.methods(document, *relations)
        embedded = [
            m for m in self.methods(document, "verificationMethod", "publicKey", *relations) if isinstance(m, Mapping)
        ]
        for item in listed:
            if isinstance(item, str) and self._absolute(item, base) == method:
                for candidate in embedded:
                    if self._absolute(str(candidate.get("id", "")), base) == method:
                        return candidate
                return {"id": method}
            if isinstance(item, Mapping) and self._absolute(str(item.get("id", "")), base) == method:
                return item
        return None

    def public_key(self, method: str) -> vcjwt.PublicKey:
        """The public key of verification method ``method`` (the ``resolve_key`` the proof checkers take)."""
        if method.startswith("did:key:"):
            return multikey.resolve_did_key(method)
        if method.startswith("did:jwk:"):
            return vcjwt.did_jwk_key(method)
        base = method.split("#", 1)[0]
        document = self.document(base)
        if document.get("id") == method or base == method:
            entry: Mapping[str, Any] | None = document
        else:
            entry = self.find_method(document, method, "verificationMethod", "assertionMethod", "publicKey")
        if entry is None:
            raise ValueError(f"{base} does not list verification method {method}")
        return _key_from_method(entry, method)

    def controls(self, issuer_id: str, method: str | None, jwk: Mapping[str, Any] | None) -> CheckResult:
        """Whether ``method`` (or, for a token with an embedded key, ``jwk``) belongs to ``issuer_id``."""
        name = "issuer_key"
        if method is None:
            if issuer_id.startswith("did:jwk:") and jwk is not None:
                try:
                    same = vcjwt.did_jwk_key(issuer_id) == vcjwt.jwk_to_public_key(jwk)
                except ValueError as exc:
                    return CheckResult(name, "failed", str(exc))
                if same:
                    return CheckResult(name, "passed", "the embedded key is the issuer's did:jwk")
            return CheckResult(name, "failed", "the token embeds its own key; nothing ties it to the issuer")
        method_did = method.split("#", 1)[0]
        if issuer_id.startswith(("did:key:", "did:jwk:")):
            if method_did == issuer_id:
                return CheckResult(name, "passed", f"{method} is a key of the issuer {issuer_id}")
            return CheckResult(name, "failed", f"{method} is not a key of the issuer {issuer_id}")
        if issuer_id.startswith("did:") and not issuer_id.startswith("did:web:"):
            return CheckResult(name, "indeterminate", f"DID method of {issuer_id} is not supported")
        try:
            document = self.document(issuer_id)
        except LookupError as exc:
            return CheckResult(name, "indeterminate", f"issuer {issuer_id} could not be resolved: {exc}")
        except ValueError as exc:
            return CheckResult(name, "failed", f"issuer {issuer_id}: {exc}")
        relations = (
            ("assertionMethod",)
            if issuer_id.startswith("did:")
            else (
                "verificationMethod",
                "assertionMethod",
                "publicKey",
            )
        )
        if self.find_method(document, method, *relations) is not None:
            return CheckResult(name, "passed", f"{issuer_id} lists {method}")
        return CheckResult(name, "failed", f"{issuer_id} does not list {method} as an assertion key")


def _key_from_method(entry: Mapping[str, Any], method: str) -> vcjwt.PublicKey:
    if isinstance(entry.get("publicKeyMultibase"), str):
        return multikey.ed25519_public_key_from_multibase(entry["publicKeyMultibase"])
    if isinstance(entry.get("publicKeyJwk"), Mapping):
        return vcjwt.jwk_to_public_key(entry["publicKeyJwk"])
    if entry.get("kty"):
        return vcjwt.jwk_to_public_key(entry)
    raise ValueError(f"verification method {method} carries no usable public key")


def _parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a date-time string")
    parsed = parse_timestamp(value)
    if parsed is None:
        raise ValueError(f"{name} {value!r} is not an ISO 8601 date-time")
    return parsed


def check_validity(credential: Mapping[str, Any], *, now: datetime) -> CheckResult:
    """The credential's validity window against ``now`` (VC 2.0 names first, then VC 1.1)."""
    contexts = _as_list(credential.get("@context"))
    start_name = "validFrom" if "validFrom" in credential else "issuanceDate"
    end_name = "validUntil" if "validUntil" in credential else "expirationDate"
    try:
        start = _parse_time(credential[start_name], start_name) if start_name in credential else None
        end = _parse_time(credential[end_name], end_name) if end_name in credential else None
    except ValueError as exc:
        return CheckResult("validity", "failed", str(exc))
    if start is None and VC1_CONTEXT in contexts:
        return CheckResult("validity", "failed", "issuanceDate is required by VC 1.1")
    if start is not None and now < start:
        return CheckResult("validity", "failed", f"not valid before {start.isoformat()}")
    if end is not None and now >= end:
        return CheckResult("validity", "failed", f"expired at {end.isoformat()}")
    if end is not None:
        return CheckResult("validity", "passed", f"valid until {end.isoformat()}")
    return CheckResult("validity", "passed", "no expiry")


def _types(value: Any) -> set[str]:
    return {
        item for item in _as_list(value.get("type") if isinstance(value, Mapping) else None) if isinstance(item, str)
    }


def check_shape(credential: Mapping[str, Any]) -> CheckResult:
    """The properties VC 1.1/2.0 and (for Open Badges) OB 3.0 require."""
    problems: list[str] = []
    contexts = _as_list(credential.get("@context"))
    if not contexts or contexts[0] not in (VC1_CONTEXT, VC2_CONTEXT):
        problems.append("@context must start with the VC 1.1 or 2.0 context")
    types = _types(credential)
    if "VerifiableCredential" not in types:
        problems.append("type must include VerifiableCredential")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not issuer_id:
        problems.append("issuer (or issuer.id) is required")
    subjects = _as_list(credential.get("credentialSubject"))
    if not subjects or not all(isinstance(subject, Mapping) for subject in subjects):
        problems.append("credentialSubject is required")
    if types & OB3_TYPES:
        if not isinstance(credential.get("name"), str):
            problems.append("an OpenBadgeCredential needs a name")
        if not isinstance(issuer, Mapping) or "Profile" not in _types(issuer):
            problems.append("issuer must be a Profile object with id and type Profile")
        for subject in subjects:
            if not isinstance(subject, Mapping):
                continue
            if "AchievementSubject" not in _types(subject):
                problems.append("credentialSubject type must include AchievementSubject")
            if not subject.get("id") and not subject.get("identifier"):
                problems.append("credentialSubject needs an id or an identifier")
            achievement = subject.get("achievement")
            if not isinstance(achievement, Mapping):
                problems.append("credentialSubject.achievement is required")
                continue
            missing = [key for key in ("id", "name", "description") if not isinstance(achievement.get(key), str)]
            if not isinstance(achievement.get("criteria"), Mapping):
                missing.append("criteria")
            if "Achievement" not in _types(achievement):
                missing.append("type Achievement")
            if missing:
                problems.append("achievement lacks " + ", ".join(missing))
    if problems:
        return CheckResult("shape", "failed", "; ".join(problems))
    kind = "Open Badges 3.0 credential" if types & OB3_TYPES else "verifiable credential"
    return CheckResult("shape", "passed", f"well-formed {kind}")


def _proof_result(check: Any) -> CheckResult:
    if check.ok:
        return CheckResult(
            "proof", "passed", f"{check.cryptosuite} signature by {check.verification_method or 'embedded key'}"
        )
    return CheckResult("proof", "indeterminate" if check.indeterminate else "failed", check.reason or "proof invalid")


def _check_statuses(
    credential: Mapping[str, Any], *, keys: _Keys, fetch_json: FetchJson | None, now: datetime
) -> CheckResult:
    entries = _as_list(credential.get("credentialStatus"))
    if not entries:
        return CheckResult("status", "skipped", "the credential has no credentialStatus")

    def fetch(url: str) -> Any:
        if fetch_json is None:
            raise LookupError("no network access to fetch the status list")
        return fetch_json(url)

    def list_proof_ok(list_credential: dict[str, Any]) -> bool:
        return dataintegrity.verify(list_credential, resolve_key=keys.public_key).ok

    results = [
        check_status(
            entry if isinstance(entry, Mapping) else {},
            fetch_json=fetch,
            credential_id=credential.get("id"),
            verify_list=list_proof_ok,
            now=now,
        )
        for entry in entries
    ]
    bad = [result for result in results if result.state in ("revoked", "suspended")]
    if bad:
        return CheckResult("status", "failed", "; ".join(result.reason for result in bad))
    unknown = [result for result in results if result.state == "unknown"]
    if unknown:
        return CheckResult("status", "indeterminate", "; ".join(result.reason for result in unknown))
    return CheckResult("status", "passed", "; ".join(result.reason for result in results))


def verify_credential(
    data: Mapping[str, Any] | str,
    *,
    now: datetime,
    fetch_json: FetchJson | None,
    resolve_did_web: DidWebResolver | None = None,
) -> VerificationReport:
    """Verify a credential given as JSON (a dict, or its text) or as a VC-JWT; never raises for bad input.

    ``now`` must be timezone-aware. ``fetch_json`` fetches issuer profiles, keys and status lists;
    ``resolve_did_web`` (DID → DID document) overrides how ``did:web`` issuers are resolved.
    """
    keys = _Keys(fetch_json, resolve_did_web)
    jwk: Mapping[str, Any] | None = None
    if isinstance(data, str) and data.strip().startswith("{"):
        try:
            data = jsontext.loads(data)
        except ValueError as exc:
            return _unreadable(f"not valid JSON: {exc}")
    if isinstance(data, str):
        decoded = vcjwt.verify_vc_jwt(data, resolve_key=keys.public_key)
        if decoded.credential is None:
            return _unreadable(decoded.check.reason)
        credential: dict[str, Any] = decoded.credential
        proof_check: Any = decoded.check
        proof_format: Literal["data-integrity", "vc-jwt"] = "vc-jwt"
        method = decoded.header.get("kid") if isinstance(decoded.header.get("kid"), str) else None
        jwk = decoded.header.get("jwk") if isinstance(decoded.header.get("jwk"), Mapping) else None
    elif isinstance(data, Mapping):
        credential = dict(data)
        proof_check = dataintegrity.verify(credential, resolve_key=keys.public_key)
        proof_format = "data-integrity"
        method = proof_check.verification_method or _first_method(credential)
    else:
        return _unreadable("a credential must be a JSON object or a VC-JWT string")

    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if isinstance(issuer_id, str) and issuer_id:
        issuer_check = keys.controls(issuer_id, method, jwk)
    else:
        issuer_check = CheckResult("issuer_key", "failed", "the credential names no issuer")
    checks = (
        _proof_result(proof_check),
        issuer_check,
        check_validity(credential, now=now),
        _check_statuses(credential, keys=keys, fetch_json=fetch_json, now=now),
        check_shape(credential),
    )
    return VerificationReport(
        checks=checks,
        credential=credential,
        proof_format=proof_format,
        verification_method=method,
        issuer_id=issuer_id if isinstance(issuer_id, str) else None,
    )


def _first_method(credential: Mapping[str, Any]) -> str | None:
    for proof in _as_list(credential.get("proof")):
        if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
            return proof["verificationMethod"]
    return None


def _unreadable(reason: str) -> VerificationReport:
    checks = (
        CheckResult("proof", "failed", reason),
        *(CheckResult(name, "skipped", "the credential could not be read") for name in CHECK_NAMES[1:]),
    )
    return VerificationReport(checks=checks, credential=None)
