"""Fixtures for the issuing side: an organisation with an achievement, learners to award it to, and a
``fetch_json`` that answers a verifier's requests for our public URLs from the test client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

BASE_URL = "https://wallet.test"


@pytest.fixture
def fetch_json(client: FlaskClient) -> Callable[[str], Any]:
    """What a verifier on the internet would get for one of our URLs (anything else fails, like offline)."""

    def _fetch(url: str) -> Any:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != BASE_URL:
            raise LookupError(f"no network in tests: {url}")
        response = client.get(parts.path, headers={"Accept": "application/ld+json"})
        if response.status_code != 200:
            raise LookupError(f"{url} answered {response.status_code}")
        return response.json

    return _fetch


@pytest.fixture
def issuer(client: FlaskClient, organisation: Any) -> dict[str, Any]:
    """makerspace-north with one achievement, created by its admin through the API."""
    org = organisation()
    response = client.post(
        f"/api/v1/organisations/{org['slug']}/achievements",
        headers=org["admin"].headers,
        json={
            "name": "Soldering basics",
            "description": "Soldered a working LED circuit safely.",
            "criteria_narrative": "Solder five joints that pass inspection.",
            "criteria_url": "https://makerspace.example/criteria/soldering",
            "tags": ["electronics", "making"],
            "alignments": [
                {
                    "targetName": "Digital making",
                    "targetUrl": "https://framework.example/dm",
                    "targetFramework": "Youth Skills",
                    "targetCode": "DM1",
                }
            ],
        },
    )
    assert response.status_code == 201, response.json
    return {**org, "achievement": response.json}


@pytest.fixture
def award(client: FlaskClient, issuer: dict[str, Any]) -> Callable[..., Any]:
    """Award the issuer's achievement to ``username`` through the API; returns the response JSON."""

    def _award(username: str, *, achievement_id: str | None = None, status: int = 201, **extra: Any) -> Any:
        achievement_id = achievement_id or issuer["achievement"]["id"]
        response = client.post(
            f"/api/v1/organisations/{issuer['slug']}/achievements/{achievement_id}/awards",
            headers=issuer["admin"].headers,
            json={"username": username, **extra},
        )
        assert response.status_code == status, response.json
        return response.json

    return _award
