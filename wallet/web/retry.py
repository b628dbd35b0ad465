"""Run a request again when PostgreSQL aborted its transaction for a serialization failure or a deadlock,
or its connection was lost.

PostgreSQL answers some concurrent transactions with SQLSTATE 40001 (serialization_failure) or 40P01
(deadlock_detected) and rolls them back whole: the request's database work did not happen, and running
it again usually succeeds at once. A connection that died (PostgreSQL restarted, the backend was
terminated, the network dropped it) takes its open transaction with it just the same; SQLAlchemy then
discards it and every pooled connection older than it (``connection_invalidated``), so the next run gets a
fresh one. That is how dead pooled connections are handled — optimistically, instead of a ping at every
check-out (``pool_pre_ping``, a round trip per check-out: three per claim; ``wallet.db.make_engine``).
So rather than answer 503 and leave every client to retry, the server re-runs the view itself — bounded
(:data:`ATTEMPTS`), with a short jittered pause — and only when doing so is safe: the error is one of
those, and this request committed no write before it
(:func:`committed_in_request`; a view that commits step by step is not re-run after its first commit).
Anything else, or the last attempt's failure, still reaches the 503 handler in ``wallet.app``. Rate-limit
hits are counted on their own connection, so a re-run request counts once more against its limits.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import weakref
from collections.abc import Callable
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("wallet.http")

ATTEMPTS = 4
"""Runs of one request in all: the first and at most three more."""
BACKOFF_S = 0.02
"""Pause before the second run; doubled for each further one, with full jitter."""
TRANSIENT_SQLSTATES = {"40001": "serialization_failure", "40P01": "deadlock_detected"}

sleep: Callable[[float], None] = time.sleep
"""How the retry waits (tests make it a no-op)."""


def transient_conflict(error: BaseException) -> str | None:
    """The condition name when ``error`` is a serialization failure or deadlock PostgreSQL rolled back, or
    a lost connection (its transaction is gone with it)."""
    if not isinstance(error, DBAPIError):
        return None
    if error.connection_invalidated:
        # Lost while a statement ran: the transaction died with it, nothing was committed. Lost during
        # COMMIT (no statement: SQLAlchemy wraps the DBAPI's commit() with none) it may have been
        # committed, so that one is not run again: it stays the 503 the client may retry knowingly.
        return "connection_lost" if error.statement else None
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return TRANSIENT_SQLSTATES.get(str(state)) if state else None


def watch_commits(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Mark the request as having committed once a session of ``factory`` commits a transaction that wrote.

    A read-only transaction ended early (the rate limiter does, :func:`wallet.web.limits.enforce`)
    changes nothing, so it does not stop a re-run; one that flushed or ran an UPDATE/DELETE/INSERT does.
    The listeners are registered on the factory the first time (then this is a set look-up), not on each
    request's session: registering three listeners per request cost more than some statements.
    """
    if factory in _watched:
        return factory
    _watched.add(factory)

    @event.listens_for(factory, "after_flush")
    def _flushed(session: Session, _context: Any) -> None:
        session.info[_WROTE] = True

    @event.listens_for(factory, "do_orm_execute")
    def _executed(state: Any) -> None:
        if not state.is_select:
            state.session.info[_WROTE] = True

    @event.listens_for(factory, "after_commit")
    def _committed(committed: Session) -> None:
        # Releasing a SAVEPOINT (begin_nested) fires this too; only the outermost commit makes writes stand.
        if committed.in_nested_transaction():
            return
        # Only the request's own session counts: the rate limiter commits its hits on sessions of its own.
        if committed.info.pop(_WROTE, False) and has_request_context() and g.get("db") is committed:
            g.db_committed = True

    return factory


_watched: weakref.WeakSet[sessionmaker[Session]] = weakref.WeakSet()
_WROTE = "wallet.web.retry.wrote"


def committed_in_request() -> bool:
    return bool(g.get("db_committed", False))


def _discard_session() -> None:
    session = g.pop("db", None)
    if session is not None:
        session.rollback()
        session.close()


def retrying(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view``, re-run after a transient conflict while nothing of the request has been committed."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        # Keep the body (at most WALLET_MAX_REQUEST_BYTES) so that a second run reads it again, even in a
        # view that reads it with get_data(cache=False).
        request.get_data(cache=True)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return view(*args, **kwargs)
            except DBAPIError as error:
                condition = transient_conflict(error)
                if condition is None or attempt == ATTEMPTS or committed_in_request():
                    raise
                log.info(
                    "transaction retried",
                    extra={"event": "db_retry", "condition": condition, "attempt": attempt},
                )
                _discard_session()
                sleep(random.uniform(0, BACKOFF_S * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    return run


def retry_every_view(app: Any) -> None:
    """Wrap every registered view (call after the blueprints are registered)."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = retrying(view)
