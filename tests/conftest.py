"""Test fixtures: a real database (SQLite by default, PostgreSQL when WALLET_TEST_DATABASE_URL says so),
migrated once per run with Alembic, and each test inside a rolled-back transaction (SQLAlchemy's
"joining a session into an external transaction" recipe). Race tests use ``committed_app`` instead:
real commits on a real engine, cleaned up afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from wallet.app import create_app
from wallet.config import Settings
from wallet.db import Base, make_engine
from wallet.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("WALLET_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``WALLET_TEST_DATABASE_ONLY=1``: keep only the tests that open a database (or are marked ``postgres``).

    ``scripts/test`` sets it for its PostgreSQL pass. A test that never reaches ``database_url`` gives the
    same answer on either database, and the SQLite pass has already run it. Running it again would only
    lengthen CI (about a quarter of the suite).
    """
    if os.environ.get("WALLET_TEST_DATABASE_ONLY") != "1":
        return
    kept, dropped = [], []
    for item in items:
        opens_database = "database_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker("postgres")
        (kept if opens_database else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _postgres_marked_tests_need_postgresql(request: pytest.FixtureRequest) -> None:
    """A test marked ``postgres`` (real concurrency) fails loudly on SQLite instead of passing as xfail.

    ``scripts/test`` deselects them in its SQLite pass (``-m "not postgres"``) and runs them in its
    PostgreSQL pass; a run that selects one without PostgreSQL is told how to give it one.
    """
    if request.node.get_closest_marker("postgres") and not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.fail(
            "this test needs PostgreSQL: set WALLET_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test"
            " (scripts/test does), or deselect it with -m 'not postgres'",
            pytrace=False,
        )


@dataclass
class FakeClock:
    """The time every service sees during a test; tests move it explicitly."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def _create_postgres_database(admin_url: str) -> tuple[str, str]:
    url = make_url(admin_url)
    name = f"wallet_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(admin_url: str, name: str) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, fully migrated database for this test run (per xdist worker)."""
    if TEST_DATABASE_URL.startswith("postgresql"):
        url, name = _create_postgres_database(TEST_DATABASE_URL)
        upgrade(url)
        yield url
        _drop_postgres_database(TEST_DATABASE_URL, name)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wallet.sqlite3'}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


TEST_SECRETS = {
    "secret_key": "test-secret-key-shared-by-every-node-of-this-run",
    "key_encryption_key": "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
}
"""On PostgreSQL the service refuses generated secrets (every node must share them): the tests give these."""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    explicit = TEST_SECRETS if database_url.startswith("postgresql") else {}
    return Settings(
        **explicit,
        database_url=database_url,
        instance_path=str(tmp_path / "instance"),
        base_url="https://wallet.test",
        password_hash_profile="CHEAPEST",
        log_json=False,
        log_level="WARNING",
        run_scheduler=False,
        fetch_allow_private=True,
    )


@pytest.fixture
def connection(engine: Engine) -> Iterator[Any]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def app(settings: Settings, engine: Engine, connection: Any, clock: FakeClock) -> Flask:
    """The app, its every request joined into the test's outer transaction."""
    app = create_app(settings, clock=clock, engine=engine)
    app.extensions["wallet"].session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session in the same outer transaction, for arranging and asserting through services."""
    session = app.extensions["wallet"].session_factory()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class SignedIn:
    username: str
    password: str
    account_id: str
    device_id: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture
def sign_up(client: FlaskClient) -> Any:
    """Sign a new learner up through the API and return their tokens."""

    def _sign_up(
        username: str | None = None,
        *,
        password: str = "correct horse battery",
        display_name: str = "",
        device: str = "phone",
    ) -> SignedIn:
        username = username or f"learner-{uuid.uuid4().hex[:8]}"
        response = client.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "password": password,
                "display_name": display_name,
                "device": {"name": device, "platform": "android"},
            },
        )
        assert response.status_code == 201, response.json
        body = response.json
        return SignedIn(
            username, password, body["account_id"], body["device_id"], body["access_token"], body["refresh_token"]
        )

    return _sign_up


@pytest.fixture
def organisation(db: Session, sign_up: Any, clock: FakeClock) -> Any:
    """An organisation with an admin and a youth worker, created the operator's way."""
    from wallet.models import Role
    from wallet.organisations import services as organisations

    def _organisation(slug: str = "makerspace-north", name: str = "Makerspace North") -> dict[str, Any]:
        admin = sign_up(f"{slug}-admin"[:40])
        worker = sign_up(f"{slug}-worker"[:40])
        organisations.create_organisation(db, slug=slug, name=name, now=clock.now)
        organisations.add_member(db, slug=slug, actor=None, username=admin.username, role=Role.ADMIN, now=clock.now)
        organisations.add_member(
            db, slug=slug, actor=None, username=worker.username, role=Role.YOUTH_WORKER, now=clock.now
        )
        db.commit()
        return {"slug": slug, "name": name, "admin": admin, "worker": worker}

    return _organisation


@pytest.fixture
def committed_app(settings: Settings, engine: Engine, clock: FakeClock) -> Iterator[Flask]:
    """An app whose requests really commit (race tests); every table is emptied afterwards."""
    app = create_app(settings, clock=clock, engine=engine)
    yield app
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
