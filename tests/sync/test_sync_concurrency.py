"""Concurrent syncs of one learner on PostgreSQL: a change committed late is never skipped by a cursor (I6)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.sync.conftest import cred_of

WRITERS = 4
OPS_EACH = 8


def _register(client: Any, headers: dict[str, str]) -> str:
    return client.post("/api/v1/sync/clients", json={}, headers=headers).json["client_id"]


@pytest.mark.postgres
def test_a_reader_polling_during_concurrent_pushes_sees_every_change(committed_app: Any, clock: Any) -> None:
    client = committed_app.test_client()
    signed = client.post(
        "/api/v1/accounts",
        json={
            "username": "racer",
            "password": "correct horse battery",
            "device": {"name": "phone", "platform": "android"},
        },
    ).json
    headers = {"Authorization": f"Bearer {signed['access_token']}"}
    writers = [_register(client, headers) for _ in range(WRITERS)]
    reader = _register(client, headers)
    stamp_ms = int(clock.now.timestamp() * 1000)
    done = threading.Event()
    errors: list[BaseException] = []
    seen: dict[str, int] = {}

    def push(client_id: str) -> None:
        local = committed_app.test_client()
        try:
            for n in range(1, OPS_EACH + 1):
                op = {
                    "type": "tag.add",
                    "op_seq": n,
                    "hlc": f"{stamp_ms:013d}-{n:04d}-{client_id}",
                    "cred": cred_of("shared"),
                    "tag": f"{client_id[:8]}-{n}",
                    "dot": [client_id, n],
                }
                response = local.post(
                    "/api/v1/sync",
                    headers=headers,
                    json={"protocol": 1, "client_id": client_id, "cursor": None, "ops": [op], "limit": 1},
                )
                assert response.status_code == 200, response.json
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)

    def poll() -> None:
        local = committed_app.test_client()
        cursor = None
        try:
            while True:
                finished = done.is_set()
                answer = local.post(
                    "/api/v1/sync",
                    headers=headers,
                    json={"protocol": 1, "client_id": reader, "cursor": cursor, "ops": [], "limit": 3},
                ).json
                for change in answer["changes"]:
                    seen[change["id"][1]] = change["seq"]
                cursor = answer["cursor"]
                if finished and not answer["has_more"]:
                    return
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=push, args=(client_id,)) for client_id in writers]
    poller = threading.Thread(target=poll)
    poller.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    poller.join()

    assert errors == []
    expected = {f"{client_id[:8]}-{n}" for client_id in writers for n in range(1, OPS_EACH + 1)}
    assert set(seen) == expected
    assert len(set(seen.values())) == len(seen)
