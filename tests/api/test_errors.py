"""Every error a client can meet is RFC 9457 problem+json with a stable code — never HTML."""

from __future__ import annotations

from typing import Any

import pytest

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    assert b"<html" not in response.data.lower()
    return body


def test_malformed_json_is_400(client: Any) -> None:
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert_problem(response, 400, "request.invalid_json")


def test_missing_token_is_401(client: Any) -> None:
    assert_problem(client.get("/api/v1/me"), 401, "auth.required")


def test_unknown_route_is_404(client: Any) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404, "request.not_found")


def test_wrong_method_is_405_with_allow(client: Any) -> None:
    response = client.get("/api/v1/auth/login")
    assert_problem(response, 405, "request.method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_oversized_body_is_413(client: Any, app: Any) -> None:
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/api/v1/auth/login", data=big, content_type="application/json")
    assert_problem(response, 413, "request.too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415(client: Any, content_type: str) -> None:
    response = client.post("/api/v1/auth/login", data="username=a&password=b", content_type=content_type)
    body = assert_problem(response, 415, "request.unsupported_media_type")
    assert "application/json" in body["detail"]


def test_validation_errors_name_each_field(client: Any) -> None:
    response = client.post("/api/v1/accounts", json={"username": "x", "device": {}, "surprise": 1})
    body = assert_problem(response, 422, "request.validation_failed")
    fields = body["errors"]["json"]
    assert "username" in fields
    assert "password" in fields
    assert "surprise" in fields
    assert "name" in fields["device"]


def test_domain_conflicts_are_409(client: Any, sign_up: Any) -> None:
    sign_up("taken")
    response = client.post(
        "/api/v1/accounts", json={"username": "taken", "password": "a fine long secret", "device": {"name": "p"}}
    )
    assert_problem(response, 409, "account.username_taken")


def test_unexpected_failures_are_500_problems_without_a_traceback(app: Any) -> None:
    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    response = app.test_client().get("/api/v1/boom")
    body = assert_problem(response, 500, "server.internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["request_id"] == response.headers["X-Request-Id"]


def test_every_problem_type_is_documented(client: Any) -> None:
    response = client.get("/problems/claim.session_full")
    assert response.status_code == 200
    assert response.json == {
        "code": "claim.session_full",
        "status": 409,
        "title": "This claim session has no badges left",
    }
    assert_problem(client.get("/problems/no.such.code"), 404, "request.not_found")


def test_request_ids_are_echoed_and_insane_ones_replaced(client: Any) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "abc12345-from-proxy"})
    assert kept.headers["X-Request-Id"] == "abc12345-from-proxy"
    replaced = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert replaced.headers["X-Request-Id"] != "<script>"


def test_a_busy_or_lost_database_is_503_with_retry_after(app: Any) -> None:
    from sqlalchemy.exc import OperationalError

    @app.get("/api/v1/busy")
    def busy() -> None:
        raise OperationalError("UPDATE x", {}, Exception("database is locked"))

    response = app.test_client().get("/api/v1/busy")
    body = assert_problem(response, 503, "server.unavailable")
    assert response.headers["Retry-After"] == "1"
    assert body["retry_after"] == 1


def test_an_unanticipated_uniqueness_race_is_409_not_500(app: Any) -> None:
    from sqlalchemy.exc import IntegrityError

    @app.get("/api/v1/race")
    def race() -> None:
        raise IntegrityError("INSERT x", {}, Exception("duplicate key"))

    assert_problem(app.test_client().get("/api/v1/race"), 409, "request.conflict")
