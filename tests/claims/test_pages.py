"""The pages a phone camera and a projector open: sign up and claim with no app, and the live display."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.claims.conftest import Venue


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_a_learner_without_the_app_signs_up_and_claims_from_the_landing_page(venue: Venue, client: FlaskClient) -> None:
    session = venue.open(pin="2468")
    url = venue.qr(session)["url"]
    path = url.split("WALLET.TEST", 1)[1]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Soldering Basics" in html and "Makerspace North" in html and "Room 2" in html
    assert "learnerwallet://claim?c=" in html
    assert "<script" not in html  # no inline (or any) script on the landing page

    signed_up = client.post(
        f"{path}/sign-up",
        data={
            "csrf_token": _csrf(html),
            "username": "sam",
            "display_name": "Sam K.",
            "password": "correct horse battery",
        },
    )
    assert signed_up.status_code == 303
    html = client.get(path).get_data(as_text=True)
    assert "Signed in as <strong>Sam K.</strong>" in html and 'name="pin"' in html

    wrong = client.post(f"{path}/claim", data={"csrf_token": _csrf(html), "pin": "1111"})
    assert wrong.status_code == 403 and "PIN isn" in wrong.get_data(as_text=True)
    claimed = client.post(f"{path}/claim", data={"csrf_token": _csrf(html), "pin": "2468"})
    assert claimed.status_code == 200 and "s yours!" in claimed.get_data(as_text=True)
    claims = client.get(f"/api/v1/claim-sessions/{session['id']}/claims", headers=venue.worker.headers).json
    assert [(c["display_name"], c["status"]) for c in claims] == [("Sam K.", "issued")]


def test_an_existing_learner_signs_in_and_a_second_claim_shows_the_same_badge(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    sign_up("kim")
    session = venue.open()
    path = "/c/" + venue.qr(session)["token"]
    html = client.get(path).get_data(as_text=True)
    bad = client.post(f"{path}/sign-in", data={"csrf_token": _csrf(html), "username": "kim", "password": "nope nope"})
    assert bad.status_code == 401 and "Wrong username or password" in bad.get_data(as_text=True)
    client.post(
        f"{path}/sign-in", data={"csrf_token": _csrf(html), "username": "kim", "password": "correct horse battery"}
    )
    html = client.get(path).get_data(as_text=True)
    assert client.post(f"{path}/claim", data={"csrf_token": _csrf(html)}).status_code == 200
    again = client.post(f"{path}/claim", data={"csrf_token": _csrf(html)})
    assert "You already have this badge" in again.get_data(as_text=True)


def test_forms_without_the_csrf_token_are_refused(venue: Venue, client: FlaskClient) -> None:
    session = venue.open()
    path = "/c/" + venue.qr(session)["token"]
    client.get(path)
    response = client.post(f"{path}/sign-up", data={"username": "mallory", "password": "correct horse battery"})
    assert response.status_code == 400
    forged = client.post(
        f"{path}/sign-up", data={"csrf_token": "forged", "username": "mallory", "password": "correct horse battery"}
    )
    assert forged.status_code == 400


def test_typed_codes_lead_to_the_landing_page_and_typos_are_caught(venue: Venue, client: FlaskClient) -> None:
    session = venue.open()
    fallback = venue.qr(session)["fallback"]
    html = client.get("/code").get_data(as_text=True)
    response = client.post("/code", data={"csrf_token": _csrf(html), "code": fallback.lower()})
    assert response.status_code == 303
    assert "Soldering Basics" in client.get(response.headers["Location"]).get_data(as_text=True)
    typo = fallback[:-1] + ("2" if fallback[-1] != "2" else "3")
    refused = client.post("/code", data={"csrf_token": _csrf(html), "code": typo})
    assert refused.status_code == 422


def test_an_unknown_code_gets_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/c/2642BM44C4JVFDRQ8Q66TEC760")
    assert response.status_code == 404 and "know that code" in response.get_data(as_text=True)


def test_the_display_page_needs_its_link_and_shows_qr_pin_and_count(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    session = venue.open(pin="1357", rotating=30)
    link = client.post(f"/api/v1/claim-sessions/{session['id']}/display-link", headers=venue.worker.headers)
    assert link.status_code == 201
    path = link.json["url"].split("wallet.test", 1)[1]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "1357" in html and "claims-display.js" in html
    assert "<script>" not in html and "Content-Security-Policy" in page.headers

    status_url = re.search(r'data-status-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    before = client.get(status_url).json
    assert (before["claimed"], before["cap"], before["pin"]) == (0, 30, "1357")
    client.post(
        "/api/v1/claims/redeem", headers=sign_up("sam").headers, json={"code": venue.qr(session)["url"], "pin": "1357"}
    )
    after = client.get(status_url).json
    assert after["claimed"] == 1
    venue.clock.advance(seconds=30)
    assert client.get(status_url).json["step"] == before["step"] + 1
    qr = client.get(after["qr"])
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"

    assert client.get(path.replace("t=", "t=x")).status_code == 403
    other = venue.open()
    assert client.get(path.replace(session["id"], other["id"])).status_code == 403
    venue.clock.advance(hours=13)
    assert client.get(path).status_code == 403
