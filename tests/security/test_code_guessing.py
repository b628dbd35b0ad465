"""Guessing claim codes is rate limited with 429 + Retry-After — per account (30 a minute) and per client
address (120 a minute, 2000 a day), by one limiter on every path that judges a code: the landing page and
its forms, the API, queued sync ops, the OpenID4VCI offer and token endpoints. A guesser on the web claim
page is limited per IP and per username too."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.claims.conftest import Venue, make_achievement
from tests.conftest import FakeClock

CODE_ATTEMPTS_PER_MINUTE = 30


@pytest.fixture
def venue(client: FlaskClient, db: Session, organisation: Any, clock: FakeClock) -> Venue:
    org = organisation()
    return Venue(client, org, make_achievement(db, org, now=clock.now), clock)


def test_a_learner_guessing_codes_is_refused_after_thirty_a_minute(
    client: FlaskClient, sign_up: Any, venue: Venue, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)  # one fixed window for the whole burst
    real = venue.qr(venue.open())["url"]
    mallory = sign_up("mallory")
    answers = [
        client.post("/api/v1/claims/redeem", headers=mallory.headers, json={"code": f"GUESS{n:04d}X"})
        for n in range(CODE_ATTEMPTS_PER_MINUTE)
    ]
    refused = client.post("/api/v1/claims/redeem", headers=mallory.headers, json={"code": real})

    assert {a.status_code for a in answers} == {404}
    assert refused.status_code == 429 and refused.json["code"] == "request.rate_limited"
    assert int(refused.headers["Retry-After"]) == refused.json["retry_after"] > 0
    assert client.post("/api/v1/claims/redeem", headers=sign_up("sam").headers, json={"code": real}).status_code == 201
    clock.advance(minutes=1)
    assert client.post("/api/v1/claims/redeem", headers=mallory.headers, json={"code": real}).status_code == 201


def test_password_guessing_on_the_claim_page_is_limited_per_username(
    client: FlaskClient, sign_up: Any, venue: Venue, clock: FakeClock, settings: Any
) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)
    sign_up("robin")
    code = venue.qr(venue.open())["token"]
    allowed = settings.ratelimit_login_per_username_per_minute  # the API's limit, 5 by default
    statuses = []
    for n in range(allowed + 1):
        html = client.get(f"/c/{code}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token
        statuses.append(
            client.post(
                f"/c/{code}/sign-in", data={"csrf_token": token[1], "username": "robin", "password": f"wrong guess {n}"}
            ).status_code
        )

    assert statuses == [401] * allowed + [429]


# --- One limiter on every path that judges a code (issue 18, item 1) ---------------------------------


def _csrf(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found[1]


def test_the_landing_page_is_no_validity_oracle_for_anyone_without_an_account(
    client: FlaskClient, venue: Venue, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)
    real = venue.qr(venue.open())["token"]
    answers = [client.get(f"/c/GUESS{n:04d}X").status_code for n in range(119)]
    assert set(answers) == {404}
    assert client.get(f"/c/{real}").status_code == 200  # the 120th judgement of the minute
    refused = client.get(f"/c/{real}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many tries" in refused.get_data(as_text=True)
    clock.advance(minutes=1)
    assert client.get(f"/c/{real}").status_code == 200


class TestASmallBudget:
    """10 judgements a minute per client address (``WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_MINUTE``)."""

    @pytest.fixture
    def settings(self, settings: Any) -> Any:
        return dataclasses.replace(settings, ratelimit_claim_code_per_ip_per_minute=10)

    def test_every_path_spends_from_one_budget_per_client(
        self, client: FlaskClient, sign_up: Any, venue: Venue, clock: FakeClock
    ) -> None:
        clock.now = clock.now.replace(second=0, microsecond=0)
        real = venue.qr(venue.open())["token"]
        learner = sign_up("robin")
        spent = [
            client.get("/c/K7QM3XPDR").status_code,  # landing page, no sign-in
            client.get("/c/K7QM3XPDR/wallet-app").status_code,  # "another wallet app"
            client.get("/oid4vci/offer/K7QM3XPDR").status_code,  # OpenID4VCI offer by reference
            client.post(
                "/oid4vci/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                    "pre-authorized_code": "x" * 43,
                },
            ).status_code,
            client.post("/api/v1/claims/redeem", headers=learner.headers, json={"code": "K7QM3XPDR"}).status_code,
        ]
        assert spent == [404, 404, 404, 400, 404]
        assert [client.get(f"/c/GUESS{n:04d}X").status_code for n in range(5)] == [404] * 5
        assert client.get(f"/c/{real}").status_code == 429
        assert client.get(f"/oid4vci/offer/{real}").status_code == 429
        assert client.post("/api/v1/claims/redeem", headers=learner.headers, json={"code": real}).status_code == 429
        token = client.post(
            "/oid4vci/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                "pre-authorized_code": "y" * 43,
            },
        )
        assert token.status_code == 429 and token.json["code"] == "request.rate_limited"
        other = client.get(f"/c/{real}", environ_base={"REMOTE_ADDR": "203.0.113.7"})
        assert other.status_code == 200  # the budget is the guesser's, not the room's


def test_signed_in_guessing_on_the_claim_form_is_limited_per_account(
    client: FlaskClient, sign_up: Any, venue: Venue, clock: FakeClock
) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)
    real = venue.qr(venue.open())["token"]
    sign_up("mallory")
    csrf = _csrf(client, f"/c/{real}")
    signed_in = client.post(
        f"/c/{real}/sign-in", data={"csrf_token": csrf, "username": "mallory", "password": "correct horse battery"}
    )
    assert signed_in.status_code == 303
    csrf = _csrf(client, f"/c/{real}")  # a fresh session: a fresh token
    statuses = [
        client.post(f"/c/GUESS{n:04d}X/claim", data={"csrf_token": csrf}).status_code
        for n in range(CODE_ATTEMPTS_PER_MINUTE)
    ]
    # the landing page after signing in judged one code for the account already
    assert statuses == [404] * (CODE_ATTEMPTS_PER_MINUTE - 1) + [429]
    assert client.post(f"/c/{real}/claim", data={"csrf_token": csrf}).status_code == 429


def test_a_sync_full_of_queued_guesses_is_limited_and_the_rest_waits_to_be_retried(
    client: FlaskClient, sign_up: Any, venue: Venue, clock: FakeClock
) -> None:
    from tests.sync.conftest import Device

    clock.now = clock.now.replace(second=0, microsecond=0)
    real = venue.qr(venue.open())["token"]
    mallory = sign_up("mallory")
    registered = client.post("/api/v1/sync/clients", json={}, headers=mallory.headers)
    phone = Device(client, mallory.headers, registered.json["client_id"], now_ms=int(clock.now.timestamp() * 1000))
    scanned = int(clock.now.timestamp() * 1000)
    guesses = [
        phone.op("claim.redeem", action_id=f"guess{n}", code=f"GUESS{n:04d}X", scanned_at=scanned) for n in range(100)
    ]
    queued = phone.op("claim.redeem", action_id="real", code=real, scanned_at=scanned)

    answer = phone.sync([*guesses, queued])

    assert answer["acked_op_seq"] == CODE_ATTEMPTS_PER_MINUTE
    deferred = [r for r in answer["rejected"] if r["code"] == "request.rate_limited"]
    assert [r["op_seq"] for r in deferred] == [CODE_ATTEMPTS_PER_MINUTE + 1]
    assert deferred[0]["retry_after"] > 0
    results = {c["id"][0]: c["s"] for c in answer["changes"] if c["k"] == "action_result"}
    assert len(results) == CODE_ATTEMPTS_PER_MINUTE and "real" not in results
    assert all(r["code"] == "claim.unknown_code" for r in results.values())
    assert client.get("/api/v1/me/claims", headers=mallory.headers).json == []

    clock.advance(minutes=1)
    phone.now_ms = int(clock.now.timestamp() * 1000)
    retried = phone.sync([*guesses[CODE_ATTEMPTS_PER_MINUTE:], queued])
    assert retried["acked_op_seq"] == 2 * CODE_ATTEMPTS_PER_MINUTE  # the queue drains at the limit's pace
    assert "real" not in {c["id"][0] for c in retried["changes"] if c["k"] == "action_result"}
    for _ in range(2):
        clock.advance(minutes=1)
        retried = phone.sync([*guesses[retried["acked_op_seq"] :], queued])
    assert retried["acked_op_seq"] == 101
    real_result = [c["s"] for c in retried["changes"] if c["k"] == "action_result" and c["id"][0] == "real"]
    assert real_result and real_result[0]["status"] == "done"  # kept queued, never lost, issued in its turn
