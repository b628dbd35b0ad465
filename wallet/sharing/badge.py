"""What the public page says about a credential, read from the bytes the learner holds.

Everything shown comes from the credential as issued (never from what the learner typed), so an employer
reads the issuer's words. Reading is lenient — a missing field is left out — because the verification
panel, not this module, says whether the credential can be believed. Links taken from a credential are
kept only when they are ``http(s)``: a ``javascript:`` URL written by a stranger must never become a link.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from wallet.credentials.jwt import VcJwtError, decode_unverified, merge_vc_claims
from wallet.credentials.timestamps import parse_timestamp
from wallet.holding.summary import is_record
from wallet.models import HeldCredential

LINKEDIN_ADD_URL = "https://www.linkedin.com/profile/add"


@dataclass(frozen=True)
class Skill:
    name: str
    url: str | None = None
    framework: str | None = None
    code: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Evidence:
    name: str | None
    description: str | None
    narrative: str | None
    url: str | None


@dataclass(frozen=True)
class BadgeView:
    """One credential as the share page shows it."""

    name: str
    description: str | None
    criteria: str | None
    criteria_url: str | None
    issuer_name: str
    issuer_id: str | None
    issuer_url: str | None
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    credential_id: str | None
    image_url: str | None
    skills: list[Skill] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("en") or next(iter(value.values()), None)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def safe_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL, else ``None``."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000:
        return value
    return None


def decoded_credential(raw: bytes) -> dict[str, Any]:
    """The credential's JSON: the document itself, or a VC-JWT's claims merged into one (empty if neither)."""
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return {}
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}
    try:
        _header, claims = decode_unverified(text)
        return merge_vc_claims(claims)
    except VcJwtError:
        return {}


def _image_ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, str) and value.startswith(("https://", "http://", "data:image/")):
        return value
    return None


def _skills(achievement: Mapping[str, Any]) -> list[Skill]:
    skills = []
    for item in _as_list(achievement.get("alignment") or achievement.get("alignments")):
        if not isinstance(item, Mapping):
            continue
        name = _text(item.get("targetName"))
        if name:
            skills.append(
                Skill(
                    name=name,
                    url=safe_url(item.get("targetUrl")),
                    framework=_text(item.get("targetFramework")),
                    code=_text(item.get("targetCode")),
                    description=_text(item.get("targetDescription")),
                )
            )
    return skills


def _evidence(credential: Mapping[str, Any]) -> list[Evidence]:
    found = []
    for item in _as_list(credential.get("evidence")):
        if isinstance(item, str):
            item = {"id": item}
        if not isinstance(item, Mapping):
            continue
        entry = Evidence(
            name=_text(item.get("name")),
            description=_text(item.get("description")),
            narrative=_text(item.get("narrative")),
            url=safe_url(item.get("id")),
        )
        if entry.name or entry.description or entry.narrative or entry.url:
            found.append(entry)
    return found


def badge_view(held: HeldCredential) -> BadgeView:
    """Read ``held`` for display; the summary columns fill whatever the bytes do not say (OB 2.0)."""
    credential = decoded_credential(held.raw)
    subject = _first(credential.get("credentialSubject"))
    subject = subject if isinstance(subject, Mapping) else {}
    achievement = _first(subject.get("achievement"))
    achievement = achievement if isinstance(achievement, Mapping) and not is_record(credential) else {}
    issuer = credential.get("issuer")
    issuer_map = issuer if isinstance(issuer, Mapping) else {}
    criteria = achievement.get("criteria")
    criteria_map = criteria if isinstance(criteria, Mapping) else {}
    return BadgeView(
        name=_text(achievement.get("name")) or _text(credential.get("name")) or held.achievement_name or "A badge",
        description=_text(achievement.get("description")) or _text(credential.get("description")),
        criteria=_text(criteria_map.get("narrative")),
        criteria_url=safe_url(criteria_map.get("id")),
        issuer_name=_text(issuer_map.get("name")) or held.issuer_name or held.issuer_id or "an unnamed issuer",
        issuer_id=held.issuer_id,
        issuer_url=safe_url(issuer_map.get("url")),
        issued_at=held.issued_at or parse_timestamp(subject.get("awardedDate")),
        expires_at=held.expires_at,
        credential_id=held.credential_id,
        image_url=_image_ref(achievement.get("image")) or _image_ref(credential.get("image")) or held.image_url,
        skills=_skills(achievement),
        evidence=_evidence(credential),
        tags=[tag for tag in _as_list(achievement.get("tag")) if isinstance(tag, str)][:20],
    )


def linkedin_add_url(badge: BadgeView, *, share_url: str) -> str:
    """LinkedIn's "Add license or certification" form, pre-filled (its documented ``profile/add`` URL).

    ``certUrl`` is the share link, so whoever reads the profile can check the badge; ``certId`` is the
    credential's own id when it has one.
    """
    params: dict[str, str] = {
        "startTask": "CERTIFICATION_NAME",
        "name": badge.name,
        "organizationName": badge.issuer_name,
    }
    if badge.issued_at is not None:
        params["issueYear"] = str(badge.issued_at.year)
        params["issueMonth"] = str(badge.issued_at.month)
    if badge.expires_at is not None:
        params["expirationYear"] = str(badge.expires_at.year)
        params["expirationMonth"] = str(badge.expires_at.month)
    params["certUrl"] = share_url
    if badge.credential_id:
        params["certId"] = badge.credential_id
    return f"{LINKEDIN_ADD_URL}?{urlencode(params)}"
