"""A deadlock PostgreSQL breaks by aborting the request's transaction is retried inside the server: the
client sees its change made (200), not a 503. A real deadlock, on real rows: while the request holds its
account row, another transaction that holds a second account row waits for the first; the request then
asks for the second. PostgreSQL (the request's ``deadlock_timeout`` is the shorter) aborts the request,
the other transaction commits, and the server's second run of the request succeeds."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, text

from wallet.web import retry

pytestmark = pytest.mark.postgres


def _sign_up(client: Any, username: str) -> tuple[str, dict[str, str]]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return response.json["account_id"], {"Authorization": f"Bearer {response.json['access_token']}"}


def test_a_request_that_deadlocks_is_retried_and_succeeds(
    committed_app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "sleep", lambda _seconds: None)
    client = committed_app.test_client()
    ours, headers = _sign_up(client, "deadlock-learner")
    theirs, _ = _sign_up(client, "deadlock-neighbour")
    holding_theirs = threading.Event()
    request_holds_ours = threading.Event()
    seen: dict[str, Any] = {"injected": 0, "deadlocks": 0, "other": None}

    def other_transaction() -> None:
        with engine.connect() as connection:
            connection.execute(text("SET deadlock_timeout = '5s'"))  # the request notices first
            connection.execute(text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(theirs)})
            holding_theirs.set()
            request_holds_ours.wait(10)
            connection.execute(
                text("UPDATE accounts SET display_name = 'Other' WHERE id = :id"), {"id": uuid.UUID(ours)}
            )
            connection.commit()
            seen["other"] = "committed"

    def after_execute(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("UPDATE accounts SET display_name") or seen["injected"]:
            return
        seen["injected"] += 1
        request_holds_ours.set()
        cursor.execute("SET LOCAL deadlock_timeout = '100ms'")
        cursor.execute("SELECT pg_sleep(0.3)")  # the other transaction is now waiting for our row
        try:
            cursor.execute("SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", (uuid.UUID(theirs),))
        except Exception as error:
            seen["deadlocks"] += getattr(error, "sqlstate", None) == "40P01"
            raise

    other = threading.Thread(target=other_transaction)
    other.start()
    assert holding_theirs.wait(10)
    event.listen(engine, "after_cursor_execute", after_execute)
    try:
        response = client.patch("/api/v1/me", headers=headers, json={"display_name": "Sam"})
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)
        other.join(20)

    assert seen["deadlocks"] == 1, "PostgreSQL must really have broken a deadlock by aborting the request"
    assert seen["other"] == "committed"
    assert response.status_code == 200, response.json
    assert response.json["display_name"] == "Sam"
    assert client.get("/api/v1/me", headers=headers).json["display_name"] == "Sam"


def test_a_conflict_that_outlasts_the_retries_is_still_a_503_the_client_may_retry(
    committed_app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "sleep", lambda _seconds: None)
    client = committed_app.test_client()
    _ours, headers = _sign_up(client, "always-conflicting")
    runs = {"n": 0}

    def after_execute(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE accounts SET display_name"):
            runs["n"] += 1
            # A real serialization failure, raised by PostgreSQL itself, on every run.
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$")

    event.listen(engine, "after_cursor_execute", after_execute)
    try:
        response = client.patch("/api/v1/me", headers=headers, json={"display_name": "Sam"})
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)

    assert runs["n"] == retry.ATTEMPTS
    assert response.status_code == 503 and response.json["code"] == "server.unavailable"
    assert response.headers["Retry-After"]
