"""Protocol 2 through the SDK: a new phone in three requests, pushes that are not echoed, a restore that
re-uploads only the bytes the server lost, and devices on protocol 1 and 2 agreeing (docs/sync.md §7.4)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from wallet_client import OfflineWallet, WalletClient

from tests.holding.factories import badge, signed_bytes
from wallet.holding import services as holding
from wallet.models import HeldCredential, SyncWallet

PASSWORD = "correct horse battery"


class Recorder(httpx.BaseTransport):
    """Keeps every request's path and decoded JSON body, and every sync response's body."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        data = request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        self.sent.append((request.url.path, json.loads(data) if data else None))
        response = self.inner.handle_request(request)
        if request.url.path == "/api/v1/sync" and response.status_code == 200:
            response.read()
            self.answers.append(response.json())
        return response


@pytest.fixture
def learner(make_client: Callable[..., WalletClient], db: Any, clock: Any) -> Callable[..., Any]:
    def _learner(
        count: int, *, signed: bool = False
    ) -> tuple[Callable[..., WalletClient], uuid.UUID, dict[str, bytes]]:
        username = f"l{uuid.uuid4().hex[:10]}"
        account_id = uuid.UUID(make_client().sign_up(username, PASSWORD)["account_id"])
        held = {}
        for n in range(count):
            raw = signed_bytes(name=f"Badge {n}") if signed else json.dumps(badge(name=f"Badge {n}")).encode()
            credential = holding.add_credential(
                db, account_id=account_id, raw=raw, media_type="application/vc+ld+json", source="import", now=clock.now
            )
            held[credential.content_hash] = raw
        db.commit()

        def device(**kwargs: Any) -> WalletClient:
            client = make_client(**kwargs)
            client.login(username, PASSWORD)
            return client

        return device, account_id, held

    return _learner


def _recording(device: Callable[..., WalletClient]) -> tuple[WalletClient, list[Recorder]]:
    recorders: list[Recorder] = []
    client = device(wrap=lambda inner: recorders.append(Recorder(inner)) or recorders[-1])
    return client, recorders


def test_a_new_phone_downloads_a_big_wallet_in_three_requests(learner: Any, tmp_path: Path) -> None:
    device, _, held = learner(150)
    seeder = OfflineWallet(tmp_path / "seeder.db", device())
    seeder.sync()
    for n, cred in enumerate(sorted(held)):
        seeder.add_tag(cred, f"tag {n % 7}")
        seeder.add_tag(cred, "portfolio")
    seeder.sync()
    client, recorders = _recording(device)
    phone = OfflineWallet(tmp_path / "phone.db", client)
    recorders[0].sent.clear()  # the sign-in

    report = phone.sync()

    paths = [path for path, _ in recorders[0].sent]
    assert paths == ["/api/v1/sync/clients", "/api/v1/sync", "/api/v1/sync/blobs"]
    assert report.blobs_fetched == 150
    assert {cred: phone.credential_bytes(cred) for cred in held} == held
    assert phone.view() == seeder.view()


def test_a_push_is_not_echoed_but_what_others_changed_still_arrives(learner: Any, tmp_path: Path) -> None:
    device, _, held = learner(3)
    creds = sorted(held)
    client, recorders = _recording(device)
    phone = OfflineWallet(tmp_path / "phone.db", client)
    tablet = OfflineWallet(tmp_path / "tablet.db", device())
    phone.sync()
    tablet.sync()
    tablet.set_note(creds[0], "from the tablet")
    tablet.sync()
    for cred in creds:
        phone.add_tag(cred, "robotics")
    phone.set_pinned(creds[0], True)

    phone.sync()

    answer = recorders[0].answers[-1]
    assert [(change["k"], change["id"]) for change in answer["changes"]] == [("entry", [creds[0]])]
    assert phone.credentials()[0]["note"] == "from the tablet"
    assert all(item["tags"] == ["robotics"] for item in phone.credentials())
    assert phone.credentials()[0]["pinned"] is True
    tablet.sync()
    assert tablet.view() == phone.view()
    assert phone.sync().changes == 0


def test_devices_on_protocol_1_and_2_converge(learner: Any, tmp_path: Path) -> None:
    device, _, held = learner(4)
    creds = sorted(held)
    old = OfflineWallet(tmp_path / "old.db", device(), protocol=1)
    new = OfflineWallet(tmp_path / "new.db", device())
    old.sync()
    new.sync()
    old.add_tag(creds[0], "welding")
    new.add_tag(creds[0], "welding")
    old.remove(creds[1])
    new.set_note(creds[1], "edited meanwhile")
    coll = new.create_collection("Work")
    new.add_member(coll, creds[2])
    for wallet in (old, new, old, new):
        wallet.sync()
    assert old.view() == new.view()
    assert [c["cred"] for c in new.credentials()] == [creds[0], creds[2], creds[3]]
    assert old.collections()[0]["members"] == [creds[2]]
    assert {cred: old.credential_bytes(cred) for cred in creds if cred != creds[1]} == {
        cred: new.credential_bytes(cred) for cred in creds if cred != creds[1]
    }


def _restore(db: Any, account_id: uuid.UUID) -> None:
    wallet = db.scalar(select(SyncWallet).where(SyncWallet.account_id == account_id))
    wallet.epoch = str(uuid.uuid4())


def test_a_restore_re_upload_sends_no_bytes_the_server_holds(learner: Any, tmp_path: Path, db: Any) -> None:
    device, account_id, held = learner(60)
    client, recorders = _recording(device)
    phone = OfflineWallet(tmp_path / "phone.db", client)
    phone.sync()
    phone.add_tag(sorted(held)[0], "kept by the phone")
    phone.sync()
    expected = phone.view()
    _restore(db, account_id)
    db.commit()
    recorders[0].sent.clear()

    report = phone.sync()

    assert report.reregistered
    pushed = [body for path, body in recorders[0].sent if path == "/api/v1/sync"]
    assert sum(len(body["ops"]) for body in pushed) >= 61
    assert all("blobs" not in body for body in pushed)
    assert phone.view() == expected


def test_a_restore_re_upload_sends_the_bytes_the_server_lost(learner: Any, tmp_path: Path, db: Any) -> None:
    device, account_id, held = learner(56, signed=True)  # the server verifies what it is sent
    client, recorders = _recording(device)
    phone = OfflineWallet(tmp_path / "phone.db", client)
    phone.sync()
    lost = sorted(held)[:55]  # more than one request's 50 blobs
    _restore(db, account_id)
    db.execute(delete(HeldCredential).where(HeldCredential.content_hash.in_(lost)))
    db.commit()
    recorders[0].sent.clear()

    phone.sync()

    uploaded = [cred for path, body in recorders[0].sent if path == "/api/v1/sync" for cred in body.get("blobs", {})]
    assert sorted(uploaded) == lost
    server_has = set(db.scalars(select(HeldCredential.content_hash).where(HeldCredential.account_id == account_id)))
    assert server_has == set(held)
    other = OfflineWallet(tmp_path / "other.db", device())
    other.sync()
    assert {cred: other.credential_bytes(cred) for cred in held} == held
