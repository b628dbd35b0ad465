"""Staying signed in on a bad network: lost refresh answers, a killed app, replays and signing in again.

Through the real app (``httpx.WSGITransport``: a request the transport hands on is executed and committed
by the server before the fault wrapper decides what the phone gets to see), except the last test, which
kills a real client process on a real socket.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from wallet_client import (
    AuthError,
    MemoryTokenStore,
    OfflineWallet,
    ReplicaTokenStore,
    SignedOut,
    Tokens,
    TransportError,
    WalletClient,
)

from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from wallet.changelog import changes
from wallet.config import Settings
from wallet.models import SyncClient, SyncRow

PASSWORD = "correct horse battery"
REFRESH = "/api/v1/auth/refresh"


def _cred(n: int) -> str:
    return "sha256:" + f"{n:064x}"


class LosesAnswers(httpx.BaseTransport):
    """The server gets and executes the request, then the connection drops before the answer arrives.

    Only for ``path``, the first ``times`` times; ``seen`` records every body sent there.
    """

    def __init__(self, inner: httpx.BaseTransport, *, path: str, times: int) -> None:
        self.inner = inner
        self.path = path
        self.times = times
        self.seen: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != self.path:
            return response
        if "Content-Encoding" not in request.headers:
            self.seen.append(json.loads(request.read()))
        if self.times > 0:
            self.times -= 1
            response.read()
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


class Killed(BaseException):
    """The app process dies here (not an Exception: nothing in the SDK may catch it)."""


class DiesBeforeWritingTheNewPair(ReplicaTokenStore):
    """A replica token store whose process is killed when it is about to write a refresh's answer."""

    def save(self, tokens: Tokens) -> None:
        current = self.load()
        if current is not None and current.idempotency_key is not None and tokens.idempotency_key is None:
            raise Killed
        super().save(tokens)


@pytest.fixture
def learner(make_client: Callable[..., WalletClient], db: Any, clock: Any) -> dict[str, Any]:
    """A learner holding two credentials, and a device-maker: each call signs in a new device."""
    username = f"l{uuid.uuid4().hex[:10]}"
    first = make_client()
    account_id = uuid.UUID(first.sign_up(username, PASSWORD, device_name="first phone")["account_id"])
    for n in range(2):
        changes.record_entry_added(db, account_id=account_id, cred_hash=_cred(n), now=clock.now)
    db.commit()
    return {"username": username, "account_id": account_id, "first": first}


def _phone(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], path: Path, **kwargs: Any
) -> OfflineWallet:
    client = make_client(token_store=ReplicaTokenStore(path), **kwargs)
    if client.token_store.load() is None:
        client.login(learner["username"], PASSWORD, device_name="phone")
    return OfflineWallet(path, client)


def _devices(learner: dict[str, Any]) -> list[str]:
    return sorted(device["name"] for device in learner["first"].devices())


def test_a_lost_refresh_answer_is_retried_and_the_device_keeps_syncing(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], tmp_path: Path, clock: FakeClock
) -> None:
    wrapped: list[LosesAnswers] = []

    def lose_two(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        wrapped.append(LosesAnswers(inner, path=REFRESH, times=2))
        return wrapped[0]

    phone = _phone(make_client, learner, tmp_path / "phone.db", wrap=lose_two)
    phone.sync()
    before = phone.client.token_store.load()
    clock.advance(minutes=16)
    phone.add_tag(_cred(0), "welding")

    phone.sync()

    assert phone.pending_count() == 0
    sent = wrapped[0].seen
    assert len(sent) == 3  # two answers lost, the third arrived
    assert {body["refresh_token"] for body in sent} == {before.refresh_token}
    assert len({body["idempotency_key"] for body in sent}) == 1
    after = phone.client.token_store.load()
    assert after.refresh_token != before.refresh_token and after.idempotency_key is None
    assert _devices(learner) == ["first phone", "phone"]
    other = _phone(make_client, learner, tmp_path / "tablet.db")
    other.sync()
    assert [c["tags"] for c in other.credentials() if c["cred"] == _cred(0)] == [["welding"]]


def test_a_refresh_whose_answers_all_got_lost_is_repeated_by_the_next_sync(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], tmp_path: Path, clock: FakeClock
) -> None:
    wrapped: list[LosesAnswers] = []

    def lose_many(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        wrapped.append(LosesAnswers(inner, path=REFRESH, times=4))
        return wrapped[0]

    phone = _phone(make_client, learner, tmp_path / "phone.db", wrap=lose_many, max_retries=4)
    phone.sync()
    clock.advance(minutes=16)
    phone.set_note(_cred(1), "for my CV")

    with pytest.raises(TransportError):
        phone.sync()
    assert phone.client.token_store.load().idempotency_key is not None
    clock.advance(seconds=30)
    phone.sync()

    assert phone.pending_count() == 0
    assert len({body["idempotency_key"] for body in wrapped[0].seen}) == 1
    assert _devices(learner) == ["first phone", "phone"]


def test_an_app_killed_between_the_answer_and_writing_it_carries_on_after_a_restart(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "phone.db"
    dying = make_client(token_store=DiesBeforeWritingTheNewPair(path))
    dying.login(learner["username"], PASSWORD, device_name="phone")
    phone = OfflineWallet(path, dying)
    phone.sync()
    clock.advance(minutes=16)
    phone.add_tag(_cred(1), "first aid")

    with pytest.raises(Killed):
        phone.sync()
    phone.close()

    restarted = _phone(make_client, learner, path)
    assert restarted.pending_count() == 1
    restarted.sync()
    assert restarted.pending_count() == 0
    clock.advance(minutes=16)
    restarted.add_tag(_cred(0), "robotics")
    restarted.sync()
    assert restarted.pending_count() == 0
    assert _devices(learner) == ["first phone", "phone"]


def test_a_second_party_replaying_an_old_refresh_token_signs_the_device_out(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], tmp_path: Path, clock: FakeClock
) -> None:
    phone = _phone(make_client, learner, tmp_path / "phone.db")
    copied = phone.client.token_store.load()  # a backup or malware copies the phone's storage
    phone.sync()
    clock.advance(minutes=16)
    phone.sync()  # the phone refreshes: the copied refresh token is now spent
    clock.advance(seconds=5)
    phone.client.refresh()  # ... and so is its successor

    thief = make_client(token_store=MemoryTokenStore(copied))
    with pytest.raises(SignedOut) as stolen:
        thief.refresh()
    assert stolen.value.code == "auth.signed_out" and stolen.value.body["reason"] == "reused"

    phone.add_tag(_cred(0), "art")
    with pytest.raises(SignedOut):
        phone.sync()
    assert phone.client.token_store.load() is None
    assert phone.pending_count() == 1
    assert _devices(learner) == ["first phone"]


def test_signed_out_is_told_apart_from_an_expired_access_token(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], tmp_path: Path, clock: FakeClock
) -> None:
    phone = _phone(make_client, learner, tmp_path / "phone.db")
    clock.advance(minutes=16)
    assert phone.client.me()["username"] == learner["username"]  # expired access token: refreshed silently

    device_id = phone.client.token_store.load().device_id
    learner["first"].revoke_device(device_id)  # signed out from the learner's other phone
    with pytest.raises(SignedOut) as revoked:
        phone.client.me()
    assert revoked.value.code == "auth.device_revoked"
    with pytest.raises(SignedOut) as nothing:
        phone.sync()
    assert nothing.value.code == "auth.required"
    with pytest.raises(AuthError) as wrong:
        phone.client.login(learner["username"], "not the password")
    assert not isinstance(wrong.value, SignedOut)


def test_queued_edits_of_a_signed_out_device_are_pushed_exactly_once_after_signing_in_again(
    make_client: Callable[..., WalletClient], learner: dict[str, Any], tmp_path: Path, db: Any
) -> None:
    wrapped: list[LosesAnswers] = []

    def lose_sync_answers(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        wrapped.append(LosesAnswers(inner, path="/api/v1/sync", times=0))
        return wrapped[0]

    phone = _phone(make_client, learner, tmp_path / "phone.db", wrap=lose_sync_answers, max_retries=1)
    phone.sync()
    client_id = phone.client_id
    coll = phone.create_collection("Portfolio")
    phone.add_member(coll, _cred(0))
    phone.add_tag(_cred(1), "welding")
    wrapped[0].times = 1
    with pytest.raises(TransportError):
        phone.sync()  # the server applied these three edits; the phone never heard (and does not retry)
    learner["first"].revoke_device(phone.client.token_store.load().device_id)
    phone.set_note(_cred(1), "queued while signed out")
    with pytest.raises(SignedOut):
        phone.sync()
    assert phone.pending_count() == 4

    phone.client.login(learner["username"], PASSWORD, device_name="phone again")
    first = phone.sync()
    second = phone.sync()

    assert phone.pending_count() == 0
    assert not first.reregistered and not second.reregistered and phone.client_id == client_id
    assert first.acked_op_seq == 4 and not first.rejected
    registered = db.get(SyncClient, uuid.UUID(client_id))
    db.refresh(registered)
    assert registered.last_op_seq == 4
    tag_row = db.scalar(select(SyncRow).where(SyncRow.account_id == learner["account_id"], SyncRow.kind == "tag"))
    assert len(tag_row.state["dots"]) == 1
    other = _phone(make_client, learner, tmp_path / "tablet.db")
    other.sync()
    assert [(c["name"], c["members"]) for c in other.collections()] == [("Portfolio", [_cred(0)])]
    assert [c["note"] for c in other.credentials() if c["cred"] == _cred(1)] == ["queued while signed out"]
    assert other.view() == phone.view()


# --- a real process, killed for real ---------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import os, sys
    from wallet_client import OfflineWallet, ReplicaTokenStore, WalletClient

    class KilledOnWrite(ReplicaTokenStore):
        def save(self, tokens):
            current = self.load()
            if current is not None and current.idempotency_key and tokens.idempotency_key is None:
                os._exit(9)  # the server's answer is in hand, not yet on disk: SIGKILL-equivalent
            super().save(tokens)

    path, url = sys.argv[1], sys.argv[2]
    wallet = OfflineWallet(path, WalletClient(url, token_store=KilledOnWrite(path)))
    wallet.add_tag(sys.argv[3], "killed mid-refresh")
    wallet.sync()
    """
)


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    with live_server(settings, engine, FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))) as running:
        yield running


def test_a_client_process_killed_after_the_refresh_answer_arrived_keeps_syncing_after_a_restart(
    server: Running, tmp_path: Path
) -> None:
    path = tmp_path / "phone.db"
    first = WalletClient(server.url, token_store=ReplicaTokenStore(path))
    first.sign_up("killed-phone", PASSWORD, device_name="phone")
    OfflineWallet(path, first).sync()
    server.clock.advance(minutes=16)

    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), server.url, _cred(7)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.returncode == 9, child.stdout + child.stderr

    store = ReplicaTokenStore(path)
    assert store.load() is not None and store.load().idempotency_key is not None
    restarted = OfflineWallet(path, WalletClient(server.url, token_store=store))
    assert restarted.pending_count() == 1
    restarted.sync()
    assert restarted.pending_count() == 0
    assert [d["name"] for d in restarted.client.devices()] == ["phone"]
    other = WalletClient(server.url)
    other.login("killed-phone", PASSWORD, device_name="laptop")
    laptop = OfflineWallet(tmp_path / "laptop.db", other)
    laptop.sync()
    assert laptop.view() == restarted.view()
