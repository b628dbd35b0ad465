"""CSRF: every HTML form that changes something carries a token, and every cookie-session POST route
refuses a request without it — found by walking the app's URL map, so a new form cannot be forgotten."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.claims.conftest import Venue, make_achievement
from tests.conftest import FakeClock

# POST routes outside /api/ that are not browser forms: OAuth-style endpoints authenticated by a
# pre-authorised code, bearer token or nonce in the request itself, never by a cookie, so a forged
# cross-site request carries no authority (the reason CSRF exists).
NOT_COOKIE_AUTHENTICATED = {"oid4vci_protocol.token", "oid4vci_protocol.nonce", "oid4vci_protocol.credential"}
# Cookie-authenticated JSON endpoints for the pages' own script: the token travels in X-CSRF-Token, and a
# request without it (or with a forged one) is refused with 403 problem+json.
HEADER_CSRF = {"learner_pages.redeem_queued"}


def _form_routes(app: Flask) -> dict[str, str]:
    """endpoint → one rule, for every non-API POST route."""
    routes: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or set()) and not rule.rule.startswith("/api/"):
            routes.setdefault(rule.endpoint, rule.rule)
    return routes


@pytest.fixture
def venue(client: FlaskClient, db: Session, organisation: Any, clock: FakeClock) -> Venue:
    org = organisation()
    return Venue(client, org, make_achievement(db, org, now=clock.now), clock)


def test_every_form_post_route_refuses_a_request_without_or_with_a_forged_token(
    app: Flask, client: FlaskClient, venue: Venue
) -> None:
    code = venue.qr(venue.open(pin="2468"))["token"]
    client.get(f"/c/{code}")  # a browser session with a real token exists
    checked = []
    for endpoint, rule in _form_routes(app).items():
        if endpoint in NOT_COOKIE_AUTHENTICATED:
            continue
        path = re.sub(r"<uuid:[a-z_]+>", str(uuid.uuid4()), rule.replace("<code>", code))
        path = re.sub(r"<int:[a-z_]+>", "0", path)
        path = re.sub(r"<[a-z_:]+>", "makerspace-north", path)
        if endpoint in HEADER_CSRF:
            missing = client.post(path, json={"code": code})
            forged = client.post(path, json={"code": code}, headers={"X-CSRF-Token": "forged"})
            assert (missing.status_code, forged.status_code) == (403, 403), path
            checked.append(endpoint)
            continue
        fields = {"username": "mallory", "password": "correct horse battery", "pin": "2468", "code": code}
        missing = client.post(path, data=fields)
        forged = client.post(path, data={**fields, "csrf_token": "forged"})
        assert (missing.status_code, forged.status_code) == (400, 400), path
        checked.append(endpoint)
    assert len(checked) >= 5, checked
    assert any(endpoint.startswith("console_pages.") for endpoint in checked)


def test_every_post_form_on_every_page_carries_the_token(client: FlaskClient, venue: Venue, sign_up: Any) -> None:
    code = venue.qr(venue.open(pin="2468"))["token"]
    pages = [client.get(f"/c/{code}").get_data(as_text=True), client.get("/code").get_data(as_text=True)]
    html = pages[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    signed_up = client.post(
        f"/c/{code}/sign-up", data={"csrf_token": token[1], "username": "robin", "password": "correct horse battery"}
    )
    assert signed_up.status_code == 303
    pages.append(client.get(f"/c/{code}").get_data(as_text=True))  # the signed-in landing page's forms

    forms = [form for page in pages for form in re.findall(r"<form\b[^>]*>.*?</form>", page, flags=re.S | re.I)]
    post_forms = [form for form in forms if re.search(r'method="post"', form, flags=re.I)]
    assert len(post_forms) >= 5
    assert [form[:80] for form in post_forms if 'name="csrf_token"' not in form] == []
    assert [form[:80] for form in forms if form not in post_forms] == []  # no GET forms leaking data in URLs


def test_the_allowlist_names_only_routes_that_exist(app: Flask) -> None:
    """A stale allowlist entry would let a renamed form route skip the check above unnoticed."""
    assert (NOT_COOKIE_AUTHENTICATED | HEADER_CSRF).issubset(_form_routes(app))
