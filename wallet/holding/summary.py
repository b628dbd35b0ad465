"""What a held credential is about, read from its bytes: the searchable columns of a ``HeldCredential``.

Nothing here verifies anything — a summary is shown next to the verification report, never instead
of it. Reading is lenient: a missing or oddly typed property leaves its field empty rather than failing,
because the credential's own checks decide whether it is acceptable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from wallet.credentials.jwt import VcJwtError, decode_unverified, merge_vc_claims
from wallet.credentials.parse import Detected, UnsupportedFormat, sniff
from wallet.credentials.timestamps import parse_timestamp

StoredFormat = Literal["vc-json", "vc-jwt", "ob2"]

_FORMATS: dict[str, StoredFormat] = {"vc-json": "vc-json", "vc-jwt": "vc-jwt", "ob2-json": "ob2", "ob2-jws": "ob2"}


def _epoch_or_iso(value: Any) -> dt.datetime | None:
    return parse_timestamp(value, allow_epoch=True)


@dataclass(frozen=True)
class CredentialSummary:
    format: StoredFormat
    credential_id: str | None = None
    issuer_id: str | None = None
    issuer_name: str | None = None
    achievement_name: str | None = None
    achievement_id: str | None = None
    image_url: str | None = None
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


def content_hash(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _text(value: Any, limit: int = 500) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:limit]
    if isinstance(value, Mapping):
        return _text(value.get("en") or next(iter(value.values()), None), limit)
    return None


def _ref(value: Any) -> str | None:
    """An id or URL given either as a string or as an object with ``id``."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value[:2000] if isinstance(value, str) and value else None


def is_record(credential: Mapping[str, Any]) -> bool:
    """A CLR 2.0 ``ClrCredential``: a record *of* credentials, whose own name is the record's (its
    ``achievement`` list holds pathways, none of which is what the record is)."""
    types = credential.get("type")
    return "ClrCredential" in (types if isinstance(types, list) else [types])


def summarise_vc(credential: Mapping[str, Any], fmt: StoredFormat) -> CredentialSummary:
    issuer = credential.get("issuer")
    subject = _first(credential.get("credentialSubject"))
    achievement = _first(subject.get("achievement")) if isinstance(subject, Mapping) else None
    achievement = achievement if isinstance(achievement, Mapping) and not is_record(credential) else {}
    return CredentialSummary(
        format=fmt,
        credential_id=_ref(credential.get("id")),
        issuer_id=_ref(issuer),
        issuer_name=_text(issuer.get("name")) if isinstance(issuer, Mapping) else None,
        achievement_name=_text(achievement.get("name")) or _text(credential.get("name")),
        achievement_id=_ref(achievement.get("id")),
        image_url=_ref(achievement.get("image")) or _ref(credential.get("image")),
        issued_at=_epoch_or_iso(credential.get("validFrom") or credential.get("issuanceDate")),
        expires_at=_epoch_or_iso(credential.get("validUntil") or credential.get("expirationDate")),
    )


def summarise_ob2(assertion: Mapping[str, Any], badge: Any = None, issuer: Any = None) -> CredentialSummary:
    """An OB 2.0 assertion; ``badge``/``issuer`` are the fetched BadgeClass and Profile when known."""
    badge = badge if isinstance(badge, Mapping) else assertion.get("badge")
    badge_id = _ref(badge)
    badge = badge if isinstance(badge, Mapping) else {}
    issuer = issuer if isinstance(issuer, Mapping) else badge.get("issuer")
    return CredentialSummary(
        format="ob2",
        credential_id=_ref(assertion.get("id")),
        issuer_id=_ref(issuer),
        issuer_name=_text(issuer.get("name")) if isinstance(issuer, Mapping) else None,
        achievement_name=_text(badge.get("name")),
        achievement_id=badge_id,
        image_url=_ref(assertion.get("image")) or _ref(badge.get("image")),
        issued_at=_epoch_or_iso(assertion.get("issuedOn")),
        expires_at=_epoch_or_iso(assertion.get("expires")),
    )


def summarise_detected(detected: Detected) -> CredentialSummary:
    """The summary of sniffed data (a baked image is summarised by what it carries)."""
    if detected.inner is not None:
        return summarise_detected(detected.inner)
    if detected.kind == "vc-json":
        return summarise_vc(detected.payload, "vc-json")
    if detected.kind == "ob2-json":
        return summarise_ob2(detected.payload)
    if detected.kind in {"vc-jwt", "ob2-jws"}:
        try:
            _header, claims = decode_unverified(detected.payload)
            if detected.kind == "ob2-jws":
                return summarise_ob2(claims)
        except VcJwtError as exc:
            raise UnsupportedFormat(str(exc)) from exc
        try:
            return summarise_vc(merge_vc_claims(claims), "vc-jwt")
        except VcJwtError as exc:
            if isinstance(claims.get("vc"), dict):  # claims that contradict it: the report says so
                return summarise_vc(claims["vc"], "vc-jwt")
            raise UnsupportedFormat(str(exc)) from exc
    raise UnsupportedFormat(f"{detected.kind} cannot be held as a credential; fetch it first")


def summarise(raw: bytes, *, media_type: str) -> CredentialSummary:
    """Read ``raw`` (JSON, a JWS, or a baked image); :class:`UnsupportedFormat` if it is none of those."""
    return summarise_detected(sniff(raw, content_type=media_type))


def stored_format(kind: str) -> StoredFormat:
    return _FORMATS[kind]


def as_json_text(raw: bytes) -> Any:
    """The raw bytes as JSON when they are JSON, else as text (a JWS): for exports that embed them."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()
