"""A database error in the middle of a write: the client gets 503 + Retry-After, nothing is half-written,
and the identical retry succeeds.

Serialization failures and deadlocks are first re-run by the server itself (``wallet.web.retry``), so
here they fail on every one of its attempts before the client sees the 503; that a single one is
absorbed is the last test below (and tests/faults/test_deadlock_retry.py, with a real deadlock).

The failure is injected at the driver (see ``failing_statement``) part-way through each feature's
transaction — after some of its rows were already flushed — with the exception classes the real driver
raises: SQLite's "database is locked" and "disk I/O error"; PostgreSQL's serialization failure (40001),
deadlock (40P01), lock timeout (55P03) and statement timeout (57014).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from wallet_protocol.sync import send

from tests.claims.conftest import Venue, redeem
from tests.faults.conftest import assert_problem_503, failing_statement, row_counts
from wallet.models import HeldCredential, IssuedCredential, ShareLink, SyncRow
from wallet.web import retry


def _driver_errors(engine: Engine) -> dict[str, Callable[[], BaseException]]:
    if engine.dialect.name == "sqlite":
        import sqlite3

        return {
            "database is locked": lambda: sqlite3.OperationalError("database is locked"),
            "disk I/O error": lambda: sqlite3.OperationalError("disk I/O error"),
        }
    from psycopg import errors

    return {
        "serialization failure 40001": lambda: errors.SerializationFailure(
            "could not serialize access due to concurrent update"
        ),
        "deadlock 40P01": lambda: errors.DeadlockDetected("deadlock detected"),
        "lock timeout 55P03": lambda: errors.LockNotAvailable("canceling statement due to lock timeout"),
        "statement timeout 57014": lambda: errors.QueryCanceled("canceling statement due to statement timeout"),
    }


ERROR_KINDS = range(4)


@dataclasses.dataclass(frozen=True)
class DriverError:
    """A driver error, and how many runs of the request it meets (the server re-runs transient ones)."""

    make: Callable[[], BaseException]
    runs: int

    def __call__(self) -> BaseException:
        return self.make()


@pytest.fixture(autouse=True)
def _no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "sleep", lambda _seconds: None)


@pytest.fixture(params=ERROR_KINDS, ids=lambda n: f"error{n}")
def driver_error(request: pytest.FixtureRequest, engine: Engine) -> DriverError:
    """One of the backend's real driver errors (SQLite has two: the other two ids reuse them)."""
    errors = list(_driver_errors(engine).values())
    make = errors[request.param % len(errors)]
    return DriverError(make, retry.ATTEMPTS if retry.transient_conflict(_wrapped(make())) else 1)


def _wrapped(error: BaseException) -> DBAPIError:
    return DBAPIError.instance("SELECT 1", {}, error, Exception)


def test_a_sign_up_that_fails_after_the_account_row_leaves_no_account(
    app: Flask, client: FlaskClient, db: Session, engine: Engine, driver_error: DriverError
) -> None:
    body = {"username": "robin", "password": "correct horse battery", "device": {"name": "phone"}}
    before = row_counts(db)

    with failing_statement(
        engine, contains="INSERT INTO devices", error=driver_error, times=driver_error.runs
    ) as injected:
        failed = client.post("/api/v1/accounts", json=body)

    assert injected.fired == driver_error.runs
    assert_problem_503(failed)
    assert row_counts(db) == before
    retried = client.post("/api/v1/accounts", json=body)
    assert retried.status_code == 201, retried.json
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {retried.json['access_token']}"}).json["username"]
        == "robin"
    )


def test_a_claim_that_fails_after_signing_issues_nothing_and_the_retry_issues_once(
    venue: Venue,
    client: FlaskClient,
    sign_up: Any,
    db: Session,
    engine: Engine,
    driver_error: DriverError,
) -> None:
    session = venue.open(cap=1)
    url = venue.qr(session)["url"]
    sam = sign_up("sam")
    before = row_counts(db)

    with failing_statement(
        engine, contains="INSERT INTO held_credentials", error=driver_error, times=driver_error.runs
    ) as injected:
        failed = redeem(client, sam, url)

    assert injected.fired == driver_error.runs
    assert_problem_503(failed)
    assert row_counts(db) == before  # no claim, no issued credential, no status-list slot, no sync row
    retried = redeem(client, sam, url)
    assert retried.status_code == 201, retried.json
    again = redeem(client, sam, url)
    assert again.status_code == 200 and again.json["repeat"] is True
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 1
    assert db.scalar(select(func.count()).select_from(HeldCredential)) == 1
    count = client.get(f"/api/v1/claim-sessions/{session['id']}/count", headers=venue.worker.headers).json
    assert count["issued"] == 1  # the cap of 1 was not used up by the failed attempt


def test_a_sync_that_fails_part_way_through_its_batch_applies_nothing_and_the_resend_applies_all_once(
    client: FlaskClient,
    sign_up: Any,
    db: Session,
    engine: Engine,
    clock: Any,
    driver_error: DriverError,
) -> None:
    learner = sign_up()
    client_id = client.post("/api/v1/sync/clients", json={}, headers=learner.headers).json["client_id"]
    stamp = None
    ops = []
    for op_seq in range(1, 4):
        stamp = send(stamp, now_ms=int(clock.now.timestamp() * 1000), node=client_id)
        ops.append(
            {
                "type": "collection.create",
                "op_seq": op_seq,
                "hlc": str(stamp),
                "coll": str(uuid.uuid4()),
                "name": f"Folder {op_seq}",
            }
        )
    body = {"protocol": 1, "client_id": client_id, "cursor": None, "ops": ops}
    before = row_counts(db)

    with failing_statement(engine, contains="sync_rows", error=driver_error, skip=2) as injected:
        failed = client.post("/api/v1/sync", json=body, headers=learner.headers)

    assert injected.fired == 1
    if driver_error.runs > 1:  # a serialization failure or deadlock: the server's second run applied the batch
        assert failed.status_code == 200, failed.json
        assert failed.json["acked_op_seq"] == 3
    else:
        assert_problem_503(failed)
        assert row_counts(db) == before
    resent = client.post("/api/v1/sync", json=body, headers=learner.headers)
    assert resent.status_code == 200, resent.json
    assert resent.json["acked_op_seq"] == 3 and resent.json["rejected"] == []
    names = sorted(change["s"]["name"][0] for change in resent.json["changes"] if change["k"] == "collection")
    assert names == ["Folder 1", "Folder 2", "Folder 3"]
    replayed = client.post("/api/v1/sync", json=body, headers=learner.headers)
    assert replayed.json["acked_op_seq"] == 3
    assert db.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.kind == "collection")) == 3


def test_creating_a_share_link_that_fails_leaves_no_link(
    venue: Venue,
    client: FlaskClient,
    sign_up: Any,
    db: Session,
    engine: Engine,
    driver_error: DriverError,
) -> None:
    sam = sign_up("sam")
    held_id = redeem(client, sam, venue.qr(venue.open())["url"]).json["held_credential_id"]
    before = row_counts(db)

    with failing_statement(engine, contains="INSERT INTO share_links", error=driver_error, times=driver_error.runs):
        failed = client.post("/api/v1/shares", headers=sam.headers, json={"credential_id": held_id})

    assert_problem_503(failed)
    assert row_counts(db) == before
    created = client.post("/api/v1/shares", headers=sam.headers, json={"credential_id": held_id})
    assert created.status_code == 201, created.json
    assert db.scalar(select(func.count()).select_from(ShareLink)) == 1


def test_a_page_view_whose_counter_update_fails_is_503_and_counts_nothing(
    venue: Venue,
    client: FlaskClient,
    sign_up: Any,
    db: Session,
    engine: Engine,
    driver_error: DriverError,
) -> None:
    sam = sign_up("sam")
    held_id = redeem(client, sam, venue.qr(venue.open())["url"]).json["held_credential_id"]
    link = client.post("/api/v1/shares", headers=sam.headers, json={"credential_id": held_id}).json
    path = "/s/" + link["url"].rsplit("/s/", 1)[1]

    with failing_statement(engine, contains="UPDATE share_links", error=driver_error, times=driver_error.runs):
        failed = client.get(path)

    assert failed.status_code == 503 and failed.headers["Retry-After"].isdigit()
    assert client.get(path).status_code == 200
    listed = client.get(f"/api/v1/shares/{link['id']}", headers=sam.headers).json
    assert listed["view_count"] == 1


@pytest.mark.postgres
def test_one_serialization_failure_or_deadlock_is_absorbed_by_the_server(
    venue: Venue, client: FlaskClient, sign_up: Any, db: Session, engine: Engine
) -> None:
    from psycopg import errors

    session = venue.open(cap=2)
    url = venue.qr(session)["url"]
    for who, error in (("sam", errors.SerializationFailure), ("kim", errors.DeadlockDetected)):
        learner = sign_up(who)
        with failing_statement(engine, contains="INSERT INTO held_credentials", error=lambda e=error: e("x")) as once:
            claimed = redeem(client, learner, url)
        assert once.fired == 1
        assert claimed.status_code == 201, claimed.json  # the server's second run succeeded
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 2
    assert db.scalar(select(func.count()).select_from(HeldCredential)) == 2
