"""The SDK against a real HTTP server on 127.0.0.1: real sockets, httpx's default transport, real commits.

Two devices of one learner sign up / log in, edit offline, sync and converge; a claim queued offline
against a real claim session is redeemed on the next sync and its outcome comes back to both devices.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from wallet_client import OfflineWallet, TransportError, WalletClient

from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from wallet.config import Settings
from wallet.issuing.achievements import create_achievement
from wallet.models import Role
from wallet.organisations import services as organisations

PASSWORD = "correct horse battery"


def test_shares_asked_for_offline_are_made_at_the_next_sync_and_open_for_an_employer(
    server: Running, tmp_path: Path
) -> None:
    claim_url = _open_claim_session(server)
    phone = _device(server, tmp_path, "phone", sign_up=True)
    phone.claim(claim_url)
    phone.sync()
    [cred] = [c["cred"] for c in phone.credentials()]

    online = _unplug(phone)
    one = phone.share(creds=[cred], label="for Acme", expires_in_days=30)
    coll = phone.create_collection("Electronics")
    phone.add_member(coll, cred)
    whole = phone.share(coll=coll)
    several = phone.share(creds=[cred, "sha256:" + "0" * 64])
    assert {a["action_id"]: a["status"] for a in phone.actions()}[one] == "queued"
    phone.client.close()
    phone.client = online

    report = phone.sync()

    assert report.rejected == []
    shown = {a["action_id"]: a for a in phone.actions()}
    assert shown[one]["status"] == shown[whole]["status"] == "done"
    assert (shown[several]["status"], shown[several]["code"]) == ("failed", "request.validation_failed")
    expires_at = dt.datetime.fromisoformat(shown[one]["result"]["expires_at"])
    assert expires_at == server.clock.now + dt.timedelta(days=30)
    for action_id in (one, whole):
        url = shown[action_id]["result"]["url"]
        assert url.startswith(server.url + "/s/")
        page = httpx.get(url, timeout=10.0)
        assert page.status_code == 200 and "Soldering Basics" in page.text
    listed = phone.client.request("GET", "/api/v1/shares")
    assert sorted(link["id"] for link in listed) == sorted(
        [shown[one]["result"]["share_id"], shown[whole]["result"]["share_id"]]
    )


def test_an_action_the_server_refuses_stays_listed_with_its_code(server: Running, tmp_path: Path) -> None:
    del server.app.extensions["wallet"].actions["share.create"]  # a server that does not make share links
    phone = _device(server, tmp_path, "phone", sign_up=True)
    action_id = phone.share(coll="6f1c1a52-5d0b-4a0e-9d43-2b0f3c6f0f11")

    report = phone.sync()

    assert [r["code"] for r in report.rejected] == ["action.unsupported"]
    assert phone.pending_count() == 0
    [refused] = phone.actions()
    assert (refused["action_id"], refused["status"], refused["code"]) == (action_id, "rejected", "action.unsupported")


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    """The app on a free port of 127.0.0.1, committing for real; every table is emptied afterwards."""
    with live_server(settings, engine, FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))) as running:
        yield running


def _open_claim_session(server: Running) -> str:
    """A youth worker's open claim session (made the operator's and the worker's way); its QR URL."""
    admin, worker = WalletClient(server.url), WalletClient(server.url)
    admin.sign_up("venue-admin", PASSWORD)
    worker.sign_up("venue-worker", PASSWORD)
    now = server.clock.now
    admin_id = uuid.UUID(admin.me()["id"])
    with server.session() as db:
        organisations.create_organisation(db, slug="makerspace", name="Makerspace", now=now)
        organisations.add_member(db, slug="makerspace", actor=None, username="venue-admin", role=Role.ADMIN, now=now)
        organisations.add_member(
            db, slug="makerspace", actor=None, username="venue-worker", role=Role.YOUTH_WORKER, now=now
        )
        achievement = create_achievement(
            db,
            slug="makerspace",
            actor=admin_id,
            name="Soldering Basics",
            description="Soldered a blinking LED kit safely.",
            criteria_narrative="Finish the kit.",
            now=now,
        )
        db.commit()
        achievement_id = str(achievement.id)
    session = worker.request(
        "POST",
        "/api/v1/organisations/makerspace/claim-sessions",
        json_body={
            "achievement_id": achievement_id,
            "title": "Soldering workshop",
            "venue": "Room 2",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
        },
    )
    url = worker.request("GET", f"/api/v1/claim-sessions/{session['id']}/qr")["url"]
    admin.close()
    worker.close()
    return str(url)


def _device(server: Running, folder: Path, name: str, *, sign_up: bool = False) -> OfflineWallet:
    client = WalletClient(server.url, timeout=10.0)
    if sign_up:
        client.sign_up("sam-e2e", PASSWORD, device_name=name)
    else:
        client.login("sam-e2e", PASSWORD, device_name=name)
    return OfflineWallet(folder / f"{name}.sqlite3", client)


class _Unplugged(httpx.BaseTransport):
    """No network at all (airplane mode): every request fails to connect."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network", request=request)


def _unplug(wallet: OfflineWallet) -> WalletClient:
    """Take a device offline; returns its online client to plug back in."""
    online = wallet.client
    wallet.client = WalletClient(
        online.base_url, transport=_Unplugged(), token_store=online.token_store, sleep=lambda _s: None
    )
    return online


def test_two_devices_edit_offline_sync_over_http_and_a_queued_claim_comes_back(server: Running, tmp_path: Path) -> None:
    claim_url = _open_claim_session(server)
    phone = _device(server, tmp_path, "phone", sign_up=True)
    tablet = _device(server, tmp_path, "tablet")
    phone.sync()
    tablet.sync()

    online = _unplug(phone)
    action_id = phone.claim(claim_url)
    coll = phone.create_collection("Portfolio")
    with pytest.raises(TransportError):
        phone.sync()
    assert [a["status"] for a in phone.actions()] == ["queued"]
    tablet.create_collection("Work")
    phone.client.close()
    phone.client = online

    report = phone.sync()
    assert report.rejected == []
    assert phone.pending_count() == 0
    [claimed] = phone.actions()
    assert (claimed["action_id"], claimed["status"], claimed["code"]) == (action_id, "done", None)
    cred = claimed["result"]["cred"]
    assert [c["cred"] for c in phone.credentials()] == [cred]

    phone.add_member(coll, cred)
    phone.add_tag(cred, "Electronics")
    tablet.sync()
    tablet.set_note(cred, "first badge")
    tablet.sync()
    phone.sync()
    tablet.sync()

    assert tablet.pending_count() == phone.pending_count() == 0
    assert tablet.view() == phone.view()
    shown = phone.view()
    assert shown["credentials"][0]["note"] == "first badge"
    assert shown["credentials"][0]["tags"] == ["electronics"]
    assert sorted(c["name"] for c in shown["collections"]) == ["Portfolio", "Work"]
    assert "sha256:" + hashlib.sha256(tablet.client.blob(cred)).hexdigest() == cred
    for device in (phone, tablet):
        device.client.close()
        device.close()
