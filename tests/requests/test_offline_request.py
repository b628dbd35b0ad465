"""A badge request written offline in the SDK reaches the server exactly once, however flaky the network,
and the reviewer's decision (then the badge itself) arrives on every device at its next sync."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
from flask import Flask
from flask.testing import FlaskClient
from wallet_client import OfflineWallet, WalletClient
from wallet_client.errors import TransportError

BASE_URL = "https://wallet.test"


class FlakyNetwork(httpx.BaseTransport):
    """The app in-process, breaking delivery on purpose: ``faults`` are consumed one per request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.faults: list[str] = []
        self.pushed: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "drop_request":
            raise httpx.ConnectError("dropped on the way out", request=request)
        if request.url.path == "/api/v1/sync":
            data = request.read()
            body = json.loads(gzip.decompress(data) if request.headers.get("Content-Encoding") == "gzip" else data)
            self.pushed += body["ops"]
        response = self.inner.handle_request(request)
        if fault == "duplicate":
            response.read()
            response = self.inner.handle_request(request)
        if fault == "drop_response":
            response.read()
            raise httpx.ReadTimeout("response lost after the server committed", request=request)
        return response


def _device(
    app: Flask, tmp_path: Path, name: str, tokens: Any, *, network: FlakyNetwork | None = None
) -> OfflineWallet:
    transport = network or httpx.WSGITransport(app=app)
    client = WalletClient(BASE_URL, transport=transport, sleep=lambda _s: None, max_retries=1)
    client.token_store.save(tokens)
    return OfflineWallet(tmp_path / f"{name}.sqlite3", client)


def _sync_until_done(phone: OfflineWallet, attempts: int = 8) -> None:
    for _ in range(attempts):
        try:
            phone.sync()
        except TransportError:
            continue
        if phone.pending_count() == 0:
            return
    raise AssertionError("the queue never drained")


def test_a_request_queued_offline_arrives_once_after_flaky_syncs_and_its_outcome_reaches_every_device(
    app: Flask, client: FlaskClient, sign_up: Any, requestable: Any, tmp_path: Path
) -> None:
    from wallet_client.client import Tokens

    org = requestable()
    sam = sign_up("sam-offline")
    second = client.post(
        "/api/v1/auth/login",
        json={"username": sam.username, "password": sam.password, "device": {"name": "tablet", "platform": "android"}},
    )
    assert second.status_code == 200, second.json

    network = FlakyNetwork(httpx.WSGITransport(app=app))
    phone = _device(app, tmp_path, "phone", Tokens(sam.access_token, sam.refresh_token), network=network)
    tablet = _device(app, tmp_path, "tablet", Tokens(second.json["access_token"], second.json["refresh_token"]))

    action_id = phone.request_badge(
        org["achievement_id"],
        narrative="Fixed a radio at the café.",
        links=["https://blog.example/radio"],
        witness="Alex",
    )
    assert [a["status"] for a in phone.actions()] == ["queued"]
    network.faults = ["drop_request", "drop_response", "duplicate", "drop_response"]
    _sync_until_done(phone)

    mine = client.get("/api/v1/me/badge-requests", headers=sam.headers).json
    assert len(mine) == 1, "sent several times, made once"
    assert mine[0]["action_id"] == action_id and mine[0]["narrative"] == "Fixed a radio at the café."
    assert sum(1 for op in network.pushed if op["type"] == "badge.request") >= 2  # it really was resent
    outcome = {a["action_id"]: a for a in phone.actions()}[action_id]
    assert outcome["status"] == "done"
    assert outcome["result"] == {
        "request_id": mine[0]["id"],
        "achievement_id": org["achievement_id"],
        "state": "submitted",
    }

    approved = client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{mine[0]['id']}/approve",
        headers=org["worker"].headers,
        json={},
    )
    assert approved.status_code == 200, approved.json

    for device in (phone, tablet):
        _sync_until_done(device)
        result = {a["action_id"]: a for a in device.actions()}[action_id]["result"]
        assert result["state"] == "approved"
        assert [c["cred"] for c in device.credentials()] == [result["cred"]]
    phone.close()
    tablet.close()


def test_a_queued_request_for_a_badge_that_cannot_be_asked_for_fails_with_its_code(
    app: Flask, client: FlaskClient, sign_up: Any, organisation: Any, tmp_path: Path
) -> None:
    from wallet_client.client import Tokens

    learner = sign_up()
    phone = _device(
        app, tmp_path, "phone", Tokens(access_token=learner.access_token, refresh_token=learner.refresh_token)
    )
    action_id = phone.request_badge("00000000-0000-4000-8000-000000000000", narrative="Something")

    _sync_until_done(phone)

    outcome = {a["action_id"]: a for a in phone.actions()}[action_id]
    assert (outcome["status"], outcome["code"]) == ("failed", "badge_request.not_requestable")
    assert client.get("/api/v1/me/badge-requests", headers=learner.headers).json == []
    phone.close()
