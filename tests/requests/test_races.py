"""Real concurrent decisions on PostgreSQL: two reviewers approving one request at once issue exactly one
credential; the other hears ``badge_request.closed``. Approving while the learner withdraws: one wins."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import FakeClock


def _sign_up(client: Any, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _arrange(app: Flask, clock: FakeClock, reviewers: int) -> tuple[str, list[dict[str, str]], dict[str, str], str]:
    from wallet.models import Role
    from wallet.organisations import services as organisations

    client = app.test_client()
    admin = _sign_up(client, "admin")
    workers = [_sign_up(client, f"worker{i}") for i in range(reviewers)]
    learner = _sign_up(client, "sam")
    with app.extensions["wallet"].session_factory.begin() as db:
        organisations.create_organisation(db, slug="north", name="North", now=clock.now)
        organisations.add_member(db, slug="north", actor=None, username="admin", role=Role.ADMIN, now=clock.now)
        for i in range(reviewers):
            organisations.add_member(
                db, slug="north", actor=None, username=f"worker{i}", role=Role.YOUTH_WORKER, now=clock.now
            )
    made = client.post(
        "/api/v1/organisations/north/achievements",
        headers=admin,
        json={"name": "Helper", "description": "Helped.", "criteria_narrative": "Help out."},
    )
    assert made.status_code == 201, made.json
    achievement_id = made.json["id"]
    assert (
        client.put(
            f"/api/v1/organisations/north/achievements/{achievement_id}/requestable", headers=admin, json={}
        ).status_code
        == 200
    )
    asked = client.post(
        "/api/v1/me/badge-requests", headers=learner, json={"achievement_id": achievement_id, "narrative": "I helped."}
    )
    assert asked.status_code == 201, asked.json
    return asked.json["id"], workers, learner, achievement_id


def _race(app: Flask, calls: list[tuple[str, dict[str, str], dict[str, Any]]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path, headers=headers, json=body)
        results[index] = (response.status_code, response.json)

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _issued(app: Flask) -> int:
    from wallet.models import HeldCredential, IssuedCredential

    with app.extensions["wallet"].session_factory() as db:
        issued = db.scalar(select(func.count()).select_from(IssuedCredential))
        held = db.scalar(select(func.count()).select_from(HeldCredential))
    assert issued == held
    return int(issued or 0)


@pytest.mark.postgres
def test_two_reviewers_approving_at_once_issue_one_credential(committed_app: Flask, clock: FakeClock) -> None:
    request_id, workers, _learner, _ = _arrange(committed_app, clock, reviewers=2)
    path = f"/api/v1/organisations/north/badge-requests/{request_id}/approve"

    results = _race(committed_app, [(path, worker, {}) for worker in workers])

    outcomes = Counter(status if status == 200 else body["code"] for status, body in results)
    assert outcomes == {200: 1, "badge_request.closed": 1}, results
    assert _issued(committed_app) == 1


@pytest.mark.postgres
def test_many_reviewers_approving_at_once_still_issue_one_credential(committed_app: Flask, clock: FakeClock) -> None:
    request_id, workers, _learner, _ = _arrange(committed_app, clock, reviewers=8)
    path = f"/api/v1/organisations/north/badge-requests/{request_id}/approve"

    results = _race(committed_app, [(path, worker, {}) for worker in workers])

    assert Counter(status for status, _ in results) == {200: 1, 409: 7}, results
    assert _issued(committed_app) == 1


@pytest.mark.postgres
def test_an_approval_racing_a_withdrawal_has_one_winner(committed_app: Flask, clock: FakeClock) -> None:
    request_id, workers, learner, _ = _arrange(committed_app, clock, reviewers=1)

    results = _race(
        committed_app,
        [
            (f"/api/v1/organisations/north/badge-requests/{request_id}/approve", workers[0], {}),
            (f"/api/v1/me/badge-requests/{request_id}/withdraw", learner, {}),
        ],
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    approved = results[0][0] == 200
    assert _issued(committed_app) == (1 if approved else 0)
