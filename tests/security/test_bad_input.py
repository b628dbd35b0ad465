"""Bad input: every hostile or broken request body gets a clear 4xx problem, and nothing stored changes.

Each case is sent at the foundation's write endpoints (sign-up, sign-in, profile change, membership
change) by a signed-in learner or an organisation admin; afterwards the accounts, devices, memberships and
the learner's profile are exactly what they were.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wallet.api.core import MAX_JSON_DEPTH
from wallet.models import Account, Device, Membership

DEVICE = {"name": "phone", "platform": "android"}
TEN_MB = 10 * 1024 * 1024


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


BODIES: dict[str, tuple[bytes, str, dict[str, str]]] = {
    # name: (body, content type, extra headers)
    "oversized JSON": (json.dumps({"username": "sam", "padding": "x" * 2_100_000}).encode(), "application/json", {}),
    "10 MB string in a field": (
        json.dumps({"username": "s" * TEN_MB, "password": "p", "device": DEVICE}).encode(),
        "application/json",
        {},
    ),
    "100k nested arrays": (_nested(100_000).encode(), "application/json", {}),
    "100k nested arrays in a field": (('{"username": ' + _nested(100_000) + "}").encode(), "application/json", {}),
    "nesting just past the limit": (
        ('{"display_name": ' + _nested(MAX_JSON_DEPTH) + "}").encode(),
        "application/json",
        {},
    ),
    "nesting near the parser's own limit": (
        ('{"display_name": ' + _nested(990) + "}").encode(),
        "application/json",
        {},
    ),
    "invalid UTF-8": (b'{"username": "\xff\xfe\xfd", "password": "correct horse battery"}', "application/json", {}),
    "UTF-16 body": (json.dumps({"username": "sam"}).encode("utf-16"), "application/json", {}),
    "unpaired surrogate": (
        b'{"username": "sam\\ud800", "display_name": "\\udc00", "password": "correct horse x",'
        b' "device": {"name": "\\ud83d"}}',
        "application/json",
        {},
    ),
    "NUL character": (
        b'{"username": "nul-user", "display_name": "a\\u0000b", "password": "correct horse x",'
        b' "device": {"name": "p"}}',
        "application/json",
        {},
    ),
    "truncated JSON": (b'{"username": "sam", "password": "corr', "application/json", {}),
    "truncated gzip": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/json", {"Content-Encoding": "gzip"}),
    "JSON array instead of object": (b"[1, 2, 3]", "application/json", {}),
    "JSON null": (b"null", "application/json", {}),
    "NaN and Infinity": (b'{"username": NaN, "display_name": Infinity, "password": -Infinity}', "application/json", {}),
    "form body": (b"username=sam&password=correct+horse", "application/x-www-form-urlencoded", {}),
    "XML body": (b"<login><username>sam</username></login>", "application/xml", {}),
    "text body": (b'{"username": "sam"}', "text/plain", {}),
    "multipart body": (
        b"--b\r\nContent-Disposition: form-data; name=username\r\n\r\nsam\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
        {},
    ),
    "untyped body": (b'{"username": "sam"}', "", {}),
    "absurd lengths under the size limit": (
        json.dumps(
            {
                "username": "u" * 500_000,
                "display_name": "d" * 500_000,
                "password": "p" * 500_000,
                "email": "e" * 300 + "@x.org",
                "device": {"name": "n" * 500_000},
            }
        ).encode(),
        "application/json",
        {},
    ),
}

EXPECTED = {
    "oversized JSON": {413},
    "10 MB string in a field": {413},
    "form body": {415},
    "XML body": {415},
    "text body": {415},
    "multipart body": {415},
    "untyped body": {415},
}


@pytest.fixture
def stored(db: Session, sign_up: Any, organisation: Any) -> Callable[[], Any]:
    """A learner and an organisation, and a snapshot function of everything the foundation stores."""
    organisation("bad-input-org")
    learner = sign_up("bad-input-learner", display_name="Robin")

    def snapshot() -> Any:
        db.expire_all()
        counts = tuple(db.scalar(select(func.count()).select_from(model)) for model in (Account, Device, Membership))
        profile = db.execute(
            select(Account.username, Account.display_name, Account.email, Account.password_hash).order_by(
                Account.username
            )
        ).all()
        return counts, profile, learner

    return snapshot


TARGETS = [
    ("POST", "/api/v1/accounts", None),
    ("POST", "/api/v1/auth/login", None),
    ("PATCH", "/api/v1/me", "learner"),
    ("POST", "/api/v1/organisations/bad-input-org/members", "admin"),
]


@pytest.mark.parametrize("case", list(BODIES))
@pytest.mark.parametrize(("method", "path", "who"), TARGETS, ids=[f"{m} {p}" for m, p, _ in TARGETS])
def test_bad_bodies_are_refused_cleanly_and_change_nothing(
    client: FlaskClient,
    stored: Callable[[], Any],
    organisation: Any,
    case: str,
    method: str,
    path: str,
    who: str | None,
) -> None:
    before = stored()
    body, content_type, headers = BODIES[case]
    headers = dict(headers)
    if who == "learner":
        headers.update(before[2].headers)
    elif who == "admin":
        login = client.post(
            "/api/v1/auth/login",
            json={"username": "bad-input-org-admin", "password": "correct horse battery", "device": DEVICE},
        )
        headers["Authorization"] = f"Bearer {login.json['access_token']}"
        before = stored()

    response = client.open(path, method=method, data=body, content_type=content_type or None, headers=headers)

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code in EXPECTED.get(case, {400, 413, 415, 422})
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == response.status_code and response.json["code"]
    assert stored()[:2] == before[:2]


def test_a_chunked_body_over_the_limit_is_refused_even_without_a_content_length(
    client: FlaskClient, stored: Callable[[], Any]
) -> None:
    """Werkzeug stops reading a length-less body at the limit, so the JSON arrives cut short: 400, not 413."""
    before = stored()
    body = json.dumps(
        {"username": "chunky", "password": "correct horse battery", "device": DEVICE, "display_name": "x" * 2_100_000}
    ).encode()

    response = client.post(
        "/api/v1/accounts",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_base={"wsgi.input_terminated": True},
    )

    assert (response.status_code, response.json["code"]) in {(413, "request.too_large"), (400, "request.invalid_json")}
    assert stored()[:2] == before[:2]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer " + "a" * 100_000, "Bearer a.b.c", "Bearer \u00e9t\u00e9", "Basic c2FtOnB3", "Bearer", "bearer  "],
)
def test_garbage_tokens_are_401(client: FlaskClient, authorization: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json["code"] in {"auth.required", "auth.invalid_token"}


def test_a_sane_body_still_works_after_all_that(client: FlaskClient) -> None:
    """The guards refuse only what is broken: 64 levels of nesting is fine where a field takes JSON."""
    response = client.post(
        "/api/v1/accounts",
        json={
            "username": "fine-user",
            "password": "correct horse battery",
            "display_name": "Zo\u00eb \U0001f600",
            "device": DEVICE,
        },
    )

    assert response.status_code == 201
    assert response.json["account"]["display_name"] == "Zo\u00eb \U0001f600"


@pytest.mark.parametrize("page", ["9391857360631357243392", "1000001", str(2**63)])
def test_absurd_page_numbers_are_422_not_an_offset_overflow(client: FlaskClient, sign_up: Any, page: str) -> None:
    learner = sign_up("pager")

    response = client.get(f"/api/v1/credentials?page={page}", headers=learner.headers)

    assert response.status_code == 422
    assert response.json["errors"] == {"query": {"page": ["Must be at most 1000000."]}}
