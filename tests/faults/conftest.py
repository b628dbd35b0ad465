"""Fault-injection helpers: make one database statement fail the way a real driver error would.

``failing_statement`` listens on the dialect's ``do_execute`` hooks (inside SQLAlchemy's DBAPI error
wrapping), so the application sees exactly what a dropped connection, a locked SQLite file or a
PostgreSQL serialization failure produces: a ``sqlalchemy.exc.OperationalError`` wrapping the driver's
own exception class — raised at the Nth statement that matches, in the middle of a request's transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from tests.claims.conftest import Venue, make_achievement
from tests.conftest import FakeClock
from wallet.config import Settings
from wallet.db import Base


@dataclasses.dataclass
class Injected:
    """How often the fault fired, and the statements it fired on."""

    fired: int = 0
    statements: list[str] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def failing_statement(
    engine: Engine, *, contains: str, error: Callable[[], BaseException], times: int = 1, skip: int = 0
) -> Iterator[Injected]:
    """Statements whose SQL contains ``contains`` (case-insensitive) raise ``error()``: the first ``skip``
    matches run normally, the next ``times`` fail."""
    injected = Injected()
    needle = contains.lower()
    seen = 0

    def _maybe_fail(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        nonlocal seen
        if needle not in statement.lower():
            return False
        seen += 1
        if seen > skip and injected.fired < times:
            injected.fired += 1
            injected.statements.append(statement)
            raise error()
        return False

    event.listen(engine, "do_execute", _maybe_fail)
    event.listen(engine, "do_executemany", _maybe_fail)
    try:
        yield injected
    finally:
        event.remove(engine, "do_execute", _maybe_fail)
        event.remove(engine, "do_executemany", _maybe_fail)


def row_counts(db: Session) -> dict[str, int]:
    """Rows in every table but the rate-limit counters (which count attempts, failed ones included)."""
    db.expire_all()
    return {
        table.name: int(db.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
        if table.name != "rate_limit_buckets"
    }


def assert_problem_503(response: Any) -> None:
    """What a client must see when the database failed: a retryable problem, never a 500."""
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"].isdigit()
    assert response.json["code"] == "server.unavailable"
    assert response.json["retry_after"] == int(response.headers["Retry-After"])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Claim stories move no clock here, but long tokens keep auth out of the way."""
    return dataclasses.replace(settings, access_token_ttl_seconds=30 * 86_400)


@pytest.fixture
def venue(client: FlaskClient, db: Session, organisation: Any, clock: FakeClock) -> Venue:
    org = organisation()
    return Venue(client, org, make_achievement(db, org, now=clock.now), clock)


def future(clock: FakeClock, **delta: float) -> str:
    return (clock.now + dt.timedelta(**delta)).isoformat()


def new_id() -> str:
    return str(uuid.uuid4())
