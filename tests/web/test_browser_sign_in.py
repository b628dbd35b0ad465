"""The one browser sign-in every page shares: a browser is a device, revoked like a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from wallet.web.session import safe_next

PASSWORD = "correct horse battery"


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _sign_up_in_browser(client: FlaskClient, username: str, **extra: str) -> Any:
    return client.post(
        "/signup", data={"csrf_token": _csrf(client, "/signup"), "username": username, "password": PASSWORD, **extra}
    )


def _devices(client: FlaskClient, username: str) -> list[dict[str, Any]]:
    tokens = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": PASSWORD, "device": {"name": "phone", "platform": "android"}},
    ).json
    listing = client.get("/api/v1/me/devices", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json
    return [device for device in listing if device["platform"] == "web"], tokens


def test_signing_up_in_a_browser_signs_it_in_as_a_listed_web_device(client: FlaskClient) -> None:
    response = _sign_up_in_browser(client, "sam-web", display_name="Sam")
    assert response.status_code == 303
    web, _ = _devices(client, "sam-web")
    assert len(web) == 1


def test_revoking_the_browser_from_a_phone_signs_the_browser_out(client: FlaskClient, app: Any) -> None:
    _sign_up_in_browser(client, "sam-revoked")
    assert client.get("/login").status_code == 303  # signed in: /login sends you on
    web, tokens = _devices(client, "sam-revoked")
    revoked = client.delete(
        f"/api/v1/me/devices/{web[0]['id']}", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert revoked.status_code == 204
    assert client.get("/login").status_code == 200  # the browser is signed out


def test_signing_out_revokes_the_browser_device(client: FlaskClient) -> None:
    _sign_up_in_browser(client, "sam-out")
    csrf = _csrf(client, "/signup")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    web, _ = _devices(client, "sam-out")
    assert web == []
    assert client.get("/login").status_code == 200


def test_a_form_without_the_csrf_token_is_refused_and_nothing_is_created(client: FlaskClient) -> None:
    response = client.post("/signup", data={"username": "sam-csrf", "password": PASSWORD})
    assert response.status_code == 400
    assert (
        client.post(
            "/api/v1/auth/login",
            json={"username": "sam-csrf", "password": PASSWORD, "device": {"name": "p", "platform": "android"}},
        ).status_code
        == 401
    )


def test_a_refused_sign_up_keeps_what_was_typed_but_never_the_password(client: FlaskClient) -> None:
    response = _sign_up_in_browser(client, "Bad Name!", display_name="Sam Q")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Bad Name!"' in html and 'value="Sam Q"' in html
    assert PASSWORD not in html
    assert 'role="alert"' in html


def test_wrong_password_says_so_and_signs_nobody_in(client: FlaskClient) -> None:
    _sign_up_in_browser(client, "sam-wrong")
    client.post("/logout", data={"csrf_token": _csrf(client, "/signup")})
    response = client.post("/login", data={"csrf_token": _csrf(client), "username": "sam-wrong", "password": "nope"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_the_session_cookie_is_httponly_lax_and_secure_under_https(client: FlaskClient) -> None:
    response = _sign_up_in_browser(client, "sam-cookie")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # a permanent session: a phone is not signed out between events


def test_after_sign_in_the_browser_goes_back_where_it_was_only_on_this_site(client: FlaskClient) -> None:
    _sign_up_in_browser(client, "sam-next")
    client.post("/logout", data={"csrf_token": _csrf(client, "/signup")})
    data = {"csrf_token": _csrf(client), "username": "sam-next", "password": PASSWORD}
    assert client.post("/login?next=/code", data=data).headers["Location"] == "/code"
    client.post("/logout", data={"csrf_token": _csrf(client, "/signup")})
    data["csrf_token"] = _csrf(client)
    assert client.post("/login?next=//evil.example/x", data=data).headers["Location"] == "/wallet"


@given(st.text())
def test_safe_next_only_ever_answers_a_same_origin_path(target: str) -> None:
    answer = safe_next(target)
    assert answer.startswith("/") and not answer.startswith("//") and "\\" not in answer
    assert answer == target or answer == "/"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x", "/ok\r\nX: y"]
)
def test_safe_next_refuses_other_origins(target: str) -> None:
    assert safe_next(target) == "/"
