"""Format sniffing: what did the learner hand us?

Credentials arrive as uploads, pasted text and HTTP responses, and the content type is often missing or
wrong, so the bytes decide:

=============  ==========================================================================
``vc-json``     a W3C Verifiable Credential as JSON (OB 3.0 with an embedded proof)
``vc-jwt``      a compact JWS whose payload carries a credential (``vc`` claim, or VC-JOSE)
``ob2-json``    an Open Badges 2.0 assertion as JSON
``ob2-jws``     a signed Open Badges 2.0 assertion (compact JWS)
``baked-png``   a PNG with a baked credential or assertion (``inner`` says which)
``baked-svg``   an SVG with a baked credential or assertion (``inner`` says which)
=============  ==========================================================================

For baked images ``payload`` is the image and ``inner`` the sniffed baked text, whose kind may also be
``ob2-url`` (a hosted OB 2.0 assertion's URL). Anything else raises :class:`UnsupportedFormat`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from wallet.credentials import jsontext
from wallet.credentials.baking import DEFAULT_MAX_IMAGE_BYTES, BakingError, extract_baked, is_png, looks_like_svg
from wallet.credentials.jwt import VcJwtError, decode_unverified

Kind = Literal["vc-json", "vc-jwt", "ob2-json", "ob2-jws", "ob2-url", "baked-png", "baked-svg"]

VC_CONTEXTS = ("https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/v2")
OB2_CONTEXTS = ("https://w3id.org/openbadges/v2", "https://openbadgespec.org/v2/context.json")
MAX_TEXT_BYTES = 2_000_000


class UnsupportedFormat(ValueError):
    """The data is not a credential format the wallet reads (the message says what it looked like)."""


@dataclass(frozen=True)
class Detected:
    kind: Kind
    payload: Any
    inner: Detected | None = None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _json_kind(document: Any) -> Kind | None:
    if not isinstance(document, dict):
        return None
    contexts = _as_list(document.get("@context"))
    types = set(_as_list(document.get("type")))
    if any(context in VC_CONTEXTS for context in contexts) or "VerifiableCredential" in types:
        return "vc-json"
    if any(context in OB2_CONTEXTS for context in contexts) or (
        "Assertion" in types and "recipient" in document and "badge" in document
    ):
        return "ob2-json"
    return None


def _sniff_text(text: str) -> Detected:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = jsontext.loads(stripped)
        except ValueError as exc:
            raise UnsupportedFormat(f"looks like JSON but does not parse: {exc}") from exc
        kind = _json_kind(document)
        if kind is None:
            raise UnsupportedFormat("JSON that is neither a Verifiable Credential nor an OB 2.0 assertion")
        return Detected(kind, document)
    if stripped.startswith(("https://", "http://")) and not any(c.isspace() for c in stripped):
        return Detected("ob2-url", stripped)
    try:
        _header, claims = decode_unverified(stripped)
    except VcJwtError as exc:
        raise UnsupportedFormat(f"not JSON, a JWS or a supported image: {exc}") from exc
    if isinstance(claims.get("vc"), dict) or _json_kind(claims) == "vc-json":
        return Detected("vc-jwt", stripped)
    if _json_kind(claims) == "ob2-json" or ("recipient" in claims and "badge" in claims):
        return Detected("ob2-jws", stripped)
    raise UnsupportedFormat("a JWS whose payload is neither a credential nor an OB 2.0 assertion")


def sniff(data: bytes, *, content_type: str | None, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> Detected:
    """Classify ``data``; ``content_type`` only breaks ties (an SVG without an XML prolog)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if is_png(data) or looks_like_svg(data) or media == "image/svg+xml":
        image_kind: Kind = "baked-png" if is_png(data) else "baked-svg"
        try:
            baked = extract_baked(data, max_bytes=max_bytes)
        except BakingError as exc:
            raise UnsupportedFormat(f"unreadable image: {exc}") from exc
        if baked is None:
            raise UnsupportedFormat("the image carries no baked credential")
        return Detected(image_kind, data, inner=_sniff_text(baked.text))
    if len(data) > MAX_TEXT_BYTES:
        raise UnsupportedFormat(f"{len(data)} bytes is more than a credential can be")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFormat("binary data that is not a PNG or SVG image") from exc
    detected = _sniff_text(text)
    if detected.kind == "ob2-url":
        raise UnsupportedFormat("a bare URL; fetch it first")
    return detected
