"""SQLite busy: another process holds the write lock past the busy timeout → 503 + Retry-After, never 500.

Runs against its own SQLite file whatever the suite's database (the rolled-back test transaction would
hold the lock itself), with a 150 ms busy timeout instead of the service's 10 s so the test is quick.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from tests.conftest import FakeClock
from tests.faults.conftest import assert_problem_503
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import make_engine
from wallet.migrate import upgrade

BUSY_TIMEOUT_MS = 150


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("busy") / "wallet.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def impatient_engine(sqlite_file: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{sqlite_file}")

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:  # runs after the service's own
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    yield engine
    engine.dispose()


@pytest.fixture
def busy_client(impatient_engine: Engine, sqlite_file: Path, tmp_path: Path, clock: FakeClock) -> FlaskClient:
    settings = Settings(
        database_url=f"sqlite:///{sqlite_file}",
        instance_path=str(tmp_path / "instance"),
        password_hash_profile="CHEAPEST",
        log_json=False,
        log_level="WARNING",
        run_scheduler=False,
    )
    return create_app(settings, clock=clock, engine=impatient_engine).test_client()


def _sign_up(client: FlaskClient, username: str) -> Any:
    return client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )


def test_a_locked_database_answers_503_for_reads_and_writes_and_the_retry_succeeds(
    busy_client: FlaskClient, sqlite_file: Path
) -> None:
    robin = _sign_up(busy_client, "robin-busy")
    assert robin.status_code == 201
    headers = {"Authorization": f"Bearer {robin.json['access_token']}"}
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        answers = [
            _sign_up(busy_client, "kim-busy"),
            busy_client.patch("/api/v1/me", json={"display_name": "Robin"}, headers=headers),
            busy_client.get("/api/v1/me", headers=headers),
            busy_client.get("/readyz"),
        ]
        elapsed = time.monotonic() - started
    finally:
        other.rollback()
        other.close()

    for answer in answers[:3]:
        assert_problem_503(answer)
    assert answers[3].status_code == 200  # /readyz: the file is there and readable; the service is alive
    assert elapsed < 4 * (BUSY_TIMEOUT_MS / 1000) * len(answers) + 2  # waited for the lock, then gave up
    assert _sign_up(busy_client, "kim-busy").status_code == 201
    assert busy_client.patch("/api/v1/me", json={"display_name": "Robin"}, headers=headers).status_code == 200


def test_a_lock_released_within_the_busy_timeout_is_simply_waited_for(
    busy_client: FlaskClient, sqlite_file: Path
) -> None:
    import threading

    other = sqlite3.connect(sqlite_file, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(BUSY_TIMEOUT_MS / 1000 / 3, other.rollback)
    release.start()
    try:
        answer = _sign_up(busy_client, "sam-waits")
    finally:
        release.join()
        other.close()

    assert answer.status_code == 201, answer.json
