"""Cookies: every cookie the app sends is HttpOnly and SameSite=Lax, and Secure whenever the public origin
is https — checked on every Set-Cookie header seen while walking every GET route of the URL map and the
claim pages' sign-up and sign-in forms, under an http and an https base URL."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.claims.conftest import Venue, make_achievement
from tests.conftest import FakeClock
from wallet.config import Settings


@pytest.fixture(params=["https://wallet.test", "http://wallet.test"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    return dataclasses.replace(settings, base_url=request.param, access_token_ttl_seconds=30 * 86_400)


def _set_cookies(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def _walk(app: Flask, client: FlaskClient, venue: Venue, sign_up: Any) -> list[str]:
    """Every Set-Cookie header the app sends on its GET routes and through the claim forms."""
    code = venue.qr(venue.open(pin="2468"))["token"]
    seen: list[str] = []
    values = {"code": code, "slug": venue.org["slug"]}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda match: values.get(match[1], "x"), rule.rule)
        seen += _set_cookies(client.get(path))
        client.delete_cookie("session", domain="localhost")
    landing = client.get(f"/c/{code}")
    seen += _set_cookies(landing)
    token = re.search(r'name="csrf_token" value="([^"]+)"', landing.get_data(as_text=True))
    assert token
    signed_up = client.post(
        f"/c/{code}/sign-up", data={"csrf_token": token[1], "username": "robin", "password": "correct horse battery"}
    )
    assert signed_up.status_code == 303
    seen += _set_cookies(signed_up)
    client.delete_cookie("session", domain="localhost")
    learner = sign_up("cookie-learner")
    landing = client.get(f"/c/{code}")
    seen += _set_cookies(landing)
    token = re.search(r'name="csrf_token" value="([^"]+)"', landing.get_data(as_text=True))
    assert token
    signed_in = client.post(
        f"/c/{code}/sign-in", data={"csrf_token": token[1], "username": learner.username, "password": learner.password}
    )
    seen += _set_cookies(signed_in)
    return seen


def test_every_cookie_is_http_only_same_site_lax_and_secure_under_https(
    app: Flask,
    client: FlaskClient,
    db: Session,
    organisation: Any,
    clock: FakeClock,
    sign_up: Any,
    settings: Settings,
) -> None:
    org = organisation()
    venue = Venue(client, org, make_achievement(db, org, now=clock.now), clock)

    cookies = _walk(app, client, venue, sign_up)

    assert len(cookies) >= 3, cookies  # the landing pages and both forms set the session cookie
    for cookie in cookies:
        attributes = {part.strip().split("=", 1)[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert "httponly" in attributes, cookie
        assert attributes.get("samesite") == "SameSite=Lax", cookie
        assert ("secure" in attributes) == settings.base_url.startswith("https://"), cookie
