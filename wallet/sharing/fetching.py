"""Fetching for the share page: this service's own URLs answered in process, others through the guard.

Credentials issued here name URLs under ``base_url`` (issuer profile, status list, achievement image).
Fetching those over the network from inside a request would need the server to reach its own public
address (often impossible behind a proxy, and a deadlock for a single-threaded server), so they are
answered by calling the WSGI app directly. Everything else goes through
:class:`wallet.credentials.fetcher.GuardedFetcher` (SSRF-safe).

Images are cached by URL with a byte budget: the page serves badge images from its own origin, so an
employer's browser never contacts a third party (no tracking pixels, no leaked share URLs).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from werkzeug.test import Client

from wallet.credentials.fetcher import FetchFailed, FetchResult

IMAGE_TYPES = ("image/png", "image/svg+xml")
MAX_IMAGE_BYTES = 2_000_000
IMAGE_CACHE_BYTES = 64_000_000


class Fetcher(Protocol):
    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult: ...


class LocalFirstFetcher:
    """A :class:`Fetcher` that serves ``base_url`` URLs from ``wsgi_app`` and sends the rest to ``remote``.

    ``isolated`` opens a fresh per-request context around the inner call. Flask needs it: a request made
    inside another request of the same app would otherwise share its ``g``, and close its database session.
    """

    def __init__(
        self,
        wsgi_app: Callable[..., Any],
        *,
        base_url: str,
        remote: Fetcher | None,
        isolated: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self._app = wsgi_app
        self._base = base_url.rstrip("/")
        self._remote = remote
        self._isolated = isolated

    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult:
        if url.startswith(self._base + "/"):
            with self._isolated():
                response = Client(self._app).get(url[len(self._base) :], headers={"Accept": ", ".join(accept)})
                body = response.get_data()
            content_type = response.headers.get("Content-Type", "")
            if not 200 <= response.status_code < 300:
                raise FetchFailed(f"{url} answered {response.status_code}", url=url, status=response.status_code)
            media = content_type.split(";", 1)[0].strip().lower()
            if accept and media not in accept:
                raise FetchFailed(f"{url} is {media or 'untyped'}, not {' or '.join(accept)}", url=url)
            return FetchResult(url=url, status=response.status_code, content_type=content_type, body=body)
        if self._remote is None:
            raise FetchFailed(f"{url} is not fetched (offline)", url=url)
        return self._remote.get(url, accept=accept)


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
        with self._lock:
            if url not in self._images:
                self._images[url] = image
                self._size += len(image[0])
            while self._size > self._budget and self._images:
                _old, (data, _media) = self._images.popitem(last=False)
                self._size -= len(data)
        return image
