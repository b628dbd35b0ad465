"""Every image a share link serves from our origin is rebuilt by the badge-image checks, whatever its
source: a hostile SVG inside an imported credential never reaches a browser with its script (#18 item 6)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.credential_factories import ob3_badge, sign_as
from tests.sharing.conftest import path_of

HOSTILE_SVGS = {
    "script element": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><circle r="4"/></svg>',
    "onload handler": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>',
    "foreignObject": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml"'
        b' src="javascript:alert(1)"/></foreignObject></svg>'
    ),
    "javascript href": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<a xlink:href="javascript:alert(1)"><circle r="4"/></a></svg>'
    ),
    "external image": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://tracker.example/pixel.png"/></svg>'
    ),
    "CSS url()": b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://tracker.example/x)"/></svg>',
}


def _shared_badge_with_image(client: Any, sign_up: Any, svg: bytes) -> tuple[str, dict[str, Any], Any]:
    learner = sign_up()
    document = ob3_badge(
        credential_id="urn:uuid:7d6b3c1e-2c55-4d9b-9b0e-3c1a3c5e1f00",
        issuer_name="Riverside College",
        valid_from="2026-01-01T00:00:00Z",
        name="Welding 101",
        achievement_id="https://riverside.example/achievements/welding-101",
        achievement_name="Welding 101",
        description="Safe MIG welding.",
        narrative="Weld two plates.",
    )
    image = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    document["credentialSubject"]["achievement"]["image"] = {"id": image, "type": "Image"}
    body = json.dumps(sign_as(document, created="2026-01-01T00:00:00Z")).encode()
    imported = client.post(
        "/api/v1/credentials/import", data=body, headers={**learner.headers, "Content-Type": "application/ld+json"}
    )
    assert imported.status_code == 201, imported.json
    made = client.post("/api/v1/shares", headers=learner.headers, json={"credential_id": imported.json["id"]})
    assert made.status_code == 201, made.json
    return path_of(made.json), made.json, learner


@pytest.mark.parametrize("case", list(HOSTILE_SVGS))
def test_a_hostile_svg_in_an_imported_badge_is_served_rebuilt(client: Any, sign_up: Any, case: str) -> None:
    path, _link, _learner = _shared_badge_with_image(client, sign_up, HOSTILE_SVGS[case])

    served = client.get(f"{path}/image")

    if served.status_code == 200:
        text = served.get_data(as_text=True).lower()
        assert served.mimetype in {"image/svg+xml", "image/png"}
        for fragment in ("<script", "onload", "foreignobject", "javascript:", "tracker.example"):
            assert fragment not in text, fragment
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    else:
        assert served.status_code == 404  # refused outright: the page shows no picture


def test_a_share_image_is_revalidated_so_a_revoked_link_stops_showing_it(client: Any, sign_up: Any) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>'
    path, link, learner = _shared_badge_with_image(client, sign_up, svg)

    images = [client.get(f"{path}/image"), client.get(f"{path}/preview.png")]
    revoked = client.post(f"/api/v1/shares/{link['id']}/revoke", headers=learner.headers)

    assert revoked.status_code in {200, 204}
    for image in images:
        assert image.status_code == 200
        assert "max-age" not in image.headers["Cache-Control"] and "no-cache" in image.headers["Cache-Control"]
    assert client.get(f"{path}/image").status_code == 410
