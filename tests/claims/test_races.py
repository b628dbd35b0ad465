"""Real concurrent claims on PostgreSQL: the cap holds, a card redeems once, a learner claims once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.claims.conftest import make_achievement
from tests.conftest import FakeClock

THREADS = 20


def _sign_up(client: Any, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _arrange(app: Flask, clock: FakeClock, **session: Any) -> tuple[dict[str, Any], dict[str, str]]:
    from wallet.models import Role
    from wallet.organisations import services as organisations

    client = app.test_client()
    worker = _sign_up(client, "worker")
    admin_response = client.post(
        "/api/v1/accounts", json={"username": "admin", "password": "correct horse battery", "device": {"name": "phone"}}
    )
    factory = app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="north", name="North", now=clock.now)
        organisations.add_member(db, slug="north", actor=None, username="admin", role=Role.ADMIN, now=clock.now)
        organisations.add_member(db, slug="north", actor=None, username="worker", role=Role.YOUTH_WORKER, now=clock.now)
    with factory() as db:
        achievement_id = make_achievement(
            db, {"slug": "north", "admin": _Who(admin_response.json["account_id"])}, now=clock.now
        )
    body = {
        "achievement_id": achievement_id,
        "title": "Race",
        "venue": "Hall",
        "starts_at": (clock.now - dt.timedelta(minutes=1)).isoformat(),
        "ends_at": (clock.now + dt.timedelta(hours=1)).isoformat(),
        **session,
    }
    created = client.post("/api/v1/organisations/north/claim-sessions", headers=worker, json=body)
    assert created.status_code == 201, created.json
    return created.json, worker


class _Who:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id


def _race(app: Flask, requests: list[tuple[dict[str, str], dict[str, Any]]]) -> list[Any]:
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def run(index: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/claims/redeem", headers=headers, json=body)
        results[index] = (response.status_code, response.json)

    threads = [threading.Thread(target=run, args=(i, h, b)) for i, (h, b) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _issued_count(app: Flask) -> int:
    from wallet.models import HeldCredential, IssuedCredential

    with app.extensions["wallet"].session_factory() as db:
        issued = db.scalar(select(func.count()).select_from(IssuedCredential))
        held = db.scalar(select(func.count()).select_from(HeldCredential))
    assert issued == held
    return int(issued or 0)


@pytest.mark.postgres
def test_twenty_learners_racing_for_five_badges_get_exactly_five(committed_app: Flask, clock: FakeClock) -> None:
    session, worker = _arrange(committed_app, clock, cap=5)
    client = committed_app.test_client()
    url = client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=worker).json["url"]
    learners = [_sign_up(client, f"learner{i}") for i in range(THREADS)]
    results = _race(committed_app, [(h, {"code": url}) for h in learners])
    outcomes = Counter(status if status == 201 else body["code"] for status, body in results)
    assert outcomes == {201: 5, "claim.session_full": THREADS - 5}
    assert _issued_count(committed_app) == 5
    count = client.get(f"/api/v1/claim-sessions/{session['id']}/count", headers=worker).json
    assert count["claimed"] == 5


@pytest.mark.postgres
def test_one_card_raced_by_many_learners_redeems_once(committed_app: Flask, clock: FakeClock) -> None:
    from wallet.claims.sessions import single_use_codes

    session, _ = _arrange(committed_app, clock, mode="single_use", codes=2)
    with committed_app.extensions["wallet"].session_factory() as db:
        worker_id = db.scalar(_account_id_of("worker"))
        _, codes = single_use_codes(db, session_id=uuid.UUID(session["id"]), actor=worker_id)
        card = codes[0].fallback_code
    client = committed_app.test_client()
    learners = [_sign_up(client, f"learner{i}") for i in range(THREADS)]
    results = _race(committed_app, [(h, {"code": card}) for h in learners])
    outcomes = Counter(status if status == 201 else body["code"] for status, body in results)
    assert outcomes == {201: 1, "claim.already_claimed": THREADS - 1}
    assert _issued_count(committed_app) == 1


@pytest.mark.postgres
def test_one_learner_retrying_at_once_gets_one_credential(committed_app: Flask, clock: FakeClock) -> None:
    session, worker = _arrange(committed_app, clock, cap=5)
    client = committed_app.test_client()
    url = client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=worker).json["url"]
    sam = _sign_up(client, "sam")
    results = _race(committed_app, [(sam, {"code": url})] * 8)
    statuses = Counter(status for status, _ in results)
    assert statuses[201] == 1 and statuses[200] == 7, results
    assert len({body["credential"]["id"] for _, body in results}) == 1
    assert _issued_count(committed_app) == 1


def _account_id_of(username: str) -> Any:
    from wallet.models import Account

    return select(Account.id).where(Account.username == username)


ROUNDS = 7


@pytest.mark.postgres
def test_a_learner_claiming_through_the_api_and_a_sync_at_once_never_deadlocks(
    committed_app: Flask, clock: FakeClock
) -> None:
    """Both paths lock the learner's wallet first, then the claim, then the session (one lock order):
    before, the API took the claim then the wallet and a sync the wallet then the claim — 503s."""
    from wallet_protocol.sync import send

    _, worker = _arrange(committed_app, clock, cap=5)
    client = committed_app.test_client()
    outcomes = []
    for round_ in range(ROUNDS):
        session = client.post(
            "/api/v1/organisations/north/claim-sessions",
            headers=worker,
            json={
                "achievement_id": client.get("/api/v1/organisations/north/claim-sessions", headers=worker).json[0][
                    "achievement_id"
                ],
                "title": f"Round {round_}",
                "starts_at": (clock.now - dt.timedelta(minutes=1)).isoformat(),
                "ends_at": (clock.now + dt.timedelta(hours=1)).isoformat(),
                "cap": 5,
            },
        ).json
        token = client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=worker).json["token"]
        sam = _sign_up(client, f"sam{round_}")
        client_id = client.post("/api/v1/sync/clients", json={}, headers=sam).json["client_id"]
        now_ms = int(clock.now.timestamp() * 1000)
        op = {
            "type": "claim.redeem",
            "op_seq": 1,
            "hlc": str(send(None, now_ms=now_ms, node=client_id)),
            "action_id": "scan1",
            "code": token,
            "scanned_at": now_ms,
        }
        api, synced = _api_and_sync_at_once(committed_app, sam, token, client_id, op)
        result = [c["s"] for c in (synced.json or {}).get("changes", []) if c["k"] == "action_result"]
        outcomes.append((api.status_code, synced.status_code, result[0]["status"] if result else None))
    assert all(api in (200, 201) and sync == 200 and action == "done" for api, sync, action in outcomes), outcomes
    assert _issued_count(committed_app) == ROUNDS


def _api_and_sync_at_once(
    app: Flask, headers: dict[str, str], code: str, client_id: str, op: dict[str, Any]
) -> tuple[Any, Any]:
    barrier = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def by_api() -> None:
        own = app.test_client()
        barrier.wait()
        answers["api"] = own.post("/api/v1/claims/redeem", headers=headers, json={"code": code})

    def by_sync() -> None:
        own = app.test_client()
        barrier.wait()
        body = {"protocol": 1, "client_id": client_id, "cursor": None, "ops": [op]}
        answers["sync"] = own.post("/api/v1/sync", headers=headers, json=body)

    threads = [threading.Thread(target=by_api), threading.Thread(target=by_sync)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers["api"], answers["sync"]
