"""The verification pipeline: one report, five named checks, for a credential a learner holds.

Checks (names are stable; the API and UI show them):

``proof``
    The credential's signature: a Data Integrity proof (``eddsa-rdfc-2022`` and its draft name
    ``eddsa-2022``, ``eddsa-jcs-2022``, ``ecdsa-rdfc-2019``, ``ecdsa-jcs-2019``, legacy
    ``Ed25519Signature2020``) or a VC-JWT (EdDSA, ES256, ES384, RS256, PS256).
``issuer_key``
    The key that signed belongs to the issuer: a ``did:key``/``did:jwk`` issuer's own key, a method the
    issuer's ``did:web`` document lists under ``assertionMethod``, or one the issuer's https profile lists
    (``verificationMethod``, ``assertionMethod`` or ``publicKey``). A valid signature by somebody else's
    key proves nothing about the issuer; an issuer id that cannot be looked up (``urn:uuid:…``) leaves
    the question open (``issuer_key.issuer_not_dereferenceable``).
``validity``
    ``validFrom``/``validUntil`` (VC 2.0) or ``issuanceDate``/``expirationDate`` (VC 1.1) against ``now``.
``status``
    Every ``credentialStatus`` entry (Bitstring Status List, any ``statusSize``, 1EdTech Revocation
    List), the status list credential's own proof included.
``shape``
    The properties VC and Open Badges 3.0 require (OB 3.0 only for ``OpenBadgeCredential`` /
    ``AchievementCredential``, and ``EndorsementCredential``'s subject), as 1EdTech's JSON schema
    requires them; what only its validator warns about is a warning.

Every check carries a :class:`~wallet.credentials.reasons.Reason` (``reason``) and may carry
``warnings``. Outcome rule (what a user is told): ``invalid`` if any check failed — and checks fail only
with evidence against the credential; else ``indeterminate`` if any check could not be completed (a
server was unreachable, a context is not bundled, a suite or DID method is not implemented); else
``valid``. Anything that could not be established is *never* reported as valid, and warnings never
change the outcome. docs/credentials.md ("Verdicts") lists every code.

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
from wallet.credentials.multikey import InvalidKey, UnsupportedKey
from wallet.credentials.reasons import OUTCOME_OF, Reason
from wallet.credentials.status_list import check_status
from wallet.credentials.timestamps import parse_timestamp

CheckOutcome = Literal["passed", "failed", "indeterminate", "skipped"]
ReportOutcome = Literal["valid", "invalid", "indeterminate"]
FetchJson = Callable[[str], Any]
DidWebResolver = Callable[[str], Mapping[str, Any]]

VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
ENDORSEMENT_TYPE = "EndorsementCredential"
CHECK_NAMES = ("proof", "issuer_key", "validity", "status", "shape")


@dataclass(frozen=True)
class Finding:
    """A warning: a conformance problem that does not change the outcome."""

    reason: Reason
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason.value, "detail": self.detail}


@dataclass(frozen=True)
class CheckResult:
    """One check: its ``outcome``, the stable ``reason`` code, ``detail`` in words, and any warnings."""

    name: str
    outcome: CheckOutcome
    detail: str
    reason: Reason
    warnings: tuple[Finding, ...] = ()

    @classmethod
    def of(cls, name: str, reason: Reason, detail: str, warnings: tuple[Finding, ...] = ()) -> CheckResult:
        """The result ``reason`` stands for (its outcome from :data:`~wallet.credentials.reasons.OUTCOME_OF`)."""
        outcome = OUTCOME_OF[reason]
        if outcome == "warning":
            raise ValueError(f"{reason} is a warning, not a check result")
        return cls(name, outcome, detail, reason, warnings)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "detail": self.detail,
            "reason": self.reason.value,
            "warnings": [finding.to_dict() for finding in self.warnings],
        }


def overall_outcome(checks: tuple[CheckResult, ...] | list[CheckResult]) -> ReportOutcome:
    """``invalid`` if any check failed, else ``indeterminate`` if any was, else ``valid``."""
    outcomes = {check.outcome for check in checks}
    if "failed" in outcomes:
        return "invalid"
    if "indeterminate" in outcomes:
        return "indeterminate"
    return "valid"


def deciding_reasons(checks: tuple[CheckResult, ...] | list[CheckResult]) -> list[str]:
    """The codes behind the outcome: the failed checks' (invalid), else the indeterminate ones'."""
    for outcome in ("failed", "indeterminate"):
        found = [check.reason.value for check in checks if check.outcome == outcome]
        if found:
            return found
    return []


def report_dict(checks: tuple[CheckResult, ...] | list[CheckResult], **extra: Any) -> dict[str, Any]:
    """The wire form of a report: outcome, ``reasons``, ``warnings`` (with their check) and the checks."""
    return {
        "outcome": overall_outcome(checks),
        **extra,
        "reasons": deciding_reasons(checks),
        "warnings": [{"check": check.name, **finding.to_dict()} for check in checks for finding in check.warnings],
        "checks": [check.to_dict() for check in checks],
    }


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

    @property
    def reasons(self) -> list[str]:
        return deciding_reasons(self.checks)

    def check(self, name: str) -> CheckResult:
        return next(check for check in self.checks if check.name == name)

    def to_dict(self) -> dict[str, Any]:
        return report_dict(
            self.checks,
            format=self.proof_format,
            issuer=self.issuer_id,
            verificationMethod=self.verification_method,
        )


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


def _dereferenceable(identifier: str) -> Literal["did-key", "did-web", "did-other", "url", "none"]:
    if identifier.startswith(("did:key:", "did:jwk:")):
        return "did-key"
    if identifier.startswith("did:web:"):
        return "did-web"
    if identifier.startswith("did:"):
        return "did-other"
    if identifier.startswith(("https://", "http://")):
        return "url"
    return "none"


class _Keys:
    """Resolves verification methods and issuer documents for one verification, fetching each URL once.

    Errors mean: :class:`InvalidKey` a malformed key (invalid), :class:`UnsupportedKey` a key type or DID
    method we do not implement, ``LookupError`` anything we could not reach or find (could not check).
    """

    def __init__(self, fetch_json: FetchJson | None, resolve_did_web: DidWebResolver | None) -> None:
        self._fetch_json = fetch_json
        self._resolve_did_web = resolve_did_web
        self._documents: dict[str, Any] = {}

    def document(self, url: str) -> Mapping[str, Any]:
        """The JSON at ``url`` (a DID resolves to its DID document); LookupError when unreachable."""
        if url in self._documents:
            cached = self._documents[url]
            if isinstance(cached, Exception):
                raise cached
            return cached
        try:
            document = self._load(url)
            if not isinstance(document, Mapping):
                raise LookupError(f"{url} is not a JSON object")
        except (InvalidKey, UnsupportedKey, LookupError) as exc:
            self._documents[url] = exc
            raise
        except Exception as exc:
            error = LookupError(f"{url} could not be fetched: {exc}")
            self._documents[url] = error
            raise error from exc
        self._documents[url] = document
        return document

    def _load(self, url: str) -> Any:
        kind = _dereferenceable(url)
        if kind == "did-web":
            if self._resolve_did_web is not None:
                return self._resolve_did_web(url)
            if self._fetch_json is None:
                raise LookupError("no network access to resolve did:web")
            return self._fetch_json(did_web_url(url))
        if url.startswith("did:key:"):
            try:
                return multikey.did_key_document(url)
            except UnsupportedKey:
                raise
            except ValueError as exc:
                raise InvalidKey(str(exc)) from exc
        if kind == "url":
            if self._fetch_json is None:
                raise LookupError("no network access to fetch the issuer's keys")
            return self._fetch_json(url)
        if kind in ("did-other", "did-key"):
            raise UnsupportedKey(f"DID method of {url} is not supported for documents")
        raise LookupError(f"{url} cannot be looked up")

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
            return multikey.public_key_from_did_key(method)
        if method.startswith("did:jwk:"):
            return vcjwt.did_jwk_key(method)
        kind = _dereferenceable(method)
        if kind == "did-other":
            raise UnsupportedKey(f"DID method of {method.split('#', 1)[0]} is not supported")
        if kind == "none":
            raise LookupError(f"verification method {method} cannot be looked up")
        base = method.split("#", 1)[0]
        document = self.document(base)
        if document.get("id") == method or base == method:
            entry: Mapping[str, Any] | None = document
        else:
            entry = self.find_method(document, method, "verificationMethod", "assertionMethod", "publicKey")
        if entry is None:
            raise LookupError(f"{base} does not list verification method {method}")
        return _key_from_method(entry, method)

    def issuer_keys(self, issuer_id: str) -> list[tuple[str, vcjwt.PublicKey]]:
        """Every (method id, key) the issuer's own document offers for assertions (for keyless VC-JWTs)."""
        kind = _dereferenceable(issuer_id)
        if kind == "did-key":
            method = issuer_id if issuer_id.startswith("did:jwk:") else None
            if method is None:
                multibase = issuer_id.removeprefix("did:key:")
                method = f"{issuer_id}#{multibase}"
            else:
                method = f"{issuer_id}#0"
            return [(method, self.public_key(method))]
        if kind == "did-other":
            raise UnsupportedKey(f"DID method of {issuer_id} is not supported")
        if kind == "none":
            raise LookupError(f"the issuer id {issuer_id} cannot be looked up")
        document = self.document(issuer_id)
        relations = (
            ("assertionMethod",) if kind == "did-web" else ("verificationMethod", "assertionMethod", "publicKey")
        )
        base = str(document.get("id", issuer_id))
        found: list[tuple[str, vcjwt.PublicKey]] = []
        for item in self.methods(document, *relations):
            method_id = item if isinstance(item, str) else item.get("id") if isinstance(item, Mapping) else None
            if not isinstance(method_id, str):
                continue
            method_id = self._absolute(method_id, base)
            try:
                key = self.public_key(method_id) if isinstance(item, str) else _key_from_method(item, method_id)
            except (ValueError, LookupError):
                continue
            if all(method_id != seen for seen, _ in found):
                found.append((method_id, key))
        return found

    def controls(self, issuer_id: str, method: str | None, embedded: vcjwt.PublicKey | None) -> CheckResult:
        """Whether ``method`` (or, for a token with an embedded ``jwk``, that key) belongs to ``issuer_id``."""
        name = "issuer_key"
        if method is None:
            return self._embedded_key(issuer_id, embedded)
        method_did = method.split("#", 1)[0]
        kind = _dereferenceable(issuer_id)
        if kind == "did-key":
            if method_did == issuer_id:
                return CheckResult.of(
                    name, Reason.ISSUER_KEY_IS_ISSUER_DID, f"{method} is a key of the issuer {issuer_id}"
                )
            return CheckResult.of(name, Reason.ISSUER_KEY_OTHER_DID, f"{method} is not a key of the issuer {issuer_id}")
        if kind == "did-other":
            return CheckResult.of(
                name, Reason.ISSUER_KEY_DID_METHOD_UNSUPPORTED, f"DID method of {issuer_id} is not supported"
            )
        if kind == "none":
            return CheckResult.of(
                name,
                Reason.ISSUER_KEY_ISSUER_NOT_DEREFERENCEABLE,
                f"the issuer id {issuer_id} cannot be looked up, so nothing ties {method} to it",
            )
        try:
            document = self.document(issuer_id)
        except (LookupError, ValueError) as exc:
            return CheckResult.of(
                name, Reason.ISSUER_KEY_ISSUER_UNRESOLVABLE, f"issuer {issuer_id} could not be resolved: {exc}"
            )
        relations = (
            ("assertionMethod",) if kind == "did-web" else ("verificationMethod", "assertionMethod", "publicKey")
        )
        if self.find_method(document, method, *relations) is not None:
            return CheckResult.of(name, Reason.ISSUER_KEY_LISTED, f"{issuer_id} lists {method}")
        return CheckResult.of(
            name, Reason.ISSUER_KEY_NOT_LISTED, f"{issuer_id} does not list {method} as an assertion key"
        )

    def _embedded_key(self, issuer_id: str, embedded: vcjwt.PublicKey | None) -> CheckResult:
        name = "issuer_key"
        if embedded is None:
            return CheckResult.of(name, Reason.ISSUER_KEY_NOT_CHECKED, "no verified signing key to compare")
        kind = _dereferenceable(issuer_id)
        if kind == "none":
            return CheckResult.of(
                name,
                Reason.ISSUER_KEY_ISSUER_NOT_DEREFERENCEABLE,
                f"the issuer id {issuer_id} cannot be looked up, so nothing ties the embedded key to it",
            )
        if kind == "did-other":
            return CheckResult.of(
                name, Reason.ISSUER_KEY_DID_METHOD_UNSUPPORTED, f"DID method of {issuer_id} is not supported"
            )
        try:
            keys = self.issuer_keys(issuer_id)
        except (InvalidKey, UnsupportedKey) as exc:
            return CheckResult.of(
                name, Reason.ISSUER_KEY_OTHER_DID, f"the issuer id {issuer_id} is no usable key: {exc}"
            )
        except (LookupError, ValueError) as exc:
            return CheckResult.of(
                name, Reason.ISSUER_KEY_ISSUER_UNRESOLVABLE, f"issuer {issuer_id} could not be resolved: {exc}"
            )
        for method_id, key in keys:
            if vcjwt.same_key(key, embedded):
                reason = Reason.ISSUER_KEY_IS_ISSUER_DID if kind == "did-key" else Reason.ISSUER_KEY_LISTED
                return CheckResult.of(name, reason, f"the embedded key is the issuer's {method_id}")
        reason = Reason.ISSUER_KEY_OTHER_DID if kind == "did-key" else Reason.ISSUER_KEY_NOT_LISTED
        return CheckResult.of(name, reason, f"the embedded key is not one {issuer_id} lists")


def _key_from_method(entry: Mapping[str, Any], method: str) -> vcjwt.PublicKey:
    if isinstance(entry.get("publicKeyMultibase"), str):
        return multikey.public_key_from_multibase(entry["publicKeyMultibase"])
    if isinstance(entry.get("publicKeyJwk"), Mapping):
        return vcjwt.jwk_to_public_key(entry["publicKeyJwk"])
    if entry.get("kty"):
        return vcjwt.jwk_to_public_key(entry)
    raise UnsupportedKey(f"verification method {method} carries no public key in a form we read")


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
    name = "validity"
    try:
        start = _parse_time(credential[start_name], start_name) if start_name in credential else None
        end = _parse_time(credential[end_name], end_name) if end_name in credential else None
    except ValueError as exc:
        return CheckResult.of(name, Reason.VALIDITY_MALFORMED_DATE, str(exc))
    if start is None and VC1_CONTEXT in contexts:
        return CheckResult.of(name, Reason.VALIDITY_MISSING_ISSUANCE_DATE, "issuanceDate is required by VC 1.1")
    if start is not None and now < start:
        return CheckResult.of(name, Reason.VALIDITY_NOT_YET_VALID, f"not valid before {start.isoformat()}")
    if end is not None and now >= end:
        return CheckResult.of(name, Reason.VALIDITY_EXPIRED, f"expired at {end.isoformat()}")
    if end is not None:
        return CheckResult.of(name, Reason.VALIDITY_CURRENT, f"valid until {end.isoformat()}")
    return CheckResult.of(name, Reason.VALIDITY_CURRENT, "no expiry")


def _types(value: Any) -> set[str]:
    return {
        item for item in _as_list(value.get("type") if isinstance(value, Mapping) else None) if isinstance(item, str)
    }


def check_shape(credential: Mapping[str, Any]) -> CheckResult:
    """The properties VC 1.1/2.0 and (for Open Badges) 1EdTech's OB 3.0 JSON schema require.

    What the schema does not require but 1EdTech's validator remarks on is a warning:
    an AchievementSubject with neither ``id`` nor ``identifier`` (the schema requires only ``type`` and
    ``achievement``), a credential without ``id`` (required by the schema's VC 1.1 base, optional in
    VC 2.0).
    """
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
    if problems:
        return CheckResult.of("shape", Reason.SHAPE_NOT_A_CREDENTIAL, "; ".join(problems))
    warnings: list[Finding] = []
    if types & OB3_TYPES:
        if not isinstance(credential.get("id"), str) or not credential.get("id"):
            warnings.append(Finding(Reason.SHAPE_CREDENTIAL_ID_MISSING, "the credential has no id"))
        if not isinstance(credential.get("name"), str):
            problems.append("an OpenBadgeCredential needs a name")
        if not isinstance(issuer, Mapping) or "Profile" not in _types(issuer):
            problems.append("issuer must be a Profile object with id and type Profile")
        for subject in subjects:
            if "AchievementSubject" not in _types(subject):
                problems.append("credentialSubject type must include AchievementSubject")
            if not subject.get("id") and not subject.get("identifier"):
                warnings.append(
                    Finding(
                        Reason.SHAPE_SUBJECT_UNIDENTIFIED,
                        "credentialSubject has neither id nor identifier: it does not say who it was issued to",
                    )
                )
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
    if ENDORSEMENT_TYPE in types:
        if not isinstance(credential.get("name"), str):
            problems.append("an EndorsementCredential needs a name")
        if not isinstance(issuer, Mapping) or "Profile" not in _types(issuer):
            problems.append("issuer must be a Profile object with id and type Profile")
        for subject in subjects:
            if "EndorsementSubject" not in _types(subject) or not isinstance(subject.get("id"), str):
                problems.append("credentialSubject must be an EndorsementSubject with the id of what is endorsed")
    if problems:
        return CheckResult.of("shape", Reason.SHAPE_NOT_AN_OPEN_BADGE, "; ".join(problems), tuple(warnings))
    kind = (
        "Open Badges 3.0 credential"
        if types & OB3_TYPES
        else "Open Badges 3.0 endorsement"
        if ENDORSEMENT_TYPE in types
        else "verifiable credential"
    )
    return CheckResult.of("shape", Reason.SHAPE_CONFORMS, f"well-formed {kind}", tuple(warnings))


_WARNING_WORDS = {
    Reason.PROOF_CRYPTOSUITE_ALIAS: "eddsa-2022 is the draft name of eddsa-rdfc-2022; verified as that suite",
}


def _proof_result(check: Any) -> CheckResult:
    warnings = tuple(Finding(code, _WARNING_WORDS.get(code, code.value)) for code in check.warnings)
    if check.ok:
        return CheckResult.of(
            "proof",
            Reason.PROOF_VERIFIED,
            f"{check.cryptosuite} signature by {check.verification_method or 'embedded key'}",
            warnings,
        )
    return CheckResult.of("proof", check.code, check.reason or "proof invalid", warnings)


def _check_statuses(
    credential: Mapping[str, Any], *, keys: _Keys, fetch_json: FetchJson | None, now: datetime
) -> CheckResult:
    entries = _as_list(credential.get("credentialStatus"))
    if not entries:
        return CheckResult.of("status", Reason.STATUS_NONE, "the credential has no credentialStatus")

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
        revoked = any(result.state == "revoked" for result in bad)
        code = Reason.STATUS_REVOKED if revoked else Reason.STATUS_SUSPENDED
        return CheckResult.of("status", code, "; ".join(result.reason for result in bad))
    unknown = [result for result in results if result.state == "unknown"]
    if unknown:
        return CheckResult.of("status", unknown[0].code, "; ".join(result.reason for result in unknown))
    code = Reason.STATUS_MESSAGE if any(r.code == Reason.STATUS_MESSAGE for r in results) else Reason.STATUS_ACTIVE
    return CheckResult.of("status", code, "; ".join(result.reason for result in results))


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
    embedded: vcjwt.PublicKey | None = None
    if isinstance(data, str) and data.strip().startswith("{"):
        try:
            data = jsontext.loads(data)
        except ValueError as exc:
            return _unreadable(f"not valid JSON: {exc}")
    if isinstance(data, str):
        decoded = vcjwt.verify_vc_jwt(data, resolve_key=keys.public_key, resolve_issuer_keys=keys.issuer_keys)
        if decoded.credential is None:
            return _unreadable(decoded.check.reason, decoded.check.code)
        credential: dict[str, Any] = decoded.credential
        proof_check: Any = decoded.check
        proof_format: Literal["data-integrity", "vc-jwt"] = "vc-jwt"
        method = decoded.check.verification_method
        embedded = decoded.key if method is None else None
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
        issuer_check = keys.controls(issuer_id, method, embedded)
    else:
        issuer_check = CheckResult.of("issuer_key", Reason.ISSUER_KEY_NO_ISSUER, "the credential names no issuer")
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


def _unreadable(reason: str, code: Reason = Reason.CREDENTIAL_UNREADABLE) -> VerificationReport:
    if OUTCOME_OF.get(code) != "failed":
        code = Reason.CREDENTIAL_UNREADABLE
    not_checked = {
        "issuer_key": Reason.ISSUER_KEY_NOT_CHECKED,
        "validity": Reason.VALIDITY_NOT_CHECKED,
        "status": Reason.STATUS_NOT_CHECKED,
        "shape": Reason.SHAPE_NOT_CHECKED,
    }
    checks = (
        CheckResult.of("proof", code, reason),
        *(CheckResult.of(name, not_checked[name], "the credential could not be read") for name in CHECK_NAMES[1:]),
    )
    return VerificationReport(checks=checks, credential=None)
