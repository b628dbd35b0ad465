"""A refresh whose answer was lost can be repeated; a replayed refresh token still signs the device out.

The rule (docs/security.md, "Refresh tokens"): the same refresh token with the same ``idempotency_key``
within ``WALLET_REFRESH_GRACE_SECONDS`` of its exchange, while the new refresh token is unspent, gets the
same pair back. Anything else that presents a spent token revokes the device's whole chain.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from wallet.accounts import tokens
from wallet.app import create_app
from wallet.config import Settings

REFRESH = "/api/v1/auth/refresh"


def _key() -> str:
    return secrets.token_urlsafe(24)


def _refresh(client: Any, refresh_token: str, key: str | None = None) -> Any:
    body: dict[str, Any] = {"refresh_token": refresh_token}
    if key is not None:
        body["idempotency_key"] = key
    return client.post(REFRESH, json=body)


def _works(client: Any, access_token: str) -> bool:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {access_token}"}).status_code == 200


def _assert_chain_revoked(client: Any, pair: dict[str, Any]) -> None:
    """The newest pair of the device no longer works: neither its access token nor its refresh token."""
    assert not _works(client, pair["access_token"])
    again = _refresh(client, pair["refresh_token"], _key())
    assert again.status_code == 401
    assert again.json["code"] == "auth.signed_out"


def test_a_refresh_whose_answer_was_lost_returns_the_same_pair_when_repeated(
    client: Any, sign_up: Any, clock: Any
) -> None:
    phone = sign_up("lost-answer")
    key = _key()
    first = _refresh(client, phone.refresh_token, key)  # the server answered; the phone never saw it
    assert first.status_code == 200
    clock.advance(seconds=20)

    repeat = _refresh(client, phone.refresh_token, key)

    assert repeat.status_code == 200, repeat.json
    assert repeat.json["access_token"] == first.json["access_token"]
    assert repeat.json["refresh_token"] == first.json["refresh_token"]
    assert repeat.json["device_id"] == first.json["device_id"] == phone.device_id
    assert repeat.json["expires_in"] == first.json["expires_in"] - 20
    assert _works(client, repeat.json["access_token"])
    following = _refresh(client, repeat.json["refresh_token"], _key())
    assert following.status_code == 200
    assert _works(client, following.json["access_token"])


def test_a_replay_after_the_grace_window_signs_the_device_out(client: Any, sign_up: Any, clock: Any) -> None:
    phone = sign_up("late-replay")
    key = _key()
    rotated = _refresh(client, phone.refresh_token, key).json
    clock.advance(seconds=61)

    replay = _refresh(client, phone.refresh_token, key)

    assert replay.status_code == 401
    assert replay.json["code"] == "auth.signed_out" and replay.json["reason"] == "reused"
    _assert_chain_revoked(client, rotated)


def test_a_replay_after_the_new_refresh_token_was_used_signs_the_device_out(
    client: Any, sign_up: Any, clock: Any
) -> None:
    phone = sign_up("used-successor")
    key = _key()
    rotated = _refresh(client, phone.refresh_token, key).json
    clock.advance(seconds=5)
    newest = _refresh(client, rotated["refresh_token"], _key()).json

    replay = _refresh(client, phone.refresh_token, key)  # e.g. a thief who copied the phone's storage

    assert replay.status_code == 401
    assert replay.json["reason"] == "reused"
    _assert_chain_revoked(client, newest)


def test_a_second_party_replaying_inside_the_window_with_another_key_signs_the_device_out(
    client: Any, sign_up: Any
) -> None:
    phone = sign_up("thief-in-window")
    rotated = _refresh(client, phone.refresh_token, _key()).json

    thief = _refresh(client, phone.refresh_token, _key())

    assert thief.status_code == 401
    assert thief.json["reason"] == "reused"
    _assert_chain_revoked(client, rotated)


def test_a_replay_without_an_idempotency_key_signs_the_device_out_even_at_once(client: Any, sign_up: Any) -> None:
    phone = sign_up("no-key")
    key = _key()
    rotated = _refresh(client, phone.refresh_token, key).json

    replay = _refresh(client, phone.refresh_token)

    assert replay.status_code == 401
    assert replay.json["reason"] == "reused"
    _assert_chain_revoked(client, rotated)


def test_a_refresh_made_without_a_key_cannot_be_repeated_at_all(client: Any, sign_up: Any) -> None:
    phone = sign_up("old-client")
    rotated = _refresh(client, phone.refresh_token).json

    replay = _refresh(client, phone.refresh_token, _key())

    assert replay.status_code == 401
    _assert_chain_revoked(client, rotated)


def test_a_grace_window_of_zero_is_strict_rotation(
    settings: Settings, engine: Any, connection: Any, clock: Any
) -> None:
    from sqlalchemy.orm import sessionmaker

    app = create_app(dataclasses.replace(settings, refresh_grace_seconds=0), clock=clock, engine=engine)
    app.extensions["wallet"].session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    client = app.test_client()
    signed_up = client.post(
        "/api/v1/accounts",
        json={"username": "strict", "password": "correct horse battery", "device": {"name": "phone"}},
    ).json
    key = _key()
    rotated = _refresh(client, signed_up["refresh_token"], key).json

    repeat = _refresh(client, signed_up["refresh_token"], key)

    assert repeat.status_code == 401
    _assert_chain_revoked(client, rotated)


def test_a_malformed_idempotency_key_is_a_validation_error_and_spends_nothing(client: Any, sign_up: Any) -> None:
    phone = sign_up("bad-key")

    response = _refresh(client, phone.refresh_token, "short")

    assert response.status_code == 422
    assert response.json["code"] == "request.validation_failed"
    assert _refresh(client, phone.refresh_token, _key()).status_code == 200


def test_a_revoked_device_is_told_to_sign_in_again(client: Any, sign_up: Any) -> None:
    phone = sign_up("revoked-device")
    laptop = client.post(
        "/api/v1/auth/login",
        json={"username": "revoked-device", "password": phone.password, "device": {"name": "laptop"}},
    ).json
    assert client.delete(f"/api/v1/me/devices/{laptop['device_id']}", headers=phone.headers).status_code == 204

    response = _refresh(client, laptop["refresh_token"], _key())

    assert response.status_code == 401
    assert response.json["code"] == "auth.signed_out"


_KEYS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=16, max_size=128)


@given(spent=st.text(min_size=1, max_size=80), first=_KEYS, second=_KEYS)
def test_a_successor_is_the_same_for_the_same_exchange_and_unrelated_otherwise(
    spent: str, first: str, second: str
) -> None:
    key = b"k" * 32
    successor = tokens.successor_refresh_token(key, spent=spent, idempotency_key=first)
    assert successor == tokens.successor_refresh_token(key, spent=spent, idempotency_key=first)
    assert successor.startswith("rt_") and len(successor) == 3 + 43
    assert successor != tokens.successor_refresh_token(b"j" * 32, spent=spent, idempotency_key=first)
    if second != first:
        assert successor != tokens.successor_refresh_token(key, spent=spent, idempotency_key=second)


def _race(app: Flask, refresh_token: str, key: str) -> list[tuple[int, Any]]:
    """Two refreshes with the same token and key, released together, each on its own connection."""
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def run(index: int) -> None:
        own = app.test_client()
        barrier.wait()
        response = _refresh(own, refresh_token, key)
        answers[index] = (response.status_code, response.json)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.postgres
def test_two_concurrent_repeats_of_one_refresh_get_the_same_pair(committed_app: Flask) -> None:
    client = committed_app.test_client()
    for round_number in range(5):
        signed_up = client.post(
            "/api/v1/accounts",
            json={
                "username": f"racer-{round_number}",
                "password": "correct horse battery",
                "device": {"name": "phone"},
            },
        ).json

        answers = _race(committed_app, signed_up["refresh_token"], _key())

        assert [status for status, _ in answers] == [200, 200], answers
        assert answers[0][1]["refresh_token"] == answers[1][1]["refresh_token"]
        assert answers[0][1]["access_token"] == answers[1][1]["access_token"]
        assert _works(client, answers[0][1]["access_token"])
        assert _refresh(client, answers[0][1]["refresh_token"], _key()).status_code == 200
