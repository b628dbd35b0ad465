"""Guessing claim codes is rate limited per account (30 a minute) with 429 + Retry-After; a guesser on the
web claim page is limited per IP and per username."""

from __future__ import annotations

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
