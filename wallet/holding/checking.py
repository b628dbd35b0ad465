"""Read and verify whatever a learner hands us, and decide whether the wallet may hold it.

One path serves import, paste-to-verify, re-verification and the CLI, so a credential is judged the
same way everywhere. Decisions a learner would expect:

* an *invalid* credential (bad proof, wrong key, revoked, malformed) is refused, naming the failed checks;
* an *expired* one is held (it is still the learner's record) and shown as expired;
* an *indeterminate* one (a status list or key server was unreachable) is held with that report and
  re-checked later — it is never reported as valid;
* a JSON-LD context we do not bundle is refused (we would have to fetch code-like data from strangers
  to read it); a format we do not read is refused.

What is held is the credential itself: the JSON or JWS as received, the text baked into an image (the
image is rebuilt on export), and for a hosted OB 2.0 assertion the issuer's copy as served.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from wallet.credentials.baking import extract_baked
from wallet.credentials.fetcher import JSON_TYPES, FetchError, FetchForbidden, FetchResult
from wallet.credentials.jsonld import document_loader
from wallet.credentials.ob2 import Ob2Error, import_ob2
from wallet.credentials.parse import Detected, UnsupportedFormat, sniff
from wallet.credentials.reasons import Reason
from wallet.credentials.verify import CheckResult, report_dict, verify_credential
from wallet.errors import DomainError
from wallet.holding.summary import CredentialSummary, stored_format, summarise_detected, summarise_ob2

JWT_MEDIA_TYPE = "application/jwt"
JSON_MEDIA_TYPE = "application/json"
_JSON_MEDIA_TYPES = frozenset(
    {"application/json", "application/ld+json", "application/vc+ld+json", "application/vc", "application/vc+json"}
)
_JWT_MEDIA_TYPES = frozenset({"application/jwt", "application/vc+jwt", "application/vc+ld+jwt"})
FETCH_ACCEPT = (
    *JSON_TYPES,
    "application/vc+ld+json",
    "application/vc",
    "application/jwt",
    "application/vc+jwt",
    "text/plain",
    "image/png",
    "image/svg+xml",
)


class Fetcher(Protocol):
    """What :class:`wallet.credentials.fetcher.GuardedFetcher` offers (tests may pass their own)."""

    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult: ...


class _RecordingFetcher:
    """Remembers the bytes of every response, so a hosted assertion is held exactly as the issuer served it."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self.responses: dict[str, FetchResult] = {}

    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult:
        result = self._fetcher.get(url, accept=accept)
        self.responses[url] = result
        return result


@dataclass(frozen=True)
class Checked:
    """A credential as the wallet would hold it, with its verification report."""

    raw: bytes
    media_type: str
    summary: CredentialSummary
    report: dict[str, Any]
    now: dt.datetime = field(repr=False)

    @property
    def outcome(self) -> str:
        return str(self.report["outcome"])

    @property
    def expired(self) -> bool:
        return self.summary.expires_at is not None and self.summary.expires_at <= self.now

    def failed_checks(self) -> list[str]:
        return [check["name"] for check in self.report["checks"] if check["outcome"] == "failed"]

    def refusal_reasons(self) -> list[str]:
        """The failed checks that make the credential unacceptable (expiry alone does not)."""
        return [name for name in self.failed_checks() if not (name == "validity" and self.expired)]


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _unknown_contexts(document: Mapping[str, Any]) -> list[str]:
    contexts = document.get("@context")
    contexts = contexts if isinstance(contexts, list) else [contexts]
    known = document_loader.urls
    return [context for context in contexts if isinstance(context, str) and context not in known]


def _report(checks: tuple[CheckResult, ...], **extra: Any) -> dict[str, Any]:
    return report_dict(checks, **extra)


def _fetch_json(fetcher: Fetcher | None) -> Any:
    if fetcher is None:
        return None

    def fetch_json(url: str) -> Any:
        result = fetcher.get(url, accept=JSON_TYPES)
        try:
            return json.loads(result.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LookupError(f"{url} did not return JSON") from exc

    return fetch_json


def _offline_ob2(summary: CredentialSummary, why: str) -> dict[str, Any]:
    checks = tuple(
        CheckResult.of(name, Reason.CREDENTIAL_OFFLINE, why)
        for name in ("proof", "issuer_key", "validity", "status", "shape")
    )
    return _report(checks, format="ob2", issuer=summary.issuer_id)


def _check_ob2(
    detected: Detected, *, raw: bytes, media_type: str, fetcher: Fetcher | None, now: dt.datetime
) -> Checked:
    """OB 2.0 needs the issuer's server: the hosted copy, the BadgeClass, the key or revocation list."""
    source = detected.payload
    if fetcher is None and detected.kind == "ob2-url":
        raise DomainError(
            "credential.fetch_failed", "This badge points to its issuer's server; it cannot be checked offline."
        )
    if fetcher is None:
        summary = summarise_detected(detected)
        return Checked(raw, media_type, summary, _offline_ob2(summary, "not checked: offline"), now)
    recording = _RecordingFetcher(fetcher)
    try:
        imported = import_ob2(source, fetcher=recording, now=now)
    except Ob2Error as exc:
        raise DomainError(
            "credential.fetch_failed", f"The Open Badges 2.0 assertion could not be checked: {exc}"
        ) from exc
    report = _report(
        imported.checks, format="ob2", verificationType=imported.verification_type, issuer=imported.issuer.get("id")
    )
    summary = summarise_ob2(imported.assertion, imported.badge, imported.issuer)
    if imported.verification_type == "hosted":
        served = recording.responses.get(str(imported.assertion.get("id")))
        if served is not None:
            raw, media_type = served.body, _media_type(served.content_type) or JSON_MEDIA_TYPE
    return Checked(raw, media_type, summary, report, now)


def check_credential(
    data: bytes, *, content_type: str | None, fetcher: Fetcher | None, now: dt.datetime, max_bytes: int | None = None
) -> Checked:
    """Read ``data`` (any supported format), verify it and return what would be held; never stores.

    Raises ``credential.unsupported_format``, ``credential.unknown_context`` or ``credential.fetch_failed``
    when there is nothing to verify; a credential that was read always comes back with its report, even
    when invalid (callers decide: see :func:`require_acceptable`). ``fetcher=None`` checks offline:
    whatever needs the network is indeterminate.
    """
    media_type = _media_type(content_type)
    try:
        detected = sniff(data, content_type=media_type, **({"max_bytes": max_bytes} if max_bytes else {}))
    except UnsupportedFormat as exc:
        raise DomainError("credential.unsupported_format", f"Not a credential format we read: {exc}") from exc
    raw = data
    if detected.inner is not None:
        raw = _baked_text(data)
        detected = detected.inner
        media_type = JWT_MEDIA_TYPE if detected.kind in {"vc-jwt", "ob2-jws"} else JSON_MEDIA_TYPE
    elif detected.kind in {"vc-json", "ob2-json"} and media_type not in _JSON_MEDIA_TYPES:
        media_type = JSON_MEDIA_TYPE
    elif detected.kind in {"vc-jwt", "ob2-jws"} and media_type not in _JWT_MEDIA_TYPES:
        media_type = JWT_MEDIA_TYPE
    if detected.kind in {"ob2-json", "ob2-jws", "ob2-url"}:
        return _check_ob2(detected, raw=raw, media_type=media_type, fetcher=fetcher, now=now)
    if detected.kind == "vc-json":
        unknown = _unknown_contexts(detected.payload)
        if unknown:
            raise DomainError(
                "credential.unknown_context",
                f"The credential uses a JSON-LD context we do not know: {', '.join(unknown)}.",
                contexts=unknown,
            )
    verification = verify_credential(detected.payload, now=now, fetch_json=_fetch_json(fetcher))
    report = verification.to_dict()
    report["format"] = stored_format(detected.kind)
    summary = summarise_detected(detected)
    return Checked(raw, media_type, summary, report, now)


def _baked_text(image: bytes) -> bytes:
    """The baked text exactly as the image carries it (JSON whitespace and key order included)."""
    baked = extract_baked(image)
    if baked is None:
        raise DomainError("credential.unsupported_format", "The image carries no baked credential.")
    return baked.text.encode("utf-8")


def require_acceptable(checked: Checked) -> None:
    """Refuse an invalid credential with ``credential.invalid`` naming the failed checks."""
    reasons = checked.refusal_reasons()
    if reasons:
        details = "; ".join(
            f"{check['name']}: {check['detail']}" for check in checked.report["checks"] if check["name"] in reasons
        )
        raise DomainError(
            "credential.invalid",
            f"The credential is not valid ({details}).",
            failed_checks=reasons,
            verification=checked.report,
        )


def fetch_credential(url: str, *, fetcher: Fetcher) -> FetchResult:
    """GET a credential or hosted assertion by URL through the guarded fetcher."""
    try:
        return fetcher.get(url, accept=FETCH_ACCEPT)
    except FetchForbidden as exc:
        raise DomainError("credential.fetch_forbidden", f"That address may not be fetched: {exc}") from exc
    except FetchError as exc:
        raise DomainError("credential.fetch_failed", f"The credential could not be fetched: {exc}") from exc
