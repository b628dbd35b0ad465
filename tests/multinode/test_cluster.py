"""Two app nodes, each with its own instance folder, behind a real nginx, on one PostgreSQL database.

Configured the way docs/operations.md tells an operator (shared WALLET_SECRET_KEY and key-encryption
key, WALLET_TRUST_PROXY, deploy/nginx-wallet.conf), the nodes serve one wallet: a token minted on one
works on the other, claims, sync and share pages work through the proxy and through each node, rate
limits count the real client address nginx passed on (not the proxy's, not a forged header), each
scheduled job does its work once across nodes, and a node SIGKILLed mid-load loses nothing while the
claim cap stays exact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
import sys
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
from tests.faults.live import ROOT, LiveServer
from tests.multinode.cluster import Proxy, cluster
from wallet.config import Settings
from wallet.models import Claim, ClaimSession, HeldCredential, IssuedCredential, Role, SessionState
from wallet.organisations import services as organisations

pytestmark = pytest.mark.postgres

LOGINS_PER_IP = 4
DEADLINE_S = 60.0


@dataclasses.dataclass
class Who:
    username: str
    account_id: str
    headers: dict[str, str]


def _sign_up(http: Any, username: str) -> Who:
    response = http.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.text
    body = response.json() if callable(response.json) else response.json
    return Who(username, body["account_id"], {"Authorization": f"Bearer {body['access_token']}"})


def _venue(app: Flask, clock: FakeClock, *, slug: str, cap: int, ends_in: dt.timedelta) -> tuple[dict[str, Any], Who]:
    """An organisation, a youth worker and an open claim session (the session and the worker)."""
    client = app.test_client()
    admin = _sign_up(client, f"{slug}-admin")
    worker = _sign_up(client, f"{slug}-worker")
    factory = app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug=slug, name=slug.title(), now=clock.now)
        organisations.add_member(db, slug=slug, actor=None, username=admin.username, role=Role.ADMIN, now=clock.now)
        organisations.add_member(
            db, slug=slug, actor=None, username=worker.username, role=Role.YOUTH_WORKER, now=clock.now
        )
    with factory() as db:
        achievement_id = make_achievement(db, {"slug": slug, "admin": admin}, now=clock.now)
    opened = client.post(
        f"/api/v1/organisations/{slug}/claim-sessions",
        headers=worker.headers,
        json={
            "achievement_id": achievement_id,
            "title": slug.title(),
            "venue": "Hall",
            "cap": cap,
            "starts_at": (clock.now - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (clock.now + ends_in).isoformat(),
        },
    )
    assert opened.status_code == 201, opened.json
    return opened.json, worker


def _claim_link(base_url: str, session: dict[str, Any], worker: Who) -> str:
    """The session's shared QR link as the nodes make it (naming the public origin, the proxy)."""
    answer = httpx.get(f"{base_url}/api/v1/claim-sessions/{session['id']}/qr", headers=worker.headers, timeout=20)
    assert answer.status_code == 200, answer.text
    link: str = answer.json()["url"]
    return link


def _from(address: str, base_url: str) -> httpx.Client:
    """A client whose connections leave from ``address`` (127.0.0.x): one more "real client" to nginx."""
    return httpx.Client(base_url=base_url, timeout=20, transport=httpx.HTTPTransport(local_address=address))


def _every_node_serves_one_wallet(proxy: Proxy, nodes: list[LiveServer], hub: dict[str, Any], hub_worker: Who) -> None:
    one, two = (httpx.Client(base_url=node.url, timeout=20) for node in nodes)
    via_proxy = httpx.Client(base_url=proxy.url, timeout=20)

    # A token minted by node 1 is good on node 2 and through the proxy.
    learner = _sign_up(one, "hub-learner")
    code = _claim_link(proxy.url, hub, hub_worker)
    for http in (two, via_proxy):
        me = http.get("/api/v1/me", headers=learner.headers)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "hub-learner"

    # Claim through node 2 (it opens the signing key node 1's organisation sealed), sync through the proxy.
    claimed = two.post("/api/v1/claims/redeem", headers=learner.headers, json={"code": code})
    assert claimed.status_code in (200, 201), claimed.text
    client_id = via_proxy.post("/api/v1/sync/clients", json={}, headers=learner.headers).json()["client_id"]
    stamp = send(None, now_ms=int(time.time() * 1000), node=client_id)
    op = {"type": "collection.create", "op_seq": 1, "hlc": str(stamp), "coll": str(uuid.uuid4()), "name": "Hub"}
    pushed = via_proxy.post(
        "/api/v1/sync",
        headers=learner.headers,
        json={"protocol": 1, "client_id": client_id, "cursor": None, "ops": [op]},
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["acked_op_seq"] == 1 and pushed.json()["rejected"] == []
    pulled = one.post(
        "/api/v1/sync",
        headers=learner.headers,
        json={"protocol": 1, "client_id": client_id, "cursor": None, "ops": []},
    )
    assert pulled.status_code == 200 and "Hub" in pulled.text

    # A share link made on node 1 opens on node 2, through the proxy, and names the public origin.
    shared = one.post(
        "/api/v1/shares", headers=learner.headers, json={"credential_id": claimed.json()["held_credential_id"]}
    )
    assert shared.status_code == 201, shared.text
    assert shared.json()["url"].startswith(proxy.url + "/s/")
    path = "/s/" + shared.json()["url"].rsplit("/s/", 1)[1]
    for http in (one, two, via_proxy):
        page = http.get(path)
        assert page.status_code == 200, page.text
        assert "text/html" in page.headers["content-type"]

    # Rate limits see the client nginx saw: a forged X-Forwarded-For does not reset them, and
    # another client (another source address) still signs in although both reach the proxy alike.
    with _from("127.0.0.2", proxy.url) as greedy, _from("127.0.0.3", proxy.url) as neighbour:
        answers = [
            greedy.post(
                "/api/v1/auth/login",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                json={"username": "hub-learner", "password": "wrong password!", "device": {"name": "x"}},
            ).status_code
            for n in range(LOGINS_PER_IP + 2)
        ]
        assert answers[:LOGINS_PER_IP] == [401] * LOGINS_PER_IP and answers[-1] == 429, answers
        other = neighbour.post(
            "/api/v1/auth/login",
            json={"username": "hub-learner", "password": "correct horse battery", "device": {"name": "y"}},
        )
        assert other.status_code == 200, other.text

    # Each node's scheduler, started at the same instant, does each job's work at most once.
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "wallet.cli", "scheduler", "--once"],
            env=node.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in nodes
    ]
    outputs = [command.communicate(timeout=120)[0] for command in commands]
    assert [command.returncode for command in commands] == [0, 0], outputs
    results = [_results(output) for output in outputs]
    assert set(results[0]) == set(results[1]) and "claims.close_ended_sessions" in results[0], outputs
    for job in results[0]:
        assert len([r[job] for r in results if r[job]]) <= 1, f"{job} did work on both nodes: {outputs}"
    assert sum(r["claims.close_ended_sessions"] or 0 for r in results) == 1, outputs


def _results(output: str) -> dict[str, int | None]:
    results: dict[str, int | None] = {}
    for line in output.splitlines():
        match = re.fullmatch(r"([\w.]+): (\d+|skipped \(running elsewhere\))", line.strip())
        if match:
            results[match[1]] = int(match[2]) if match[2].isdigit() else None
    return results


LEARNERS = 30
CAP = 24
DEVICES = 4
OPS_PER_DEVICE = 16
BATCH = 4


@dataclasses.dataclass
class Ledger:
    claims: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    full: set[int] = dataclasses.field(default_factory=set)
    acked: dict[int, int] = dataclasses.field(default_factory=dict)
    failures: Counter[str] = dataclasses.field(default_factory=Counter)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def _claimer(url: str, who: Who, index: int, code: str, ledger: Ledger, start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.monotonic()))
    deadline = time.monotonic() + DEADLINE_S
    with httpx.Client(base_url=url, timeout=20) as http:
        while time.monotonic() < deadline:
            try:
                response = http.post("/api/v1/claims/redeem", headers=who.headers, json={"code": code})
            except httpx.TransportError as error:
                with ledger.lock:
                    ledger.failures[f"claim {type(error).__name__}"] += 1
                time.sleep(0.2)
                continue
            if response.status_code >= 500:
                with ledger.lock:
                    ledger.failures[f"claim {response.status_code}"] += 1
                time.sleep(0.2)
                continue
            with ledger.lock:
                if response.status_code == 409 and response.json()["code"] == "claim.session_full":
                    ledger.full.add(index)
                else:
                    assert response.status_code in (200, 201), response.text
                    ledger.claims[index] = response.json()
            return


def _syncer(url: str, who: Who, index: int, client_id: str, ledger: Ledger) -> None:
    stamp = None
    ops = []
    for op_seq in range(1, OPS_PER_DEVICE + 1):
        stamp = send(stamp, now_ms=int(time.time() * 1000), node=client_id)
        coll = str(uuid.UUID(int=index * 1000 + op_seq))
        ops.append({"type": "collection.create", "op_seq": op_seq, "hlc": str(stamp), "coll": coll, "name": coll})
    acked = 0
    deadline = time.monotonic() + DEADLINE_S
    with httpx.Client(base_url=url, timeout=20) as http:
        while acked < OPS_PER_DEVICE and time.monotonic() < deadline:
            body = {"protocol": 1, "client_id": client_id, "cursor": None, "ops": ops[acked : acked + BATCH]}
            try:
                response = http.post("/api/v1/sync", headers=who.headers, json=body)
            except httpx.TransportError as error:
                with ledger.lock:
                    ledger.failures[f"sync {type(error).__name__}"] += 1
                time.sleep(0.1)
                continue
            if response.status_code >= 500:
                with ledger.lock:
                    ledger.failures[f"sync {response.status_code}"] += 1
                time.sleep(0.1)
                continue
            assert response.status_code == 200, response.text
            assert response.json()["rejected"] == []
            acked = response.json()["acked_op_seq"]
            with ledger.lock:
                ledger.acked[index] = acked
            time.sleep(0.05)


def _a_killed_node_loses_nothing(
    app: Flask, proxy: Proxy, nodes: list[LiveServer], rush: dict[str, Any], worker: Who, people: dict[str, Any]
) -> None:
    session, learners, devices, client_ids = rush, people["learners"], people["devices"], people["client_ids"]
    ledger = Ledger()
    code = _claim_link(proxy.url, session, worker)
    begin = time.monotonic()
    threads = [
        threading.Thread(target=_claimer, args=(proxy.url, who, n, code, ledger, begin + n * 0.04))
        for n, who in enumerate(learners)
    ]
    threads += [
        threading.Thread(target=_syncer, args=(proxy.url, who, n, client_ids[n], ledger))
        for n, who in enumerate(devices)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    nodes[1].kill_all()  # SIGKILL the whole node: master and workers, requests in flight
    claims_when_killed = len(ledger.claims) + len(ledger.full)
    for thread in threads:
        thread.join(DEADLINE_S + 30)
    survivor = httpx.get(f"{proxy.url}/readyz", timeout=5)
    assert survivor.status_code == 200
    assert claims_when_killed < LEARNERS, "the kill must have come while claims were still arriving"
    assert len(ledger.claims) == CAP and len(ledger.full) == LEARNERS - CAP, (len(ledger.claims), ledger.failures)
    assert len(ledger.acked) == DEVICES and all(v == OPS_PER_DEVICE for v in ledger.acked.values()), ledger.acked
    factory = app.extensions["wallet"].session_factory
    with factory() as db:
        session_id = uuid.UUID(session["id"])
        assert db.scalar(select(ClaimSession.claimed).where(ClaimSession.id == session_id)) == CAP
        per_learner = Counter(db.scalars(select(Claim.account_id).where(Claim.session_id == session_id)))
        assert sorted(per_learner.values()) == [1] * CAP
        assert {str(a) for a in per_learner} == {learners[n].account_id for n in ledger.claims}
        held = Counter(
            db.scalars(
                select(HeldCredential.account_id).where(
                    HeldCredential.account_id.in_([uuid.UUID(who.account_id) for who in learners])
                )
            )
        )
        assert sorted(held.values()) == [1] * CAP, "one credential per successful claimant, none for the rest"
        assert db.scalar(select(func.count()).select_from(IssuedCredential)) == CAP + 1  # and the hub learner's
        held_ids = {str(i) for i in db.scalars(select(HeldCredential.id))}
        assert {answer["held_credential_id"] for answer in ledger.claims.values()} <= held_ids
        assert db.scalar(select(ClaimSession.state).where(ClaimSession.id == session_id)) != SessionState.CLOSED


def test_two_nodes_behind_nginx_serve_one_wallet_and_a_killed_node_loses_nothing(
    committed_app: Flask, settings: Settings, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    hub, hub_worker = _venue(committed_app, clock, slug="hub", cap=10, ends_in=dt.timedelta(hours=1))
    rush, rush_worker = _venue(committed_app, clock, slug="rush", cap=CAP, ends_in=dt.timedelta(hours=1))
    client = committed_app.test_client()
    devices = [_sign_up(client, f"rush-device-{n}") for n in range(DEVICES)]
    people = {
        "learners": [_sign_up(client, f"rush-learner-{n}") for n in range(LEARNERS)],
        "devices": devices,
        "client_ids": [
            client.post("/api/v1/sync/clients", json={}, headers=d.headers).json["client_id"] for d in devices
        ],
    }
    # A session that ended an hour ago (opened with the clock in the past): closing it is the jobs' work.
    real_now = clock.now
    clock.now = real_now - dt.timedelta(hours=3)
    _venue(committed_app, clock, slug="ended", cap=5, ends_in=dt.timedelta(hours=2))
    clock.now = real_now
    env = {
        "WALLET_RATELIMIT_LOGIN_PER_IP_PER_MINUTE": str(LOGINS_PER_IP),
        "WALLET_RATELIMIT_LOGIN_PER_USERNAME_PER_MINUTE": "100",
    }
    # One cluster for both stories: booting gunicorn nodes is most of this test's time.
    with cluster(database_url=database_url, folder=tmp_path, nodes=2, extra_env=env) as (proxy, nodes):
        _every_node_serves_one_wallet(proxy, nodes, hub, hub_worker)
        _a_killed_node_loses_nothing(committed_app, proxy, nodes, rush, rush_worker, people)
