"""Forwarded headers are believed exactly when WALLET_TRUST_PROXY says so, by the app and gunicorn alike."""

from __future__ import annotations

import dataclasses

from flask import Flask

from wallet.app import create_app
from wallet.config import Settings
from wallet.server import gunicorn_options


def _app(settings: Settings, *, trust: bool) -> Flask:
    return create_app(dataclasses.replace(settings, trust_proxy=trust))


def test_without_trust_a_client_cannot_claim_https_by_header(settings: Settings) -> None:
    answer = _app(settings, trust=False).test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in answer.headers
    options = gunicorn_options(host="127.0.0.1", port=8000, workers=2, trust_proxy=False)
    assert options["forwarded_allow_ips"] == "" and options["secure_scheme_headers"] == {}


def test_behind_a_trusted_proxy_its_scheme_is_believed_by_both_layers(settings: Settings) -> None:
    answer = _app(settings, trust=True).test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    options = gunicorn_options(host="127.0.0.1", port=8000, workers=2, trust_proxy=True)
    assert options["forwarded_allow_ips"] == "*"
    assert options["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
