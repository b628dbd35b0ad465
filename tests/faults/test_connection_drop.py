"""PostgreSQL: the server process serving a request is killed (``pg_terminate_backend``) while the
request's transaction is open, after some of its rows were written. The client gets 503 + Retry-After, the
transaction is gone (nothing half-written), the pool replaces the dead connection, and the retry succeeds.
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
from tests.faults.conftest import assert_problem_503, row_counts
from wallet.models import Claim, HeldCredential, IssuedCredential, Role, SyncRow
from wallet.organisations import services as organisations

pytestmark = pytest.mark.postgres


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


def test_a_claim_whose_connection_dies_mid_transaction_is_503_and_the_retry_issues_exactly_once(
    committed_app: Flask, engine: Engine, clock: FakeClock
) -> None:
    client = committed_app.test_client()
    url = _open_session(committed_app, client, clock)
    sam = _sign_up(client, "sam-drop")
    factory = committed_app.extensions["wallet"].session_factory
    with factory() as db:
        before = row_counts(db)

    with backend_killed_at(engine, contains="INSERT INTO held_credentials") as kill:
        failed = client.post("/api/v1/claims/redeem", headers=sam["headers"], json={"code": url})

    assert kill.killed
    assert_problem_503(failed)
    with factory() as db:
        assert row_counts(db) == before
    retried = client.post("/api/v1/claims/redeem", headers=sam["headers"], json={"code": url})
    assert retried.status_code == 201, retried.json
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 1
        assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 1
        assert db.scalar(select(func.count()).select_from(HeldCredential)) == 1


def test_a_sync_whose_connection_dies_mid_batch_applies_nothing_and_the_resend_applies_every_op_once(
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
        failed = client.post("/api/v1/sync", json=body, headers=kim["headers"])

    assert kill.killed
    assert_problem_503(failed)
    with factory() as db:
        assert row_counts(db) == before
    resent = client.post("/api/v1/sync", json=body, headers=kim["headers"])
    assert resent.status_code == 200 and resent.json["acked_op_seq"] == 5
    assert client.post("/api/v1/sync", json=body, headers=kim["headers"]).json["acked_op_seq"] == 5
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.kind == "collection")) == 5
