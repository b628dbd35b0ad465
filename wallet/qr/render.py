"""Draw QR codes as PNG or SVG, deterministically, so the HTTP layer can cache them by strong ETag.

Encoding is done by ``qrcode``, which splits the payload into byte, alphanumeric and numeric segments
as is cheapest: a claim URL ``HTTPS://HOST/C/<TOKEN>`` is then all alphanumeric and stays at a small
version (docs/claim-codes.md has the measured table). The smallest version that fits is always chosen.

The SVG is written here rather than with ``qrcode.image.svg``: that writer emits one sub-path per module
and sizes the image in millimetres, while the display page wants one compact path (horizontal runs) in
module units with pixel width/height and a white background, so it scans in dark-mode viewers too.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass
from functools import cache
from importlib.metadata import version
from typing import Literal

import qrcode
import qrcode.constants
import qrcode.exceptions

__all__ = ["QrOptions", "etag_for", "qr_version", "render", "render_png", "render_svg"]

ErrorCorrection = Literal["L", "M", "Q", "H"]
ImageFormat = Literal["png", "svg"]

_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
MIN_BOX_SIZE, MAX_BOX_SIZE = 1, 40
MAX_BORDER = 16
MAX_SIDE_PX = 4096
MAX_DATA_CHARS = 4296  # the most any QR code holds (version 40-L, alphanumeric)
_RENDERER_REVISION = 1  # bump when this module's output bytes change, so ETags change with them


@dataclass(frozen=True, slots=True)
class QrOptions:
    """How to draw a code; invalid values raise ``ValueError`` with a message fit for a 400 response.

    ``border`` is the quiet zone in modules: the QR standard asks for 4; less only when the page around
    the code is already white. ``box_size`` is pixels per module (PNG) or the SVG's nominal pixel size.
    """

    format: ImageFormat = "png"
    box_size: int = 10
    border: int = 4
    error_correction: ErrorCorrection = "M"

    def __post_init__(self) -> None:
        if self.format not in _MEDIA_TYPES:
            raise ValueError(f"format must be one of {sorted(_MEDIA_TYPES)}, got {self.format!r}")
        if self.error_correction not in _LEVELS:
            raise ValueError(f"error_correction must be one of L, M, Q, H, got {self.error_correction!r}")
        if not _is_int_in(self.box_size, MIN_BOX_SIZE, MAX_BOX_SIZE):
            raise ValueError(f"box_size must be a whole number from {MIN_BOX_SIZE} to {MAX_BOX_SIZE}")
        if not _is_int_in(self.border, 0, MAX_BORDER):
            raise ValueError(f"border must be a whole number from 0 to {MAX_BORDER} (4 is the standard)")

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self.format]


def _is_int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _encode(data: str, error_correction: str) -> qrcode.QRCode:
    if not isinstance(data, str) or not data:
        raise ValueError("QR data must be a non-empty string")
    if len(data) > MAX_DATA_CHARS:
        raise ValueError(f"QR data is {len(data)} characters; no QR code holds more than {MAX_DATA_CHARS}")
    if error_correction not in _LEVELS:
        raise ValueError(f"error_correction must be one of L, M, Q, H, got {error_correction!r}")
    code = qrcode.QRCode(error_correction=_LEVELS[error_correction], border=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:
        raise ValueError(f"QR data is too long for a QR code at error-correction level {error_correction}") from exc
    return code


def _matrix(data: str, options: QrOptions) -> list[list[bool]]:
    """Module rows, quiet zone included, after checking the drawn image is not unreasonably large."""
    code = _encode(data, options.error_correction)
    side = code.modules_count + 2 * options.border
    if side * options.box_size > MAX_SIDE_PX:
        width = side * options.box_size
        raise ValueError(f"the image would be {width} px wide (limit {MAX_SIDE_PX}); use a smaller box_size")
    blank = [False] * side
    rows = [[False] * options.border + list(row) + [False] * options.border for row in code.modules]
    return [blank] * options.border + rows + [blank] * options.border


def qr_version(data: str, error_correction: ErrorCorrection = "M") -> int:
    """The QR version (1-40) that ``data`` needs at this level: smaller scans from further away."""
    return _encode(data, error_correction).version


def render_png(data: str, *, box_size: int = 10, border: int = 4, error_correction: ErrorCorrection = "M") -> bytes:
    """A black-on-white, 1-bit PNG of the code."""
    return render(data, QrOptions("png", box_size, border, error_correction))


def render_svg(data: str, *, box_size: int = 10, border: int = 4, error_correction: ErrorCorrection = "M") -> bytes:
    """A single-path SVG in module units (``viewBox``), ``width``/``height`` of ``box_size`` px per module."""
    return render(data, QrOptions("svg", box_size, border, error_correction))


def render(data: str, options: QrOptions) -> bytes:
    """The image bytes for ``data``; the same inputs always give the same bytes (see :func:`etag_for`)."""
    matrix = _matrix(data, options)
    return _svg(matrix, options.box_size) if options.format == "svg" else _png(matrix, options.box_size)


def _png(matrix: list[list[bool]], box_size: int) -> bytes:
    from PIL import Image  # Pillow is only needed here; keeping it local keeps `import wallet.qr` light

    side = len(matrix)
    small = Image.new("1", (side, side), 1)
    small.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = small.resize((side * box_size, side * box_size), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _svg(matrix: list[list[bool]], box_size: int) -> bytes:
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    side = len(matrix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{side * box_size}" '
        f'height="{side * box_size}" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>\n'
    ).encode()


@cache
def _renderer_id() -> str:
    return f"{_RENDERER_REVISION}/qrcode-{version('qrcode')}/pillow-{version('pillow')}"


def etag_for(data: str, options: QrOptions) -> str:
    """A strong ETag (quoted) for the image of ``data`` drawn with ``options``.

    It hashes the payload, the options and the versions of the encoder and image libraries, so it
    changes whenever the bytes could; no need to render to answer ``If-None-Match`` with 304.
    """
    material = json.dumps({"data": data, "options": asdict(options), "renderer": _renderer_id()}, sort_keys=True)
    return '"' + hashlib.sha256(material.encode()).hexdigest()[:32] + '"'
