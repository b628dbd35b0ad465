"""Evidence files a learner attaches to a badge request: never trust what the uploader says they are.

Accepted: photos (PNG, JPEG) and documents (PDF, plain text). The type is read from the bytes, never
from the file name or the declared type. Photos are checked like badge images
(:mod:`wallet.issuing.images`): dimensions read from the header before any decoding (a 100-byte file
can claim a 60 000 x 60 000 canvas), then decoded and re-encoded by Pillow, which drops every metadata
chunk — a phone photo's EXIF location included. Anything after a photo's end marker (a ZIP or an HTML
page glued on: a polyglot) is refused rather than silently cut off. Documents are kept as sent but
refused if they carry active content (PDF JavaScript, launch actions, embedded files) or markup or an
archive inside; they are only ever served to the learner and the organisation's reviewers, as
downloads, under a sandboxing CSP. SVG is refused: evidence is photos and documents, not drawings
that can script.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass

from PIL import Image

from wallet.errors import DomainError
from wallet.issuing.images import PNG_SIGNATURE, png_dimensions

MAX_FILE_BYTES = 6 * 1024 * 1024
"""Largest evidence file accepted (before re-encoding)."""
MAX_UPLOAD_BYTES = MAX_FILE_BYTES + 64 * 1024
"""Largest request body of an evidence upload (the file plus a multipart envelope)."""
MAX_STORED_PHOTO_BYTES = 2 * 1024 * 1024
MAX_PHOTO_SIDE = 6000
MAX_PHOTO_PIXELS = 24_000_000
STORED_PHOTO_SIDE = 2048
"""Photos are scaled down to fit this square when stored: enough to read, small enough to keep."""
MAX_FILES_PER_REQUEST = 6

JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_SIGNATURE = b"%PDF-"
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|OpenAction|AA|RichMedia|XFA|SubmitForm)\b")
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object|embed|body|!doctype)\b", re.IGNORECASE)
_ARCHIVE = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b\x08")

MEDIA_TYPES = ("image/png", "image/jpeg", "application/pdf", "text/plain")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf", "text/plain": "txt"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()-]+")


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    media_type: str
    filename: str
    sha256: str


def _invalid(reason: str) -> DomainError:
    return DomainError("badge_request.invalid_evidence", f"The file was refused: {reason}.", reason=reason)


def safe_filename(name: str | None, media_type: str) -> str:
    """A name to show and to download as: printable ASCII, no path, at most 100 characters, the right
    extension (what the bytes are, not what the name said)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_NAME.sub("_", base).strip(" ._")[:90]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem or 'evidence'}.{_EXTENSIONS[media_type]}"


def check_file(data: bytes, *, filename: str | None = None) -> CheckedFile:
    """The file to store for ``data``, or ``badge_request.invalid_evidence`` (422) saying why not."""
    if not data:
        raise _invalid("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise _invalid(f"it is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if data.startswith(PNG_SIGNATURE):
        cleaned, media_type = _clean_png(data), "image/png"
    elif data.startswith(JPEG_SIGNATURE):
        cleaned, media_type = _clean_jpeg(data), "image/jpeg"
    elif data.startswith(PDF_SIGNATURE):
        cleaned, media_type = _check_pdf(data), "application/pdf"
    else:
        cleaned, media_type = _check_text(data), "text/plain"
    return CheckedFile(cleaned, media_type, safe_filename(filename, media_type), hashlib.sha256(cleaned).hexdigest())


def _png_end(data: bytes) -> int:
    """The offset just past the IEND chunk, walking the chunks (so IEND inside data cannot fool it)."""
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        offset += 12 + length
        if kind == b"IEND":
            return offset
    raise _invalid("the PNG has no end")


def _clean_png(data: bytes) -> bytes:
    try:
        width, height = png_dimensions(data)
    except DomainError:
        raise _invalid("the PNG has no valid header") from None
    _check_size(width, height)
    if data[_png_end(data) :].strip(b"\x00"):
        raise _invalid("there is something else hidden after the image")
    return _reencode(data, "PNG", (width, height))


def _jpeg_end(data: bytes) -> int:
    """The offset just past the JPEG's end-of-image marker, walking its segments and entropy-coded data."""
    offset = 2
    size = len(data)
    while offset < size:
        if data[offset] != 0xFF:
            raise _invalid("the JPEG data is damaged")
        marker = data[offset + 1] if offset + 1 < size else -1
        if marker == 0xD9:
            return offset + 2
        if marker == 0xFF:
            offset += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            offset += 2
            continue
        if offset + 4 > size:
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker that is not a stuffed byte
            while offset + 1 < size:
                if data[offset] == 0xFF and data[offset + 1] not in (0x00, *range(0xD0, 0xD8)):
                    break
                offset += 1
    raise _invalid("the JPEG has no end")


def _clean_jpeg(data: bytes) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["JPEG"]) as probe:
                width, height = probe.size  # from the frame header: nothing decoded yet
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _invalid("the JPEG data is damaged") from None
    _check_size(width, height)
    if data[_jpeg_end(data) :].strip(b"\x00"):
        raise _invalid("there is something else hidden after the image")
    return _reencode(data, "JPEG", (width, height))


def _check_size(width: int, height: int) -> None:
    if not (0 < width <= MAX_PHOTO_SIDE and 0 < height <= MAX_PHOTO_SIDE) or width * height > MAX_PHOTO_PIXELS:
        raise _invalid(f"it is {width}x{height} pixels; photos are at most {MAX_PHOTO_SIDE} pixels a side")


def _reencode(data: bytes, fmt: str, size: tuple[int, int]) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                if image.size != size:
                    raise _invalid("the image header disagrees with its data")
                image.load()
                picture = (
                    image.convert("RGB")
                    if fmt == "JPEG" or image.mode not in ("RGB", "RGBA", "L", "LA", "P")
                    else image
                )
                if fmt == "PNG" and picture.mode == "P":
                    picture = picture.convert("RGBA")
                picture.thumbnail((STORED_PHOTO_SIDE, STORED_PHOTO_SIDE))
                output = io.BytesIO()
                if fmt == "JPEG":
                    picture.save(output, format="JPEG", quality=85, optimize=True)
                else:
                    picture.save(output, format="PNG", optimize=True)
    except DomainError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _invalid("the image data is damaged") from error
    cleaned = output.getvalue()
    if len(cleaned) > MAX_STORED_PHOTO_BYTES:
        raise _invalid("the photo is too detailed to keep; send a smaller one")
    return cleaned


def _refuse_hidden_content(data: bytes) -> None:
    if _MARKUP.search(data):
        raise _invalid("it contains web page or script markup")
    if any(signature in data for signature in _ARCHIVE):
        raise _invalid("it has an archive hidden inside")


def _check_pdf(data: bytes) -> bytes:
    if b"%%EOF" not in data[-1024:]:
        raise _invalid("the PDF is incomplete")
    if _PDF_ACTIVE.search(data):
        raise _invalid("the PDF contains scripts, actions or embedded files")
    _refuse_hidden_content(data)
    return data


def _check_text(data: bytes) -> bytes:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid("it is not a photo (PNG or JPEG), a PDF or plain text") from None
    if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text) or "\x7f" in text:
        raise _invalid("it is not a photo (PNG or JPEG), a PDF or plain text")
    if text.lstrip().startswith("<") or text.lstrip().startswith("{\\rtf"):
        raise _invalid("it is not a photo (PNG or JPEG), a PDF or plain text")
    _refuse_hidden_content(data)
    return text.encode("utf-8")
