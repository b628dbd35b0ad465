"""Server actions a device queued offline (``claim.redeem``, ``share.create``, ``import.url``, ``badge.request``).

Each action is a function over the feature's service; :func:`action_handlers` puts them in one table,
which ``create_app()`` builds once (with the app's claim keys and base URL) and keeps on the app state.
During a sync the server calls ``handler(db, account_id=…, op=…, now=…, fetcher=…)`` inside a savepoint;
the handler returns the action's JSON ``result`` (e.g. ``{"cred": "sha256:…"}``) or raises a
``DomainError`` whose code becomes the failed outcome. Either way the outcome is written as an
``action_result`` row that every device receives. An op whose type has no handler in the table is
rejected with ``action.unsupported`` (a test checks the table covers ``wallet_protocol``'s list).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from wallet_protocol.sync.ops import ClaimRedeem, ImportUrl, RequestBadge, ShareCreate

from wallet.claims.policy import ClaimConfig
from wallet.claims.redeem import redeem_code
from wallet.errors import DomainError
from wallet.holding import services as holding
from wallet.models import HeldCredential, ShareLink, ShareTarget
from wallet.sharing import services as sharing
from wallet.transactions import keeps_changes

ActionHandler = Callable[..., dict[str, Any]]
"""``handler(db, *, account_id: uuid.UUID, op: Op, now: dt.datetime, fetcher: Fetcher | None) -> dict``.

``fetcher`` is the app's guarded HTTP fetcher, or ``None`` where the server may not reach the network.
"""

ActionTable = Mapping[str, ActionHandler]
"""Op type → handler, built by :func:`action_handlers`."""

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


MAX_SHARE_LABEL_LENGTH: int = ShareLink.__table__.c.label.type.length
"""The protocol allows longer labels than a share link stores; a longer one fails the action, clearly."""


def import_url(
    db: Session,
    *,
    account_id: uuid.UUID,
    op: ImportUrl,
    now: dt.datetime,
    fetcher: Any | None,
    claim_guard: Any | None = None,
) -> dict[str, Any]:
    """Fetch, verify and hold the credential at ``op.url`` (the credential store's import by URL).

    The store records the new wallet entry, so it reaches every device in this very sync.
    """
    if fetcher is None:
        raise DomainError("credential.fetch_failed", "This server does not fetch credentials by URL.")
    credential = holding.import_from_url(db, account_id=account_id, url=op.url, fetcher=fetcher, now=now)
    return {"cred": credential.content_hash}


def redeem_claim(
    db: Session,
    *,
    account_id: uuid.UUID,
    op: ClaimRedeem,
    now: dt.datetime,
    fetcher: Any | None,
    config: ClaimConfig,
    claim_guard: Any | None = None,
) -> dict[str, Any]:
    """The sync action ``claim.redeem``: a claim scanned offline, redeemed at the next sync.

    Judged like any claim, with the op's ``scanned_at`` (ms since the epoch, the phone's clock) under
    the offline rules of docs/claims.md. The result names the credential by content hash, so devices
    find it in the wallet entry that the same sync delivers.
    """
    scanned_at = dt.datetime.fromtimestamp(op.scanned_at / 1000, dt.UTC) if op.scanned_at else None
    if claim_guard is None:
        raise DomainError("request.rate_limited", "This sync reserved no claim-code budget; try again.", retry_after=1)
    redemption = redeem_code(
        db,
        account_id=account_id,
        code=op.code,
        pin=op.pin,
        scanned_at=scanned_at,
        now=now,
        config=config,
        guard=claim_guard,
    )
    result: dict[str, Any] = {
        "claim_id": str(redemption.claim.id),
        "status": redemption.claim.status.value,
        "repeat": not redemption.created,
    }
    held_id = redemption.claim.held_credential_id
    if held_id is not None:
        held = db.get(HeldCredential, held_id)
        if held is not None:
            result["cred"] = held.content_hash  # the store recorded the entry when it was issued
    return result


def create_share(
    db: Session,
    *,
    account_id: uuid.UUID,
    op: ShareCreate,
    now: dt.datetime,
    fetcher: Any | None,
    base_url: str,
    claim_guard: Any | None = None,
) -> dict[str, Any]:
    """The sync action ``share.create``: a share link asked for offline, made at the next sync.

    A link shows one credential or one collection (docs/sync.md §5.3): ``creds`` naming several
    credentials fails with ``request.validation_failed`` — put them in a collection and share that.
    A credential the server does not hold is ``credential.not_found``; a collection that is not live
    in the wallet (as this sync leaves it) is ``collection.not_found``.
    """
    label = op.label or ""
    if len(label) > MAX_SHARE_LABEL_LENGTH:
        raise DomainError(
            "request.validation_failed", f"A share link's label has at most {MAX_SHARE_LABEL_LENGTH} characters."
        )
    if op.creds is not None:
        if len(op.creds) != 1:
            raise DomainError(
                "request.validation_failed",
                "A share link shows one credential; put several in a collection and share that.",
            )
        held_id = db.scalar(
            select(HeldCredential.id).where(
                HeldCredential.account_id == account_id, HeldCredential.content_hash == op.creds[0]
            )
        )
        if held_id is None:
            raise DomainError("credential.not_found")
        kind, target_id = ShareTarget.CREDENTIAL, held_id
    else:
        kind, target_id = ShareTarget.COLLECTION, uuid.UUID(str(op.coll))
    expires_at = now + dt.timedelta(days=op.expires_in_days) if op.expires_in_days else None
    link = sharing.create_share(
        db, account_id=account_id, target_kind=kind, target_id=target_id, label=label, expires_at=expires_at, now=now
    )
    return {
        "share_id": str(link.id),
        "url": sharing.share_url(base_url, link.slug),
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


def request_badge(
    db: Session,
    *,
    account_id: uuid.UUID,
    op: RequestBadge,
    now: dt.datetime,
    fetcher: Any | None,
    claim_guard: Any | None = None,
) -> dict[str, Any]:
    """The sync action ``badge.request``: a badge request written offline, submitted at the next sync.

    The same op resent (a lost response) finds the request its ``action_id`` made and answers the same
    result; later decisions rewrite this action's result (docs/requests.md, "Every device").
    """
    from wallet.requests import services as requests

    request = requests.submit_request(
        db,
        account_id=account_id,
        achievement_id=uuid.UUID(op.achievement),
        narrative=op.narrative,
        links=list(op.links),
        witness=op.witness or "",
        action_id=op.action_id,
        now=now,
        announce=False,
    )
    return requests.outcome(db, request)


def action_handlers(*, claim_config: ClaimConfig, base_url: str) -> dict[str, ActionHandler]:
    """The table of server actions for one app: every type in ``wallet_protocol.sync.ops.SERVER_ACTIONS``."""
    return {
        ClaimRedeem.TYPE: functools.partial(redeem_claim, config=claim_config),
        ShareCreate.TYPE: functools.partial(create_share, base_url=base_url),
        ImportUrl.TYPE: import_url,
        RequestBadge.TYPE: request_badge,
    }


def run_action(
    db: Session,
    *,
    handlers: ActionTable,
    account_id: uuid.UUID,
    op: Any,
    now: dt.datetime,
    fetcher: Any | None,
    claim_guard: Any | None = None,
) -> tuple[str, str | None, dict[str, Any]]:
    """Run ``op``'s handler from ``handlers``; ``(status, code, result)``. A ``DomainError`` is a failed outcome,
    except a transient one (:data:`TRANSIENT_CODES`), raised as :class:`Deferred` after its savepoint rolled back.

    ``claim_guard`` is this request's claim-code budget (:class:`wallet.claims.guessing.CodeGuard`), which
    the sync view reserved before the sync's transaction; only ``claim.redeem`` spends from it.
    """
    handler = handlers[op.TYPE]
    kept: DomainError | None = None
    try:
        with db.begin_nested():
            try:
                result = handler(db, account_id=account_id, op=op, now=now, fetcher=fetcher, claim_guard=claim_guard)
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
