"""Server actions a device queued offline (``claim.redeem``, ``share.create``, ``import.url``).

Features register a handler in :data:`ACTION_HANDLERS` under the op type. During a sync the server
calls ``handler(db, account_id=…, op=…, now=…, fetcher=…)`` inside a savepoint; the handler returns the action's
JSON ``result`` (e.g. ``{"cred": "sha256:…"}``) or raises a ``DomainError`` whose code becomes the
failed outcome. Either way the outcome is written as an ``action_result`` row that every device
receives. An op whose type has no handler is rejected with ``action.unsupported``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from wallet_protocol.sync.ops import ImportUrl

from wallet.errors import DomainError
from wallet.holding import services as holding
from wallet.transactions import keeps_changes

ActionHandler = Callable[..., dict[str, Any]]
"""``handler(db, *, account_id: uuid.UUID, op: Op, now: dt.datetime, fetcher: Fetcher | None) -> dict``.

``fetcher`` is the app's guarded HTTP fetcher, or ``None`` where the server may not reach the network.
"""

ACTION_HANDLERS: dict[str, ActionHandler] = {}
"""Op type → handler. Claims and sharing add theirs; ``import.url`` is the credential store's import by URL."""

UNSUPPORTED = "action.unsupported"

TRANSIENT_CODES = frozenset({"request.rate_limited"})
"""Refusals that say "not now" rather than "no": the op is not judged, so it is not acked either."""


class Deferred(Exception):
    """A server action refused for now (e.g. the claim-code guessing limit): a transient rejection.

    The sync stops at this op without acking it (docs/sync.md I5, §8), so the device keeps it queued —
    with its ``scanned_at`` — and sends it again after ``retry_after`` seconds.
    """

    def __init__(self, code: str, detail: str, retry_after: int | None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


def import_url(
    db: Session, *, account_id: uuid.UUID, op: ImportUrl, now: dt.datetime, fetcher: Any | None
) -> dict[str, Any]:
    """Fetch, verify and hold the credential at ``op.url`` (the credential store's import by URL).

    The store records the new wallet entry, so it reaches every device in this very sync.
    """
    if fetcher is None:
        raise DomainError("credential.fetch_failed", "This server does not fetch credentials by URL.")
    credential = holding.import_from_url(db, account_id=account_id, url=op.url, fetcher=fetcher, now=now)
    return {"cred": credential.content_hash}


ACTION_HANDLERS[ImportUrl.TYPE] = import_url


def run_action(
    db: Session, *, account_id: uuid.UUID, op: Any, now: dt.datetime, fetcher: Any | None
) -> tuple[str, str | None, dict[str, Any]]:
    """Run ``op``'s handler; ``(status, code, result)``. A ``DomainError`` is a failed outcome, except a
    transient one (:data:`TRANSIENT_CODES`), raised as :class:`Deferred` after its savepoint rolled back."""
    handler = ACTION_HANDLERS[op.TYPE]
    kept: DomainError | None = None
    try:
        with db.begin_nested():
            try:
                result = handler(db, account_id=account_id, op=op, now=now, fetcher=fetcher)
            except DomainError as error:
                # A refusal that did bookkeeping which must stand (a counted wrong PIN: see
                # wallet.transactions) keeps its savepoint; any other rolls back.
                if not keeps_changes(error):
                    raise
                kept = error
    except DomainError as error:
        if error.code in TRANSIENT_CODES:
            raise Deferred(error.code, error.detail, error.extra.get("retry_after")) from error
        return "failed", error.code, {"detail": error.detail}
    if kept is not None:
        return "failed", kept.code, {"detail": kept.detail}
    return "done", None, dict(result or {})
