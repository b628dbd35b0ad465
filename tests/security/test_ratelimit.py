"""Rate limits: login, sign-up and refresh refuse with 429 + Retry-After, counted across workers and failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import FakeClock
from wallet import ratelimit
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import make_session_factory
from wallet.models import Account, RateLimitBucket
from wallet.ratelimit import Limit

MINUTE = dt.timedelta(minutes=1)


def _login(client: FlaskClient, username: str, password: str = "wrong password", ip: str = "203.0.113.9") -> Any:
    return client.post(
        "/api/v1/auth/login",
        environ_base={"REMOTE_ADDR": ip},
        json={"username": username, "password": password, "device": {"name": "phone", "platform": "android"}},
    )


def _sign_up(client: FlaskClient, ip: str = "198.51.100.7") -> Any:
    return client.post(
        "/api/v1/accounts",
        environ_base={"REMOTE_ADDR": ip},
        json={
            "username": f"learner-{uuid.uuid4().hex[:8]}",
            "password": "correct horse battery",
            "device": {"name": "phone", "platform": "android"},
        },
    )


@pytest.fixture
def strict_app(settings: Settings, engine: Engine, connection: Any, clock: FakeClock) -> Flask:
    """The app with small limits, its requests joined into the test's transaction like ``app``."""
    strict = dataclasses.replace(
        settings,
        ratelimit_login_per_ip_per_minute=8,
        ratelimit_login_per_username_per_minute=3,
        ratelimit_signup_per_ip_per_hour=2,
        ratelimit_refresh_per_ip_per_minute=2,
    )
    app = create_app(strict, clock=clock, engine=engine)
    app.extensions["wallet"].session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app


@pytest.fixture
def strict_client(strict_app: Flask) -> FlaskClient:
    return strict_app.test_client()


def test_failed_logins_for_one_username_are_counted_and_refused_with_retry_after(
    strict_client: FlaskClient, clock: FakeClock
) -> None:
    for _ in range(3):
        assert _login(strict_client, "sam").status_code == 401

    refused = _login(strict_client, "Sam", ip="192.0.2.44")

    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.json["code"] == "request.rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.json["retry_after"] == retry_after
    clock.advance(seconds=retry_after)
    assert _login(strict_client, "sam").status_code == 401


def test_the_right_password_is_refused_too_while_the_username_is_limited(
    strict_client: FlaskClient, strict_app: Flask
) -> None:
    signed_up = strict_client.post(
        "/api/v1/accounts",
        json={"username": "robin", "password": "correct horse battery", "device": {"name": "p", "platform": "web"}},
    )
    assert signed_up.status_code == 201
    for _ in range(3):
        _login(strict_client, "robin")

    assert _login(strict_client, "robin", password="correct horse battery").status_code == 429


def test_logins_from_one_ip_are_limited_across_usernames(strict_client: FlaskClient) -> None:
    statuses = [_login(strict_client, f"user-{n}").status_code for n in range(9)]

    assert statuses == [401] * 8 + [429]
    assert _login(strict_client, "user-x", ip="203.0.113.10").status_code == 401


def test_sign_ups_from_one_ip_are_limited_and_the_refused_one_creates_nothing(
    strict_client: FlaskClient, db: Session
) -> None:
    assert [_sign_up(strict_client).status_code for _ in range(2)] == [201, 201]
    before = db.scalar(select(func.count()).select_from(Account))

    refused = _sign_up(strict_client)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 60
    assert db.scalar(select(func.count()).select_from(Account)) == before
    assert _sign_up(strict_client, ip="198.51.100.8").status_code == 201


def test_token_refreshes_from_one_ip_are_limited(strict_client: FlaskClient) -> None:
    statuses = [
        strict_client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"}).status_code for _ in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_the_default_limits_leave_room_for_a_workshop(client: FlaskClient) -> None:
    """Thirty learners behind one school router can sign up and sign in within a minute."""
    for n in range(30):
        username = f"class-{n}"
        assert (
            client.post(
                "/api/v1/accounts",
                json={
                    "username": username,
                    "password": "correct horse battery",
                    "device": {"name": "p", "platform": "web"},
                },
            ).status_code
            == 201
        )
        assert _login(client, username, password="correct horse battery", ip="127.0.0.1").status_code == 200


def test_a_zero_limit_turns_the_limit_off(db: Session, clock: FakeClock) -> None:
    factory = sessionmaker(bind=db.connection(), join_transaction_mode="create_savepoint")
    limits = [Limit("test:off", 0, MINUTE)] * 5
    assert ratelimit.record_hits(factory, limits, now=clock.now) is None
    assert db.get(RateLimitBucket, "test:off") is None


def test_hits_count_within_a_window_and_start_again_in_the_next(db: Session) -> None:
    start = dt.datetime(2026, 11, 23, 10, 0, 0, tzinfo=dt.UTC)
    decisions = [
        ratelimit.hit(db, key="k", limit=2, window=MINUTE, now=start + dt.timedelta(seconds=s)) for s in (0, 10, 50)
    ]

    assert [d.allowed for d in decisions] == [True, True, False]
    assert [d.remaining for d in decisions] == [1, 0, 0]
    assert decisions[2].retry_after_seconds == 10
    later = ratelimit.hit(db, key="k", limit=2, window=MINUTE, now=start + dt.timedelta(seconds=61))
    assert later.allowed and later.remaining == 1


def test_purge_removes_only_ended_windows(db: Session) -> None:
    start = dt.datetime(2026, 11, 23, 10, 0, 0, tzinfo=dt.UTC)
    ratelimit.hit(db, key="old", limit=5, window=MINUTE, now=start)
    ratelimit.hit(db, key="current", limit=5, window=dt.timedelta(hours=1), now=start)

    assert ratelimit.purge(db, now=start + dt.timedelta(minutes=2)) == 1
    assert ratelimit.purge(db, now=start + dt.timedelta(minutes=2)) == 0
    assert db.get(RateLimitBucket, "current") is not None


def test_very_long_keys_get_their_own_bucket(db: Session, clock: FakeClock) -> None:
    first, second = "a" * 300 + "1", "a" * 300 + "2"
    ratelimit.hit(db, key=first, limit=1, window=MINUTE, now=clock.now)

    assert ratelimit.hit(db, key=second, limit=1, window=MINUTE, now=clock.now).allowed
    assert not ratelimit.hit(db, key=first, limit=1, window=MINUTE, now=clock.now).allowed


@pytest.fixture
def race_key(engine: Engine) -> Iterator[str]:
    key = f"race:{uuid.uuid4().hex}"
    yield key
    with engine.begin() as connection:
        connection.execute(delete(RateLimitBucket).where(RateLimitBucket.key == key))


def test_concurrent_workers_never_let_more_than_the_limit_through(engine: Engine, race_key: str) -> None:
    """Eight threads with their own connections (like gunicorn workers) hit one key 40 times in all."""
    factory = make_session_factory(engine)
    now = dt.datetime(2026, 11, 23, 10, 0, 30, tzinfo=dt.UTC)
    allowed: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(5):
            refusal = ratelimit.record_hits(factory, [Limit(race_key, 12, MINUTE)], now=now)
            with lock:
                allowed.append(refusal is None)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 12
    with factory() as db:
        assert db.get(RateLimitBucket, race_key).count == 40  # type: ignore[union-attr]
