"""Taking credentials elsewhere: one credential as issued or baked into an image, or the whole wallet.

Baked exports follow Open Badges 3.0 (PNG ``iTXt`` ``openbadgecredential``; SVG
``<openbadges:credential>``); an OB 2.0 assertion is baked the OB 2.0 way (PNG ``openbadges`` chunk).
The picture is the achievement's own image when this service issued the credential (read from our
database, never fetched), else a plain generated badge: fetching an image a stranger named would let
any credential make the server call out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wallet.credentials.baking import OB2_PNG_KEYWORD, OB3_PNG_KEYWORD, BakingError, bake_png, bake_svg
from wallet.errors import DomainError
from wallet.holding.summary import as_json_text
from wallet.models import Achievement, HeldCredential, IssuedCredential, IssuerKey

ExportFormat = Literal["json", "png", "svg"]
ZIP_FORMAT = "learner-wallet-credentials/1"
_EXTENSIONS = {"vc-json": "json", "vc-jwt": "jwt", "ob2": "json"}


@dataclass(frozen=True)
class ExportedFile:
    body: bytes
    media_type: str
    filename: str


def _slug(text: str | None) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in (text or "credential").lower()).strip("-")
    return "-".join(part for part in cleaned.split("-") if part)[:50] or "credential"


def raw_filename(credential: HeldCredential) -> str:
    extension = "jwt" if credential.raw.lstrip()[:1] not in (b"{", b"\xef") else "json"
    return f"{_slug(credential.achievement_name)}-{str(credential.id)[:8]}.{extension}"


def own_image(db: Session, *, credential: HeldCredential) -> tuple[bytes, str] | None:
    """The achievement image, if one of our organisations issued this credential and it has an image.

    Matching the credential id alone is not enough (anyone may reuse an id); the held credential's
    issuer must also be a DID of the issuing organisation's keys — and the issuer was verified on import.
    """
    if not credential.credential_id or not credential.issuer_id:
        return None
    short_id = credential.credential_id.removeprefix("urn:uuid:")
    row = db.execute(
        select(Achievement.image, Achievement.image_media_type)
        .join(IssuedCredential, IssuedCredential.achievement_id == Achievement.id)
        .join(IssuerKey, IssuerKey.organisation_id == IssuedCredential.organisation_id)
        .where(
            or_(IssuedCredential.credential_id == credential.credential_id, IssuedCredential.credential_id == short_id),
            IssuerKey.did == credential.issuer_id.split("#", 1)[0],
            Achievement.image.is_not(None),
        )
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1] or ""


def generated_png(title: str) -> bytes:
    """A plain round badge with the achievement's name: the picture when we have none of our own."""
    size = 400
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=(31, 78, 121, 255), outline=(242, 169, 0, 255), width=12)
    font = ImageFont.load_default(size=30)
    lines = textwrap.wrap(title, width=16)[:4] or ["Badge"]
    line_height = 38
    top = size / 2 - line_height * len(lines) / 2
    for index, line in enumerate(lines):
        draw.text((size / 2, top + index * line_height + line_height / 2), line, fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def generated_svg(title: str) -> bytes:
    lines = textwrap.wrap(title, width=16)[:4] or ["Badge"]
    top = 200 - 19 * (len(lines) - 1)
    texts = "".join(f'<text x="200" y="{top + 38 * index}">{escape(line)}</text>' for index, line in enumerate(lines))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400" role="img">'
        f"<title>{escape(title)}</title>"
        '<circle cx="200" cy="200" r="186" fill="#1f4e79" stroke="#f2a900" stroke-width="12"/>'
        '<g fill="#fff" font-family="sans-serif" font-size="30" text-anchor="middle" dominant-baseline="middle">'
        f"{texts}</g></svg>"
    ).encode()


def export_credential(db: Session, *, credential: HeldCredential, fmt: ExportFormat) -> ExportedFile:
    """The credential as issued (``json``), or baked into a PNG or SVG picture."""
    if fmt == "json":
        return ExportedFile(credential.raw, credential.media_type, raw_filename(credential))
    if fmt == "svg" and credential.format == "ob2":
        raise DomainError(
            "credential.unsupported_format", "Open Badges 2.0 badges can be exported as JSON or PNG, not SVG."
        )
    text = credential.raw.decode("utf-8-sig")
    title = credential.achievement_name or "Badge"
    media_type = "image/png" if fmt == "png" else "image/svg+xml"
    keyword = OB2_PNG_KEYWORD if credential.format == "ob2" else OB3_PNG_KEYWORD
    filename = f"{_slug(credential.achievement_name)}.{fmt}"

    def bake(image: bytes) -> bytes:
        return bake_png(image, text, keyword=keyword) if fmt == "png" else bake_svg(image, text)

    picture = own_image(db, credential=credential)
    if picture is not None and picture[1] == media_type:
        with contextlib.suppress(BakingError):
            return ExportedFile(bake(picture[0]), media_type, filename)
    generated = generated_png(title) if fmt == "png" else generated_svg(title)
    return ExportedFile(bake(generated), media_type, filename)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def metadata(
    credential: HeldCredential, *, now: dt.datetime, tags: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """What the wallet knows about a held credential (for manifests and the account export).

    ``tags`` are the synced wallet's tags by content hash (:func:`wallet.changelog.edits.tags_of`)."""
    return {
        "id": str(credential.id),
        "format": credential.format,
        "media_type": credential.media_type,
        "content_hash": credential.content_hash,
        "credential_id": credential.credential_id,
        "issuer_id": credential.issuer_id,
        "issuer_name": credential.issuer_name,
        "achievement_name": credential.achievement_name,
        "achievement_id": credential.achievement_id,
        "image_url": credential.image_url,
        "issued_at": _iso(credential.issued_at),
        "expires_at": _iso(credential.expires_at),
        "expired": credential.expires_at is not None and credential.expires_at <= now,
        "tags": list((tags or {}).get(credential.content_hash, [])),
        "source": credential.source,
        "added_at": _iso(credential.added_at),
        "verified_at": _iso(credential.verified_at),
        "status_checked_at": _iso(credential.status_checked_at),
        "verification": credential.verification,
    }


def export_zip(
    credentials: Sequence[HeldCredential], *, now: dt.datetime, tags: Mapping[str, Sequence[str]] | None = None
) -> bytes:
    """Every credential's file exactly as received, and ``manifest.json`` describing each one."""
    out = io.BytesIO()
    entries = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for credential in credentials:
            path = f"credentials/{raw_filename(credential)}"
            archive.writestr(path, credential.raw)
            entries.append({**metadata(credential, now=now, tags=tags), "file": path})
        manifest = {"format": ZIP_FORMAT, "exported_at": now.isoformat(), "credentials": entries}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return out.getvalue()


def account_section(
    credentials: Sequence[HeldCredential], *, now: dt.datetime, tags: Mapping[str, Sequence[str]] | None = None
) -> list[dict[str, Any]]:
    """The account export's ``credentials``: metadata plus the credential itself (JSON, or JWS text)."""
    return [
        {**metadata(credential, now=now, tags=tags), "credential": as_json_text(credential.raw)}
        for credential in credentials
    ]
