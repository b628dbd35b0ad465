"""PostgreSQL: the server process serving a request is killed (``pg_terminate_backend``) while the
request's transaction is open, after some of its rows were written, or every pooled connection dies while
idle (as when PostgreSQL restarts). The transaction is gone (nothing half-written), SQLAlchemy discards the
dead connections, and the server runs the request again on a fresh one (``wallet.web.retry``): the client
gets its answer, and every write happens exactly once. Only a connection lost on every run is a 503.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url
from wallet_protocol.sync import send

from tests.conftest import FakeClock
from tests.faults.conftest import row_counts
from wallet.models import Claim, HeldCredential, IssuedCredential, Role, SyncRow
from wallet.organisations import services as organisations
from wallet.web import retry

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "sleep", lambda _seconds: None)


@dataclasses.dataclass
class Kill:
    killed: list[int] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def backend_killed_at(engine: Engine, *, contains: str) -> Iterator[Kill]:
    """Before the first statement containing ``contains`` runs, terminate its backend from another session."""
    kill = Kill()
    dsn = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)

    def _terminate(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if kill.killed or contains.lower() not in statement.lower():
            return
        pid = cursor.connection.info.backend_pid
        with psycopg.connect(dsn, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)
        kill.killed.append(pid)

    event.listen(engine, "before_cursor_execute", _terminate)
    try:
        yield kill
    finally:
        event.remove(engine, "before_cursor_execute", _terminate)


def _sign_up(client: FlaskClient, username: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return {"headers": {"Authorization": f"Bearer {response.json['access_token']}"}, **response.json}


def _open_session(app: Flask, client: FlaskClient, clock: FakeClock) -> str:
    from tests.claims.conftest import make_achievement

    admin = _sign_up(client, "drop-admin")
    worker = _sign_up(client, "drop-worker")
    factory = app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="drop", name="Drop", now=clock.now)
        organisations.add_member(db, slug="drop", actor=None, username="drop-admin", role=Role.ADMIN, now=clock.now)
        organisations.add_member(
            db, slug="drop", actor=None, username="drop-worker", role=Role.YOUTH_WORKER, now=clock.now
        )
    with factory() as db:
        achievement_id = make_achievement(db, {"slug": "drop", "admin": _Who(admin["account_id"])}, now=clock.now)
    created = client.post(
        "/api/v1/organisations/drop/claim-sessions",
        headers=worker["headers"],
        json={
            "achievement_id": achievement_id,
            "title": "Drop",
            "venue": "Hall",
            "cap": 3,
            "starts_at": (clock.now - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (clock.now + dt.timedelta(hours=1)).isoformat(),
        },
    )
    assert created.status_code == 201, created.json
    qr = client.get(f"/api/v1/claim-sessions/{created.json['id']}/qr", headers=worker["headers"])
    return str(qr.json["url"])


@dataclasses.dataclass
class _Who:
    account_id: str


def test_a_claim_whose_connection_dies_mid_transaction_is_run_again_and_issues_exactly_once(
    committed_app: Flask, engine: Engine, clock: FakeClock
) -> None:
    client = committed_app.test_client()
    url = _open_session(committed_app, client, clock)
    sam = _sign_up(client, "sam-drop")
    factory = committed_app.extensions["wallet"].session_factory
    with factory() as db:
        before = row_counts(db)

    with backend_killed_at(engine, contains="INSERT INTO held_credentials") as kill:
        claimed = client.post("/api/v1/claims/redeem", headers=sam["headers"], json={"code": url})

    assert kill.killed
    assert claimed.status_code == 201, claimed.json  # the server ran it again on a fresh connection
    with factory() as db:
        assert row_counts(db) != before
    again = client.post("/api/v1/claims/redeem", headers=sam["headers"], json={"code": url})
    assert again.status_code == 200 and again.json["repeat"] is True
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 1
        assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 1
        assert db.scalar(select(func.count()).select_from(HeldCredential)) == 1


def test_a_sync_whose_connection_dies_mid_batch_is_run_again_and_applies_every_op_once(
    committed_app: Flask, engine: Engine, clock: FakeClock
) -> None:
    client = committed_app.test_client()
    kim = _sign_up(client, "kim-drop")
    client_id = client.post("/api/v1/sync/clients", json={}, headers=kim["headers"]).json["client_id"]
    stamp = None
    ops = []
    for op_seq in range(1, 6):
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
    factory = committed_app.extensions["wallet"].session_factory
    with factory() as db:
        before = row_counts(db)

    with backend_killed_at(engine, contains="INSERT INTO sync_rows") as kill:
        synced = client.post("/api/v1/sync", json=body, headers=kim["headers"])

    assert kill.killed
    assert synced.status_code == 200 and synced.json["acked_op_seq"] == 5, synced.json
    with factory() as db:
        assert row_counts(db) != before
    assert client.post("/api/v1/sync", json=body, headers=kim["headers"]).json["acked_op_seq"] == 5
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.kind == "collection")) == 5


def test_after_every_pooled_connection_died_idle_the_next_requests_just_work(
    committed_app: Flask, engine: Engine, clock: FakeClock
) -> None:
    """What a PostgreSQL restart does to a running node: no ping at check-out finds the dead connections;
    the first statement on one fails, the pool drops it and its elders, and the request runs again."""
    client = committed_app.test_client()
    url = _open_session(committed_app, client, clock)
    learners = [_sign_up(client, f"after-restart-{n}") for n in range(3)]
    assert client.get("/api/v1/me", headers=learners[0]["headers"]).status_code == 200
    dsn = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        # Every connection to this database but ours, as a restart would: killing only some let a later
        # read outside any request (below) draw a dead one the requests had never met.
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert killed and all(done for (done,) in killed)

    answers = [client.post("/api/v1/claims/redeem", headers=who["headers"], json={"code": url}) for who in learners]

    assert [answer.status_code for answer in answers] == [201, 201, 201]
    factory = committed_app.extensions["wallet"].session_factory
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 3
        assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 3


def test_a_connection_lost_during_commit_is_not_run_again_because_the_commit_may_have_happened() -> None:
    from psycopg import OperationalError as DriverOperationalError
    from sqlalchemy.exc import DBAPIError

    during_statement = DBAPIError.instance(
        "INSERT INTO x VALUES (1)",
        {},
        DriverOperationalError("server closed the connection"),
        Exception,
        connection_invalidated=True,
    )
    during_commit = DBAPIError.instance(
        None, None, DriverOperationalError("server closed the connection"), Exception, connection_invalidated=True
    )
    assert during_statement.connection_invalidated and during_commit.connection_invalidated
    assert retry.transient_conflict(during_statement) == "connection_lost"
    assert retry.transient_conflict(during_commit) is None
