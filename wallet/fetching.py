"""The one way the app builds its fetcher: its own documents answered locally, everything else guarded.

``create_app()`` keeps one on the app state (API views, pages and queued sync actions use it through
``wallet.web.context.fetcher()``); the scheduler's jobs and the CLI build the same thing around their own
transaction. One policy everywhere: the guarded fetcher's defaults and ``WALLET_FETCH_ALLOW_PRIVATE``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from wallet.config import Settings
from wallet.credentials.fetcher import GuardedFetcher, LocalFirstFetcher
from wallet.issuing.published import PublishedDocuments


def build_fetcher(settings: Settings, *, session: Callable[[], Session], offline: bool = False) -> LocalFirstFetcher:
    """The app's fetcher; ``session`` is the caller's (answers see its uncommitted writes).

    ``offline`` keeps the local answers and fetches nothing from the network.
    """
    remote = None if offline else GuardedFetcher(allow_private=settings.fetch_allow_private)
    local = PublishedDocuments(session=session, base_url=settings.base_url)
    return LocalFirstFetcher(local=local.answer, remote=remote)
