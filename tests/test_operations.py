"""Operators can tell whether the service is alive and whether it is ready."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine

from wallet.app import create_app


def test_health_and_readiness(client: Any) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["database"] == "ok"


def test_readiness_fails_with_a_problem_when_the_database_is_unreachable(settings: Any, tmp_path: Any) -> None:
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    app = create_app(settings, engine=unreachable)

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["code"] == "server.unavailable"
    assert response.headers["Retry-After"]


def test_security_headers_are_set(client: Any) -> None:
    response = client.get("/healthz")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    api = client.get("/api/v1/me")
    assert api.headers["Cache-Control"] == "no-store"


def test_cors_allows_only_configured_origins(settings: Any, engine: Any) -> None:
    from dataclasses import replace

    app = create_app(replace(settings, cors_origins=("https://app.example.org",)), engine=engine)
    client = app.test_client()
    allowed = client.options(
        "/api/v1/me", headers={"Origin": "https://app.example.org", "Access-Control-Request-Method": "GET"}
    )
    denied = client.options(
        "/api/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://app.example.org"
    assert "Access-Control-Allow-Origin" not in denied.headers
