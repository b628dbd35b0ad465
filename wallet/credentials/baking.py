"""Baked badges: credentials carried inside PNG and SVG images.

Open Badges 3.0 (spec section "Baked Badge"): a PNG carries the credential in one uncompressed ``iTXt``
chunk with keyword ``openbadgecredential``; an SVG carries it in an ``<openbadges:credential>`` element
(namespace ``https://purl.imsglobal.org/ob/v3p0``) placed directly after the ``<svg>`` start tag — a
VC-JWT in its ``verify`` attribute, or the JSON credential in a CDATA body. Open Badges 2.0 used the
keyword ``openbadges`` and ``<openbadges:assertion verify="...">`` (namespace ``http://openbadges.org``),
whose content is a hosted assertion URL, a signed assertion (JWS) or assertion JSON.

Baking never re-encodes the image: the PNG gains one chunk, the SVG one element, every other byte is
kept. Images come from strangers, so size is capped, PNG chunk lengths and CRCs are checked, and SVG is
parsed with defusedxml (no entity expansion, no external references).
"""

from __future__ import annotations

import contextlib
import struct
import xml.parsers.expat
import zlib
from dataclasses import dataclass
from typing import Literal
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3_PNG_KEYWORD = "openbadgecredential"
OB2_PNG_KEYWORD = "openbadges"
OB3_SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_SVG_NAMESPACE = "http://openbadges.org"
DEFAULT_MAX_IMAGE_BYTES = 5_000_000


class BakingError(ValueError):
    """The image is not a PNG/SVG we can read or write, or its baked data is malformed."""


@dataclass(frozen=True)
class BakedPayload:
    """What an image carries: which Open Badges generation put it there, and the text itself."""

    generation: Literal["ob3", "ob2"]
    image_format: Literal["png", "svg"]
    text: str


def _check_size(image: bytes, max_bytes: int) -> None:
    if len(image) > max_bytes:
        raise BakingError(f"image is {len(image)} bytes, more than the {max_bytes}-byte limit")


# --- PNG -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    start: int
    end: int
    data: bytes


def _png_chunks(image: bytes) -> list[_Chunk]:
    if not image.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image (bad signature)")
    chunks: list[_Chunk] = []
    offset = len(PNG_SIGNATURE)
    while offset < len(image):
        if offset + 8 > len(image):
            raise BakingError(f"PNG truncated in a chunk header at byte {offset}")
        length, kind = struct.unpack(">I4s", image[offset : offset + 8])
        end = offset + 12 + length
        if length > 0x7FFFFFFF or end > len(image):
            raise BakingError(f"PNG chunk {kind!r} at byte {offset} claims {length} bytes, past the end")
        data = image[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", image[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            raise BakingError(f"PNG chunk {kind!r} at byte {offset} has a bad CRC")
        chunks.append(_Chunk(kind, offset, end, data))
        offset = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0].kind != b"IHDR":
        raise BakingError("PNG does not start with an IHDR chunk")
    if chunks[-1].kind != b"IEND":
        raise BakingError("PNG has no IEND chunk (truncated?)")
    return chunks


def _parse_itxt(data: bytes, max_bytes: int) -> tuple[str, str]:
    """(keyword, text) of an iTXt chunk; compressed text is inflated up to ``max_bytes``."""
    try:
        keyword, rest = data.split(b"\0", 1)
        compressed, _method = rest[0], rest[1]
        _language, rest = rest[2:].split(b"\0", 1)
        _translated, text = rest.split(b"\0", 1)
    except (ValueError, IndexError) as exc:
        raise BakingError("malformed iTXt chunk") from exc
    if compressed:
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, max_bytes)
        except zlib.error as exc:
            raise BakingError(f"iTXt chunk is not valid zlib data: {exc}") from exc
        if inflater.unconsumed_tail:
            raise BakingError(f"compressed iTXt text inflates past {max_bytes} bytes")
    try:
        return keyword.decode("latin-1"), text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BakingError("iTXt text is not UTF-8") from exc


def _itxt_chunk(keyword: str, text: str) -> bytes:
    data = keyword.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
    return struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", zlib.crc32(b"iTXt" + data))


def unbake_png(image: bytes, *, keyword: str = OB3_PNG_KEYWORD, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> str | None:
    """The text of the first ``iTXt`` chunk named ``keyword``, or ``None`` if the PNG has none."""
    _check_size(image, max_bytes)
    for chunk in _png_chunks(image):
        if chunk.kind == b"iTXt" and chunk.data.split(b"\0", 1)[0] == keyword.encode("latin-1"):
            return _parse_itxt(chunk.data, max_bytes)[1]
    return None


def bake_png(
    image: bytes, text: str, *, keyword: str = OB3_PNG_KEYWORD, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
) -> bytes:
    """``image`` with one uncompressed ``iTXt`` chunk holding ``text`` (a VC-JWT or credential JSON).

    The chunk goes right after IHDR; an existing chunk with the same keyword is replaced (the spec allows
    only one). All other bytes are copied unchanged.
    """
    _check_size(image, max_bytes)
    chunks = _png_chunks(image)
    kept = [
        image[c.start : c.end]
        for c in chunks
        if not (c.kind == b"iTXt" and c.data.split(b"\0", 1)[0] == keyword.encode("latin-1"))
    ]
    return PNG_SIGNATURE + kept[0] + _itxt_chunk(keyword, text) + b"".join(kept[1:])


# --- SVG -------------------------------------------------------------------------------------------


def _parse_svg(svg: bytes, max_bytes: int) -> Element:
    _check_size(svg, max_bytes)
    try:
        root = SafeET.fromstring(svg, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BakingError(f"SVG refused: {exc.__class__.__name__} (entities and external references)") from exc
    except SafeET.ParseError as exc:
        raise BakingError(f"not well-formed XML: {exc}") from exc
    if root.tag not in ("{http://www.w3.org/2000/svg}svg", "svg"):
        raise BakingError(f"not an SVG image (root element is {root.tag!r})")
    return root


def _root_start_tag_span(svg: bytes) -> tuple[int, int]:
    """Byte offsets of the root ``<svg ...>`` start tag (call only after :func:`_parse_svg` accepted it)."""
    parser = xml.parsers.expat.ParserCreate()
    found: list[int] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if not found:
            found.append(parser.CurrentByteIndex)
            raise StopIteration

    parser.StartElementHandler = start
    with contextlib.suppress(StopIteration):
        parser.Parse(svg, True)
    begin = found[0]
    quote: int | None = None
    for position in range(begin, len(svg)):
        byte = svg[position]
        if quote is not None:
            if byte == quote:
                quote = None
        elif byte in (0x22, 0x27):
            quote = byte
        elif byte == 0x3E:
            return begin, position
    raise BakingError("SVG start tag is not closed")


def _find(root: Element, namespace: str, name: str) -> Element | None:
    return next(root.iter(f"{{{namespace}}}{name}"), None)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def bake_svg(svg: bytes, text: str, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> bytes:
    """``svg`` with an ``<openbadges:credential>`` element right after the ``<svg>`` start tag.

    A compact JWS (VC-JWT) goes in the ``verify`` attribute; JSON goes in a CDATA body. An SVG that
    already carries a credential is refused rather than silently edited.
    """
    root = _parse_svg(svg, max_bytes)
    if _find(root, OB3_SVG_NAMESPACE, "credential") is not None:
        raise BakingError("SVG already carries an <openbadges:credential>")
    begin, end = _root_start_tag_span(svg)
    start_tag = svg[begin : end + 1].decode("utf-8")
    declaration = f'xmlns:openbadges="{OB3_SVG_NAMESPACE}"'
    if "xmlns:openbadges=" in start_tag and declaration not in start_tag.replace("'", '"'):
        raise BakingError("the SVG binds the openbadges prefix to another namespace")
    if declaration not in start_tag.replace("'", '"'):
        closing = "/>" if start_tag.endswith("/>") else ">"
        start_tag = start_tag[: -len(closing)].rstrip() + f" {declaration}{closing}"
    if start_tag.endswith("/>"):
        raise BakingError("cannot bake into an empty <svg/> element")
    stripped = text.strip()
    if stripped.startswith("{"):
        element = f"<openbadges:credential>{_cdata(stripped)}</openbadges:credential>"
    else:
        element = f'<openbadges:credential verify="{_xml_attribute(stripped)}"></openbadges:credential>'
    return svg[:begin] + start_tag.encode("utf-8") + element.encode("utf-8") + svg[end + 1 :]


def unbake_svg(
    svg: bytes, *, generation: Literal["ob3", "ob2"] = "ob3", max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
) -> str | None:
    """The credential (OB 3.0) or assertion (OB 2.0) text baked into ``svg``, or ``None``."""
    root = _parse_svg(svg, max_bytes)
    if generation == "ob3":
        element = _find(root, OB3_SVG_NAMESPACE, "credential")
    else:
        element = _find(root, OB2_SVG_NAMESPACE, "assertion")
    if element is None:
        return None
    verify = element.get("verify")
    body = (element.text or "").strip()
    if body:
        return body
    if verify:
        return verify.strip()
    raise BakingError("the baked element has neither a verify attribute nor a body")


# --- either ----------------------------------------------------------------------------------------


def is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE)


def looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in data[:65536].lower()


def extract_baked(image: bytes, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> BakedPayload | None:
    """What a baked image carries, OB 3.0 looked for first; ``None`` if it carries nothing."""
    if is_png(image):
        for generation, keyword in (("ob3", OB3_PNG_KEYWORD), ("ob2", OB2_PNG_KEYWORD)):
            text = unbake_png(image, keyword=keyword, max_bytes=max_bytes)
            if text is not None:
                return BakedPayload(generation, "png", text)  # type: ignore[arg-type]
        return None
    if looks_like_svg(image):
        for generation in ("ob3", "ob2"):
            text = unbake_svg(image, generation=generation, max_bytes=max_bytes)  # type: ignore[arg-type]
            if text is not None:
                return BakedPayload(generation, "svg", text)  # type: ignore[arg-type]
        return None
    raise BakingError("not a PNG or SVG image")
