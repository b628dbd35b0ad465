"""The claim pages judge passwords and sessions exactly as the API does: same limits, same verdicts."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.claims.conftest import Venue
from wallet.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small limits, set the operator's way (the ``WALLET_RATELIMIT_*`` settings)."""
    return dataclasses.replace(
        settings,
        ratelimit_login_per_username_per_minute=2,
        ratelimit_login_per_ip_per_minute=50,
        ratelimit_signup_per_ip_per_hour=3,  # the venue's admin and youth worker sign up first, by the API
    )


def _landing(client: FlaskClient, venue: Venue) -> tuple[str, str]:
    path = venue.qr(venue.open())["url"].split("WALLET.TEST", 1)[1]
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return path, match.group(1)


def test_the_sign_in_form_is_limited_by_the_configured_per_username_limit_shared_with_the_api(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    sam = sign_up("sam")
    path, csrf = _landing(client, venue)
    api = client.post(
        "/api/v1/auth/login",
        json={"username": "sam", "password": "wrong password", "device": {"name": "phone", "platform": "android"}},
    )
    assert api.status_code == 401

    def page(password: str) -> Any:
        return client.post(f"{path}/sign-in", data={"csrf_token": csrf, "username": "Sam", "password": password})

    assert page("wrong password").status_code == 401
    refused = page(sam.password)
    assert refused.status_code == 429
    assert "Too many tries" in refused.get_data(as_text=True)


def test_the_sign_up_form_counts_in_the_apis_sign_up_limit(venue: Venue, client: FlaskClient) -> None:
    path, csrf = _landing(client, venue)

    def page(username: str) -> Any:
        return client.post(
            f"{path}/sign-up", data={"csrf_token": csrf, "username": username, "password": "correct horse battery"}
        )

    assert page("robin").status_code == 303
    client.post(f"{path}/sign-out", data={"csrf_token": csrf})
    _, csrf = _landing(client, venue)
    refused = page("alex")
    assert refused.status_code == 429
    assert "Too many tries" in refused.get_data(as_text=True)


def test_the_landing_page_tells_closed_from_ended_like_the_api(venue: Venue, client: FlaskClient) -> None:
    session = venue.open()
    path = venue.qr(session)["url"].split("WALLET.TEST", 1)[1]
    closed = client.patch(
        f"/api/v1/claim-sessions/{session['id']}", headers=venue.worker.headers, json={"state": "closed"}
    )
    assert closed.status_code == 200
    assert "The youth worker closed this session." in client.get(path).get_data(as_text=True)

    later = venue.open()
    later_path = venue.qr(later)["url"].split("WALLET.TEST", 1)[1]
    venue.clock.advance(hours=3)
    assert "This session has ended." in client.get(later_path).get_data(as_text=True)
