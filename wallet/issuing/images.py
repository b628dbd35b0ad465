"""Achievement images: accept a PNG or an SVG, never trust what the uploader says it is.

PNG: the type is sniffed from the signature, the dimensions are read from the IHDR header *before* any
decoding (a 100-byte file can claim a 60 000 x 60 000 canvas), and only then is the image decoded and
re-encoded by Pillow. Re-encoding drops every ancillary chunk, including text chunks and any Open Badges
credential baked in by someone else.

SVG: parsed with defusedxml (no DTDs, no entity expansion) and rebuilt from an allowlist of elements and
attributes. Anything else — ``<script>``, ``<foreignObject>``, ``<a>``, animation, event handlers,
references outside the document (``href`` not starting with ``#``, ``url(`` other than ``url(#…)``,
``@import``) — is dropped. The result is served with a CSP that forbids scripts anyway.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from PIL import Image

from wallet.errors import DomainError

MAX_IMAGE_BYTES = 512 * 1024
MAX_PNG_SIDE = 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

_ALLOWED_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "symbol",
        "use",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "marker",
        "style",
        "filter",
        "feGaussianBlur",
        "feOffset",
        "feBlend",
        "feColorMatrix",
        "feComposite",
        "feFlood",
        "feMerge",
        "feMergeNode",
        "feDropShadow",
        "feMorphology",
    }
)
_ALLOWED_ATTRIBUTES = frozenset(
    {
        "id",
        "class",
        "style",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "width",
        "height",
        "d",
        "points",
        "transform",
        "viewBox",
        "preserveAspectRatio",
        "version",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "stroke-dashoffset",
        "opacity",
        "color",
        "clip-path",
        "clip-rule",
        "mask",
        "filter",
        "display",
        "visibility",
        "overflow",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "clipPathUnits",
        "maskUnits",
        "maskContentUnits",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "marker-start",
        "marker-mid",
        "marker-end",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "alignment-baseline",
        "letter-spacing",
        "word-spacing",
        "text-decoration",
        "dx",
        "dy",
        "rotate",
        "textLength",
        "lengthAdjust",
        "startOffset",
        "href",
        "stdDeviation",
        "in",
        "in2",
        "result",
        "mode",
        "type",
        "values",
        "operator",
        "k1",
        "k2",
        "k3",
        "k4",
        "flood-color",
        "flood-opacity",
        "radius",
        "filterUnits",
        "primitiveUnits",
        "xml:space",
        "lang",
    }
)
_URL_FUNCTION = re.compile(r"url\s*\(", re.IGNORECASE)
_LOCAL_URL = re.compile(r"url\s*\(\s*['\"]?#", re.IGNORECASE)
_XML_NS = "http://www.w3.org/XML/1998/namespace"


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    media_type: str
    sha256: str


def _invalid(reason: str) -> DomainError:
    return DomainError("achievement.invalid_image", f"The image was refused: {reason}.", reason=reason)


def check_image(data: bytes) -> CheckedImage:
    """The image to store for ``data``, or ``achievement.invalid_image`` (422) saying why not."""
    if not data:
        raise _invalid("the body is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise _invalid(f"it is larger than {MAX_IMAGE_BYTES // 1024} KB")
    if data.startswith(PNG_SIGNATURE):
        cleaned, media_type = _clean_png(data), "image/png"
    elif _looks_like_svg(data):
        cleaned, media_type = _clean_svg(data), "image/svg+xml"
    else:
        raise _invalid("it is neither a PNG nor an SVG image")
    return CheckedImage(cleaned, media_type, hashlib.sha256(cleaned).hexdigest())


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG format requires to come first."""
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise _invalid("the PNG has no valid IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _clean_png(data: bytes) -> bytes:
    width, height = png_dimensions(data)
    if not (0 < width <= MAX_PNG_SIDE and 0 < height <= MAX_PNG_SIDE):
        raise _invalid(f"it is {width}x{height} pixels; at most {MAX_PNG_SIDE}x{MAX_PNG_SIDE} are allowed")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.size != (width, height):
                raise _invalid("the PNG header disagrees with its image data")
            image.load()
            output = io.BytesIO()
            image.save(output, format="PNG")
    except DomainError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise _invalid("the PNG data is damaged") from error
    return output.getvalue()


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in data[:65536].lower()


def _local_name(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _safe_style(value: str) -> bool:
    lowered = value.lower()
    if "@import" in lowered or "expression(" in lowered or "javascript:" in lowered:
        return False
    return len(_URL_FUNCTION.findall(value)) == len(_LOCAL_URL.findall(value))


def _clean_attributes(element: ElementTree.Element) -> None:
    for name, value in list(element.attrib.items()):
        del element.attrib[name]
        namespace, local = _local_name(name)
        if namespace == XLINK_NS and local == "href":
            local, namespace = "href", ""
        if namespace == _XML_NS and local == "space":
            local, namespace = "xml:space", ""
        if namespace or local not in _ALLOWED_ATTRIBUTES:
            continue
        if local == "href" and not value.strip().startswith("#"):
            continue
        if not _safe_style(value):
            continue
        key = f"{{{_XML_NS}}}space" if local == "xml:space" else local
        element.set(key, value)


def _clean_element(element: ElementTree.Element) -> None:
    for child in list(element):
        namespace, local = _local_name(child.tag) if isinstance(child.tag, str) else ("", "")
        if namespace != SVG_NS or local not in _ALLOWED_ELEMENTS:
            element.remove(child)
            continue
        if local == "style" and not _safe_style(child.text or ""):
            element.remove(child)
            continue
        _clean_attributes(child)
        _clean_element(child)


def _clean_svg(data: bytes) -> bytes:
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise _invalid("the SVG is not well-formed XML, or uses a DTD or entities") from error
    if root.tag != f"{{{SVG_NS}}}svg":
        raise _invalid("the root element is not an SVG <svg> element")
    _clean_attributes(root)
    _clean_element(root)
    for element in root.iter():
        element.tag = _local_name(element.tag)[1]
    root.set("xmlns", SVG_NS)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
