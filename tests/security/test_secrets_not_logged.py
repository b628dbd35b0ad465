"""Secrets never reach the logs: a whole sign-up → sign-in → refresh → claim-with-PIN story, through the
API and through the claim page's forms, right and wrong attempts alike, with the service logging at DEBUG.
Every line it wrote is searched for the passwords, tokens, PIN and instance keys used."""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.claims.conftest import Venue, make_achievement
from tests.conftest import FakeClock
from wallet import logs
from wallet.config import Settings

PASSWORD = "violet-otter-Trampoline-93"
WRONG_PASSWORD = "violet-otter-Trampoline-39"
PAGE_PASSWORD = "saffron-kettle-Meadow-57"
PIN = "7305914"
WRONG_PIN = "1111111"


class Lines(logging.Handler):
    """Every record, formatted both ways the service can write it (JSON lines and key=value text)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatters = (logs.JsonFormatter(), logs.TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(formatter.format(record) for formatter in self.formatters)
        self.lines.append(repr(vars(record)))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, log_level="DEBUG", log_json=True)


@pytest.fixture
def captured(app: Flask) -> Iterator[Lines]:
    handler = Lines()
    loggers = [logging.getLogger("wallet"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _key_spellings(name: str, key: str | bytes) -> dict[str, str]:
    if isinstance(key, str):
        return {name: key}
    return {
        f"{name} (hex)": key.hex(),
        f"{name} (base64)": base64.b64encode(key).decode(),
        f"{name} (base64url)": base64.urlsafe_b64encode(key).decode().rstrip("="),
    }


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_no_password_token_pin_or_key_appears_in_any_log_line(
    app: Flask, client: FlaskClient, db: Any, organisation: Any, clock: FakeClock, captured: Lines
) -> None:
    org = organisation()
    venue = Venue(client, org, make_achievement(db, org, now=clock.now), clock)
    url = venue.qr(venue.open(pin=PIN))["url"]
    device = {"name": "phone", "platform": "android"}

    signed_up = client.post("/api/v1/accounts", json={"username": "robin", "password": PASSWORD, "device": device})
    assert signed_up.status_code == 201
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "robin", "password": WRONG_PASSWORD, "device": device}
        ).status_code
        == 401
    )
    login = client.post("/api/v1/auth/login", json={"username": "robin", "password": PASSWORD, "device": device})
    assert login.status_code == 200
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": login.json["refresh_token"]})
    assert refreshed.status_code == 200
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": login.json["refresh_token"]})
    assert reused.status_code == 401  # reuse of a rotated token: the chain is revoked, and still not logged
    headers = {"Authorization": f"Bearer {signed_up.json['access_token']}"}
    assert (
        client.post("/api/v1/claims/redeem", headers=headers, json={"code": url, "pin": WRONG_PIN}).status_code == 403
    )
    assert client.post("/api/v1/claims/redeem", headers=headers, json={"code": url, "pin": PIN}).status_code == 201
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer " + refreshed.json["access_token"]})
    path = url.split("WALLET.TEST", 1)[1]
    html = client.get(path).get_data(as_text=True)
    assert (
        client.post(
            f"{path}/sign-up", data={"csrf_token": _csrf(html), "username": "kim", "password": PAGE_PASSWORD}
        ).status_code
        == 303
    )
    html = client.get(path).get_data(as_text=True)
    assert client.post(f"{path}/claim", data={"csrf_token": _csrf(html), "pin": PIN}).status_code == 200

    state = app.extensions["wallet"]
    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "page password": PAGE_PASSWORD,
        "PIN": PIN,
        "wrong PIN": WRONG_PIN,
        "access token": signed_up.json["access_token"],
        "refreshed access token": refreshed.json["access_token"],
        "refresh token": login.json["refresh_token"],
        "rotated refresh token": refreshed.json["refresh_token"],
        **_key_spellings("secret key", state.secrets.secret_key),
        **_key_spellings("key-encryption key", state.secrets.key_encryption_key),
        "CSRF token": _csrf(html),
    }
    assert any('"path": "/api/v1/auth/login"' in line for line in captured.lines), "the story must be logged"
    leaks = {name for name, secret in secrets.items() if any(secret in line for line in captured.lines)}
    assert leaks == set()
