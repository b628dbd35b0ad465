"""Badge images for the share page, fetched through the app's fetcher (:func:`wallet.fetching.build_fetcher`:
this service's own images come straight from the database, others through the SSRF guard).

Images are cached by URL with a byte budget: the page serves badge images from its own origin, so an
employer's browser never contacts a third party (no tracking pixels, no leaked share URLs).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from typing import Protocol

from wallet.credentials.fetcher import FetchResult
from wallet.errors import DomainError
from wallet.issuing.images import check_image

IMAGE_TYPES = ("image/png", "image/svg+xml")
MAX_IMAGE_BYTES = 2_000_000
IMAGE_CACHE_BYTES = 64_000_000


class Fetcher(Protocol):
    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult: ...


def _data_uri(url: str) -> tuple[bytes, str] | None:
    header, _, payload = url.partition(",")
    media = header[len("data:") :].split(";", 1)[0].lower()
    if media not in IMAGE_TYPES or ";base64" not in header:
        return None
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    return (data, media) if len(data) <= MAX_IMAGE_BYTES else None


def _rebuilt(image: tuple[bytes, str]) -> tuple[bytes, str] | None:
    """The image as our badge-image checks rebuild it (PNG re-encoded, SVG rebuilt from an allowlist: no
    script, handlers, foreign objects or outside references), or ``None`` when they refuse it. Whatever its
    source — an imported credential, a ``data:`` URI, another server — nothing else is served from our origin."""
    try:
        checked = check_image(image[0])
    except DomainError:
        return None
    return checked.data, checked.media_type


class ImageCache:
    """Badge images by URL (PNG or SVG only), within a byte budget; failures are not cached."""

    def __init__(self, budget: int = IMAGE_CACHE_BYTES) -> None:
        self._images: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._budget = budget
        self._lock = threading.Lock()

    def load(self, url: str | None, *, fetcher: Fetcher) -> tuple[bytes, str] | None:
        if not url:
            return None
        with self._lock:
            if url in self._images:
                self._images.move_to_end(url)
                return self._images[url]
        if url.startswith("data:"):
            image = _data_uri(url)
        else:
            try:
                result = fetcher.get(url, accept=IMAGE_TYPES)
            except Exception:  # an unreachable or refused image only means the page shows no picture
                return None
            media = result.content_type.split(";", 1)[0].strip().lower()
            image = (result.body, media) if media in IMAGE_TYPES and len(result.body) <= MAX_IMAGE_BYTES else None
        if image is None:
            return None
        image = _rebuilt(image)
        if image is None:
            return None
        with self._lock:
            if url not in self._images:
                self._images[url] = image
                self._size += len(image[0])
            while self._size > self._budget and self._images:
                _old, (data, _media) = self._images.popitem(last=False)
                self._size -= len(data)
        return image
