"""OfflineWallet on a big wallet: a reset snapshot of many pages finishes, and a new device ends up
holding every credential's bytes, checked against their hash, fetched once."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from wallet_client import OfflineWallet, WalletClient
from wallet_protocol.sync.blobs import BLOB_BATCH_MEDIA_TYPE, decode_blob_batch, encode_blob_batch
from wallet_protocol.sync.wire import BLOBS_PATH

from tests.holding.factories import badge, signed_bytes
from wallet.holding import services as holding
from wallet.models import SyncClient, SyncRow
from wallet.sync.compaction import compact

PASSWORD = "correct horse battery"


@pytest.fixture
def learner(make_client: Callable[..., WalletClient], db: Any, clock: Any) -> Callable[..., Any]:
    """A learner holding ``count`` credentials (unsigned OB 3.0 badges: the bytes are what matters)."""

    def _learner(count: int) -> tuple[Callable[..., WalletClient], uuid.UUID, dict[str, bytes]]:
        username = f"l{uuid.uuid4().hex[:10]}"
        account_id = uuid.UUID(make_client().sign_up(username, PASSWORD)["account_id"])
        held = {}
        for n in range(count):
            raw = json.dumps(badge(name=f"Badge {n}")).encode()
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


def test_a_device_back_after_compaction_resyncs_a_wallet_bigger_than_a_page(
    learner: Any, tmp_path: Path, db: Any, clock: Any
) -> None:
    device, _, held = learner(6)
    creds = sorted(held)
    phone = OfflineWallet(tmp_path / "phone.db", device())
    tablet = OfflineWallet(tmp_path / "tablet.db", device(), limit=4, batch_size=2)
    phone.sync()
    tablet.sync()
    for cred in creds:
        phone.add_tag(cred, "robotics")
        phone.add_tag(cred, "first try")
    for cred in creds[:3]:
        phone.remove_tag(cred, "first try")
    phone.remove(creds[-1])
    phone.sync()
    tablet.set_note(creds[0], "written while away")
    db.execute(update(SyncClient).values(last_seen_at=clock.now - dt.timedelta(days=100)))
    phone.sync()  # the phone stays active; the tablet has been away 100 days
    assert compact(db, now=clock.now).purged_rows > 0
    db.commit()
    before = tablet.view()

    first = tablet.sync(max_requests=1)
    assert first.reset is True
    assert tablet.view() == before  # the old base stays until the snapshot's last page
    rest = tablet.sync()

    live = db.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.tombstone.is_(False)))
    assert first.requests + rest.requests == math.ceil(live / 4)
    assert rest.reset is False
    phone.sync()
    assert tablet.view() == phone.view()
    assert tablet.credentials()[0]["note"] == "written while away"
    assert [c["cred"] for c in tablet.credentials()] == creds[:-1]
    assert tablet.sync().changes == 0


@pytest.mark.parametrize(("protocol", "blob_requests"), [(1, 2), (2, 1)])
def test_a_new_device_holds_every_credential_byte_exact_and_fetches_them_once(
    learner: Any, tmp_path: Path, protocol: int, blob_requests: int
) -> None:
    device, _, held = learner(105)
    new_phone = OfflineWallet(tmp_path / "phone.db", device(), protocol=protocol)

    first = new_phone.sync()

    assert first.blob_requests == blob_requests  # protocol 1: 100 + 5 as base64; 2: one binary batch of all
    assert first.blobs_fetched == 105
    assert {cred: new_phone.credential_bytes(cred) for cred in held} == held
    again = new_phone.sync()
    assert (again.blob_requests, again.blobs_fetched) == (0, 0)


def test_a_credential_imported_offline_is_not_downloaded_again(learner: Any, tmp_path: Path) -> None:
    device, _, _ = learner(0)
    phone = OfflineWallet(tmp_path / "phone.db", device())
    raw = signed_bytes(name="Imported offline")
    cred = phone.import_credential(raw)

    report = phone.sync()

    assert report.rejected == []
    assert [c["cred"] for c in phone.credentials()] == [cred]
    assert report.blob_requests == 0
    assert phone.credential_bytes(cred) == raw


class TamperingTransport(httpx.BaseTransport):
    """Changes one byte of the first credential in every blob batch (a hostile proxy or a bad server)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.active = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not (self.active and request.url.path == BLOBS_PATH and response.status_code == 200):
            return response
        response.read()
        if response.headers["Content-Type"] == BLOB_BATCH_MEDIA_TYPE:
            batch = decode_blob_batch(response.content)
            cred = sorted(batch.blobs)[0]
            blobs = {**batch.blobs, cred: _flipped(batch.blobs[cred])}
            tampered = encode_blob_batch(sorted(blobs.items()), missing=batch.missing, more=batch.more)
            return httpx.Response(200, content=tampered, headers={"Content-Type": BLOB_BATCH_MEDIA_TYPE})
        body = response.json()
        cred = sorted(body["blobs"])[0]
        body["blobs"][cred] = base64.b64encode(_flipped(base64.b64decode(body["blobs"][cred]))).decode()
        return httpx.Response(200, json=body)


def _flipped(raw: bytes) -> bytes:
    changed = bytearray(raw)
    changed[-2] ^= 1
    return bytes(changed)


@pytest.mark.parametrize("protocol", [1, 2])
def test_bytes_that_do_not_match_their_hash_are_refused(learner: Any, tmp_path: Path, protocol: int) -> None:
    device, _, held = learner(3)
    proxies: list[TamperingTransport] = []
    now = [1_795_000_000.0]
    phone = OfflineWallet(
        tmp_path / "phone.db",
        device(wrap=lambda t: proxies.append(TamperingTransport(t)) or proxies[-1]),
        clock=lambda: now[0],
        protocol=protocol,
    )

    report = phone.sync()

    tampered = sorted(held)[0]
    assert report.blobs_refused == [tampered]
    assert phone.credential_bytes(tampered) is None
    assert all(phone.credential_bytes(cred) == held[cred] for cred in sorted(held)[1:])
    assert phone.sync().blob_requests == 0  # not asked again at once
    proxies[0].active = False
    now[0] += 25 * 3600
    later = phone.sync()
    assert (later.blob_requests, later.blobs_fetched) == (1, 1)
    assert phone.credential_bytes(tampered) == held[tampered]
