"""Badge request fixtures: an organisation with a requestable badge, and a learner to ask for it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image


@pytest.fixture
def requestable(client: FlaskClient, organisation: Any) -> Any:
    """Make an organisation with a badge learners may ask for; returns its details and people."""

    def _requestable(
        slug: str = "makerspace-north", *, reviewer_role: str = "youth_worker", name: str = "Repair café helper"
    ) -> dict[str, Any]:
        org = organisation(slug, slug.replace("-", " ").title())
        made = client.post(
            f"/api/v1/organisations/{slug}/achievements",
            headers=org["admin"].headers,
            json={
                "name": name,
                "description": "Helped fix things at the repair café.",
                "criteria_narrative": "Fix 3 things.",
            },
        )
        assert made.status_code == 201, made.json
        policy = client.put(
            f"/api/v1/organisations/{slug}/achievements/{made.json['id']}/requestable",
            headers=org["admin"].headers,
            json={
                "guidance": "A photo of something you fixed.",
                "evidence_wanted": ["narrative", "files", "witness"],
                "reviewer_role": reviewer_role,
            },
        )
        assert policy.status_code == 200, policy.json
        return {**org, "achievement_id": made.json["id"], "achievement_url": made.json["url"]}

    return _requestable


@pytest.fixture
def ask(client: FlaskClient) -> Any:
    """A learner asks for a badge through the API; returns the request."""

    def _ask(learner: Any, achievement_id: str, **fields: Any) -> dict[str, Any]:
        body = {"achievement_id": achievement_id, "narrative": "I fixed three lamps and a toaster.", **fields}
        response = client.post("/api/v1/me/badge-requests", headers=learner.headers, json=body)
        assert response.status_code == 201, response.json
        return response.json

    return _ask


def png_bytes(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 80, height: int = 60, *, exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (20, 120, 200))
    if exif is not None:
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()
