"""Workers killed with SIGKILL while claims and syncs are in flight lose nothing and duplicate nothing.

A real ``wallet serve --workers 2`` on 127.0.0.1 and the test's PostgreSQL database. Thirty learners claim
from one shared session and six devices push numbered ops in small batches, each retrying (same request,
same ``op_seq``s) on a transport error or a 5xx until it has an answer. During the traffic one worker is
SIGKILLed (gunicorn replaces it), then the whole process group (master and workers), and the server is
restarted. Afterwards: every learner holds exactly one credential from the session, every acknowledged claim
is that credential, the cap was not exceeded, and every device's ops are all applied exactly once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select
from wallet_protocol.sync import send

from tests.claims.conftest import make_achievement
from tests.conftest import FakeClock
from tests.faults.live import LiveServer
from wallet.config import Settings
from wallet.models import Claim, ClaimSession, HeldCredential, IssuedCredential, Role, SyncClient, SyncRow
from wallet.organisations import services as organisations

pytestmark = pytest.mark.postgres

LEARNERS = 30
DEVICES = 6
OPS_PER_DEVICE = 24
BATCH = 2
DEADLINE_S = 90.0


@dataclasses.dataclass
class Who:
    account_id: str
    headers: dict[str, str]


@dataclasses.dataclass
class Ledger:
    """What clients were told: acknowledged claims, acknowledged op numbers, and transport failures seen."""

    claims: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    acked: dict[int, int] = dataclasses.field(default_factory=dict)
    failures: Counter[str] = dataclasses.field(default_factory=Counter)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def failed(self, kind: str) -> None:
        with self.lock:
            self.failures[kind] += 1


def _sign_up(client: Any, username: str) -> Who:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return Who(response.json["account_id"], {"Authorization": f"Bearer {response.json['access_token']}"})


def _claimer(server: LiveServer, who: Who, index: int, code: str, ledger: Ledger, start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.monotonic()))
    deadline = time.monotonic() + DEADLINE_S
    with httpx.Client(base_url=server.url, timeout=20) as http:
        while time.monotonic() < deadline:
            try:
                response = http.post("/api/v1/claims/redeem", headers=who.headers, json={"code": code})
            except httpx.TransportError as error:
                ledger.failed(f"claim {type(error).__name__}")
                time.sleep(0.2)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                ledger.failed(f"claim {response.status_code}")
                time.sleep(0.2)
                continue
            assert response.status_code in (200, 201), response.text
            with ledger.lock:
                ledger.claims[index] = response.json()
            return


def _syncer(server: LiveServer, who: Who, index: int, client_id: str, ledger: Ledger, now: dt.datetime) -> None:
    stamp = None
    ops = []
    for op_seq in range(1, OPS_PER_DEVICE + 1):
        stamp = send(stamp, now_ms=int(now.timestamp() * 1000), node=client_id)
        ops.append(
            {
                "type": "collection.create",
                "op_seq": op_seq,
                "hlc": str(stamp),
                "coll": str(uuid.UUID(int=index * 1000 + op_seq)),
                "name": f"Folder {index}-{op_seq}",
            }
        )
    acked = 0
    deadline = time.monotonic() + DEADLINE_S
    with httpx.Client(base_url=server.url, timeout=20) as http:
        while acked < OPS_PER_DEVICE and time.monotonic() < deadline:
            batch = ops[acked : acked + BATCH]
            body = {"protocol": 1, "client_id": client_id, "cursor": None, "ops": batch}
            try:
                response = http.post("/api/v1/sync", headers=who.headers, json=body)
            except httpx.TransportError as error:
                ledger.failed(f"sync {type(error).__name__}")
                time.sleep(0.1)
                continue
            if response.status_code >= 500:
                ledger.failed(f"sync {response.status_code}")
                time.sleep(0.1)
                continue
            assert response.status_code == 200, response.text
            assert response.json()["rejected"] == []
            acked = response.json()["acked_op_seq"]
            with ledger.lock:
                ledger.acked[index] = acked
            time.sleep(0.1)  # 12 batches over ~1.5 s: the kills at 0.5 s and 1.1 s land mid-sync, and syncs go on after


def test_killing_workers_mid_claim_and_mid_sync_loses_nothing_and_duplicates_nothing(
    committed_app: Flask, settings: Settings, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    client = committed_app.test_client()
    admin = _sign_up(client, "kill-admin")
    worker = _sign_up(client, "kill-worker")
    factory = committed_app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="kill", name="Kill", now=clock.now)
        organisations.add_member(db, slug="kill", actor=None, username="kill-admin", role=Role.ADMIN, now=clock.now)
        organisations.add_member(
            db, slug="kill", actor=None, username="kill-worker", role=Role.YOUTH_WORKER, now=clock.now
        )
    with factory() as db:
        achievement_id = make_achievement(db, {"slug": "kill", "admin": admin}, now=clock.now)
    session = client.post(
        "/api/v1/organisations/kill/claim-sessions",
        headers=worker.headers,
        json={
            "achievement_id": achievement_id,
            "title": "Kill",
            "venue": "Hall",
            "cap": LEARNERS + 5,
            "starts_at": (clock.now - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (clock.now + dt.timedelta(hours=1)).isoformat(),
        },
    ).json
    code = client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=worker.headers).json["url"]
    learners = [_sign_up(client, f"kill-learner-{n}") for n in range(LEARNERS)]
    devices = [_sign_up(client, f"kill-device-{n}") for n in range(DEVICES)]
    client_ids = [client.post("/api/v1/sync/clients", json={}, headers=d.headers).json["client_id"] for d in devices]

    server = LiveServer(
        database_url=database_url,
        instance_path=settings.instance_path,
        log=tmp_path / "server.log",
        base_url=settings.base_url,
    )
    ledger = Ledger()
    server.start()
    try:
        begin = time.monotonic()
        threads = [
            threading.Thread(target=_claimer, args=(server, who, n, code, ledger, begin + n * 0.06))
            for n, who in enumerate(learners)
        ]
        threads += [
            threading.Thread(target=_syncer, args=(server, who, n, client_ids[n], ledger, clock.now))
            for n, who in enumerate(devices)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        server.kill_worker()
        time.sleep(0.6)
        server.kill_all()
        acked_before_restart = dict(ledger.acked)
        claims_before_restart = len(ledger.claims)
        server.start()
        for thread in threads:
            thread.join(DEADLINE_S + 30)
    finally:
        server.stop()

    in_flight = sum(n for kind, n in ledger.failures.items() if not kind.endswith("ConnectError"))
    assert in_flight > 0, f"the kills must have cut requests in flight: {dict(ledger.failures)}"
    assert claims_before_restart < LEARNERS, "some claims must have been left to the restarted server"
    assert len(ledger.claims) == LEARNERS and all(v == OPS_PER_DEVICE for v in ledger.acked.values())
    assert len(ledger.acked) == DEVICES and acked_before_restart != ledger.acked
    with factory() as db:
        session_id = uuid.UUID(session["id"])
        per_learner = Counter(db.scalars(select(Claim.account_id).where(Claim.session_id == session_id)))
        assert sorted(per_learner.values()) == [1] * LEARNERS
        held = Counter(
            db.scalars(
                select(HeldCredential.account_id).where(
                    HeldCredential.account_id.in_([uuid.UUID(w.account_id) for w in learners])
                )
            )
        )
        assert sorted(held.values()) == [1] * LEARNERS
        assert db.scalar(select(func.count()).select_from(IssuedCredential)) == LEARNERS
        held_ids = {str(i) for i in db.scalars(select(HeldCredential.id))}
        assert {answer["held_credential_id"] for answer in ledger.claims.values()} <= held_ids
        claimed = db.scalar(select(ClaimSession.claimed).where(ClaimSession.id == session_id))
        assert claimed == LEARNERS
        for n, client_id in enumerate(client_ids):
            assert db.scalar(select(SyncClient.last_op_seq).where(SyncClient.id == uuid.UUID(client_id))) == (
                OPS_PER_DEVICE
            )
            names = sorted(
                db.scalars(
                    select(SyncRow.state).where(
                        SyncRow.account_id == uuid.UUID(devices[n].account_id), SyncRow.kind == "collection"
                    )
                ),
                key=lambda state: state["name"][0],
            )
            assert len(names) == OPS_PER_DEVICE
