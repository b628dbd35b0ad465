"""Fixed-window rate limiting shared by every worker process, on SQLite and PostgreSQL.

Each hit is one atomic upsert (``INSERT … ON CONFLICT (key) DO UPDATE … RETURNING``; one statement for
all the buckets a request counts on): the first hit in a window writes ``count = 1``, later hits in the
same window add one, a hit in a later window starts the count again. No read-check-write in Python, so
two workers cannot both see "one left".

A fixed window lets a client send up to twice the limit around a window boundary; the limits in
``wallet.config`` are chosen with that in mind.

The count must survive the request that caused it: a failed login rolls its own transaction back, and the
attempt must still count. So callers record hits in a short transaction of their own —
:func:`record_hit` does that with a session factory — never in the request's session.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from wallet.models.ratelimit import RateLimitBucket

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: whether to serve it, and what to tell the client."""

    allowed: bool
    retry_after_seconds: int
    remaining: int
    limit: int
    granted: int = 1
    """How many of the hits counted at once (``cost``) fit within the limit."""


def bucket_key(*parts: str) -> str:
    """A bucket key from its parts (``"login", "ip", "203.0.113.9"``).

    Parts come from clients (a typed username), so a key that would be too long is shortened to a hash
    of itself rather than truncated (two long usernames must not share a bucket).
    """
    key = ":".join(parts)
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{parts[0][:60]}:sha256:{digest}"


def window_bounds(now: dt.datetime, window: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """The fixed window containing ``now``: windows are aligned to the Unix epoch."""
    seconds = window.total_seconds()
    if seconds <= 0:
        raise ValueError("a rate-limit window must be positive")
    index = math.floor((now - _EPOCH).total_seconds() / seconds)
    start = _EPOCH + dt.timedelta(seconds=index * seconds)
    return start, start + window


def hit(db: Session, *, key: str, limit: int, window: dt.timedelta, now: dt.datetime, cost: int = 1) -> Decision:
    """Count ``cost`` hits on ``key`` and say whether they are within ``limit`` hits per ``window``.

    Flushes nothing else and never commits: the caller owns the (separate, short) transaction.
    """
    return hit_all(db, [Limit(key, limit, window)], now=now, cost=cost)[0]


def hit_all(db: Session | Connection, limits: Sequence[Limit], *, now: dt.datetime, cost: int = 1) -> list[Decision]:
    """:func:`hit` on each of ``limits`` in one upsert of several rows; the decisions in their order.

    The rows are written in key order, so two transactions counting on the same buckets lock them in
    the same order. Limits sharing a bucket are counted one after the other, as separate hits.
    """
    if cost < 1:
        raise ValueError("a hit costs at least 1")
    keys = [bucket_key(entry.key) for entry in limits]
    if len(set(keys)) != len(keys):
        return [hit_all(db, [entry], now=now, cost=cost)[0] for entry in limits]
    rows = []
    for key, entry in sorted(zip(keys, limits, strict=True), key=lambda pair: pair[0]):
        start, end = window_bounds(now, entry.window)
        rows.append({"key": key, "window_start": start, "window_end": end, "count": cost})
    dialect = (db.dialect if isinstance(db, Connection) else db.get_bind().dialect).name
    statement = _upsert(dialect)
    counts = {key: int(count) for key, count in db.execute(statement, rows)}
    decisions = []
    for key, entry in zip(keys, limits, strict=True):
        count = counts[key]
        _, end = window_bounds(now, entry.window)
        allowed = count <= entry.limit
        retry_after = 0 if allowed else max(1, math.ceil((end - now).total_seconds()))
        decisions.append(
            Decision(
                allowed=allowed,
                retry_after_seconds=retry_after,
                remaining=max(0, entry.limit - count),
                limit=entry.limit,
                granted=max(0, min(cost, entry.limit - (count - cost))),
            )
        )
    return decisions


@functools.cache
def _upsert(dialect: str) -> Any:
    """The counting upsert, built once per dialect.

    The rows are parameters of one statement (SQLAlchemy's "insertmanyvalues": still one round trip),
    not ``.values(rows)``: a multi-row VALUES clause is never in the compiled cache, and compiling the
    upsert afresh cost more than the rest of the limiter.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = RateLimitBucket.__table__
    statement = insert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case(
                (table.c.window_start == excluded.window_start, table.c.count + excluded.count), else_=excluded.count
            ),
            "window_start": excluded.window_start,
            "window_end": excluded.window_end,
        },
    ).returning(table.c.key, table.c.count)


@dataclass(frozen=True)
class Limit:
    """``limit`` hits per ``window`` on ``key``; a limit of 0 or less means "not limited"."""

    key: str
    limit: int
    window: dt.timedelta


@contextmanager
def _counting_session(session_factory: sessionmaker[Session]) -> Iterator[Session | Connection]:
    """A transaction of its own, committed on the way out.

    On PostgreSQL the counting is one statement, atomic by itself, so it runs on an autocommit
    connection, without a session: no BEGIN and COMMIT round trips, no unit of work.
    """
    bind = session_factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection
        return
    with session_factory.begin() as db:
        yield db


def record_hits(
    session_factory: sessionmaker[Session], limits: Sequence[Limit], *, now: dt.datetime
) -> Decision | None:
    """Count one hit on every active limit in its own committed transaction; the strictest refusal wins.

    Returns ``None`` when every limit allows the hit (or none is active), else the refusal with the
    longest ``retry_after_seconds``. Every limit is counted even when an earlier one refuses, so a client
    cannot dodge the per-account count by tripping the per-IP one first.
    """
    active = [entry for entry in limits if entry.limit > 0]
    if not active:
        return None
    with _counting_session(session_factory) as db:
        decisions = hit_all(db, active, now=now)
    refusals = [decision for decision in decisions if not decision.allowed]
    if not refusals:
        return None
    return max(refusals, key=lambda decision: decision.retry_after_seconds)


@dataclass(frozen=True)
class Grant:
    """How many of ``cost`` attempts counted at once every limit allows, and when to try the rest."""

    granted: int
    retry_after_seconds: int


def reserve_hits(
    session_factory: sessionmaker[Session], limits: Sequence[Limit], *, cost: int, now: dt.datetime
) -> Grant:
    """Count ``cost`` attempts at once on every active limit, in its own committed transaction.

    For a batch that will make several attempts inside one long transaction (a sync carrying queued
    claims), where counting each attempt in a transaction of its own is impossible: the batch reserves
    its attempts first and may make ``granted`` of them. Every limit counts all ``cost`` hits.
    """
    active = [entry for entry in limits if entry.limit > 0]
    if not active or cost <= 0:
        return Grant(max(cost, 0), 0)
    with _counting_session(session_factory) as db:
        decisions = hit_all(db, active, now=now, cost=cost)
    granted = min(decision.granted for decision in decisions)
    retry_after = max(decision.retry_after_seconds for decision in decisions)
    return Grant(granted, retry_after)


def purge(db: Session, *, now: dt.datetime) -> int:
    """Delete the buckets whose window has ended; returns how many. Idempotent (a scheduled job calls it)."""
    result = db.execute(delete(RateLimitBucket).where(RateLimitBucket.window_end <= now))
    return int(result.rowcount or 0)
