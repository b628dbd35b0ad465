"""gzip request and response bodies for sync, with a cap on what a request may inflate to.

A gzip bomb (a few kilobytes that inflate to gigabytes) must cost the server no more than the cap:
inflation stops at ``max_bytes + 1`` and the request is refused as too large (413). A truncated or
corrupt stream is a malformed request (400), never a 500.
"""

from __future__ import annotations

import gzip
import zlib

from wallet.errors import DomainError

MAX_INFLATED_BYTES = 16 * 1024 * 1024
"""Largest sync request body after decompression."""
GZIP_MIN_BYTES = 1024
"""Responses smaller than this are not worth compressing."""


def inflate(data: bytes, *, max_bytes: int = MAX_INFLATED_BYTES) -> bytes:
    """The bytes a gzip stream ``data`` holds; ``request.too_large`` above ``max_bytes``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise DomainError("request.malformed", "The gzip body is corrupt.") from exc
    if len(body) > max_bytes or inflater.unconsumed_tail:
        raise DomainError("request.too_large", f"The body inflates to more than {max_bytes} bytes.")
    if not inflater.eof:
        raise DomainError("request.malformed", "The gzip body is truncated.")
    if inflater.unused_data:
        raise DomainError("request.malformed", "The gzip body has trailing data.")
    return body


def deflate(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (``gzip;q=0`` refuses it)."""
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=")
            try:
                return not params or float(quality) > 0
            except ValueError:
                return False
    return False
