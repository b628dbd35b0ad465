"""The share page in a real browser (headless Chromium from Debian, driven by Playwright), served by a real
server on 127.0.0.1 whose requests really commit — what an employer's phone would show."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser

from tests.browser.pages import serious_accessibility_violations
from tests.live_server import Running
from wallet.issuing import achievements
from wallet.issuing import credentials as issuing
from wallet.models import Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser


@dataclass
class Shared:
    url: str
    issued_id: uuid.UUID
    learner: dict[str, Any]


def _badge_png() -> bytes:
    image = Image.new("RGB", (200, 200), (250, 250, 250))
    ImageDraw.Draw(image).ellipse((10, 10, 190, 190), fill=(140, 40, 90))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _award_and_share(running: Running, *, expires_at: str | None = None) -> Shared:
    client = running.app.test_client()
    state = running.app.extensions["wallet"]
    admin = client.post(
        "/api/v1/accounts",
        json={
            "username": "museum-admin",
            "password": "correct horse battery",
            "display_name": "Admin",
            "device": {"name": "pc"},
        },
    ).json
    learner = client.post(
        "/api/v1/accounts",
        json={
            "username": "sam-rivera",
            "password": "correct horse battery",
            "display_name": "Sam Rivera",
            "device": {"name": "phone"},
        },
    ).json
    with state.session_factory.begin() as db:
        organisations.create_organisation(db, slug="museum-east", name="Museum East", now=running.clock.now)
        organisations.add_member(
            db, slug="museum-east", actor=None, username="museum-admin", role=Role.ADMIN, now=running.clock.now
        )
        achievement = achievements.create_achievement(
            db,
            slug="museum-east",
            actor=uuid.UUID(admin["account_id"]),
            name="Young Curator",
            description="Planned and installed a small exhibition with a team.",
            criteria_narrative="Curate one display case and explain it to visitors.",
            alignments=[{"targetName": "Teamwork", "targetFramework": "ESCO"}],
            now=running.clock.now,
        )
        achievements.set_image(
            db,
            slug="museum-east",
            actor=uuid.UUID(admin["account_id"]),
            achievement_id=achievement.id,
            data=_badge_png(),
            now=running.clock.now,
        )
        issued = issuing.award(
            db,
            slug="museum-east",
            actor=uuid.UUID(admin["account_id"]),
            achievement_id=achievement.id,
            username="sam-rivera",
            kek=state.secrets.key_encryption_key,
            base_url=running.url,
            now=running.clock.now,
        )
        issued_id = issued.id
    headers = {"Authorization": f"Bearer {learner['access_token']}"}
    held = client.get("/api/v1/credentials", headers=headers).json
    held_id = (held["items"] if isinstance(held, dict) else held)[0]["id"]
    body = {"credential_id": held_id, **({"expires_at": expires_at} if expires_at else {})}
    link = client.post("/api/v1/shares", headers=headers, json=body).json
    return Shared(link["url"], issued_id, learner)


def test_an_employer_opens_the_link_and_reads_that_it_is_genuine(
    server: Running, browser: Browser, tmp_path: Path
) -> None:
    shared = _award_and_share(server)
    page = browser.new_page(viewport={"width": 1024, "height": 900})
    response = page.goto(shared.url)
    assert response is not None and response.status == 200
    assert page.locator("#verdict-sentence").inner_text() == (
        "Genuine: issued by Museum East to Sam Rivera on 23 November 2026."
    )
    assert page.locator("#linkedin").count() == 0  # Add to LinkedIn is on the owner's page (test_badge_journey.py)
    assert page.locator("header").count() == 1 and page.locator("main").count() == 1
    assert page.locator("footer").count() == 1
    images = page.locator("img")
    assert images.count() >= 2
    for index in range(images.count()):
        assert (images.nth(index).get_attribute("alt") or "").strip()
        assert images.nth(index).evaluate("img => img.naturalWidth") > 0  # the image really loaded
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.screenshot(path=str(tmp_path / "share-desktop.png"), full_page=True)
    page.close()


def test_the_page_fits_a_360_pixel_phone(server: Running, browser: Browser, tmp_path: Path) -> None:
    shared = _award_and_share(server)
    page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page.goto(shared.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert serious_accessibility_violations(page) == []
    page.screenshot(path=str(tmp_path / "share-phone.png"), full_page=True)
    page.goto(f"{server.url}/issuers/museum-east/about")
    assert page.locator("h1").inner_text() == "Museum East"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.close()


def test_a_revoked_badge_shows_revoked(server: Running, browser: Browser) -> None:
    shared = _award_and_share(server)
    state = server.app.extensions["wallet"]
    page = browser.new_page()
    page.goto(shared.url)
    with state.session_factory.begin() as db:
        issuing.revoke(
            db,
            slug="museum-east",
            actor=None,
            issued_id=shared.issued_id,
            reason="awarded in error",
            kek=state.secrets.key_encryption_key,
            base_url=server.url,
            now=server.clock.now,
        )
    page.reload()
    assert page.locator("#verdict-sentence").inner_text().startswith("Revoked: Museum East has withdrawn this badge")
    page.close()


def test_an_expired_link_shows_the_friendly_410_page(server: Running, browser: Browser) -> None:
    shared = _award_and_share(server, expires_at="2026-11-24T10:00:00Z")
    server.clock.advance(days=2)
    page = browser.new_page()
    response = page.goto(shared.url)
    assert response is not None and response.status == 410
    assert page.locator("h1").inner_text() == "This link has expired"
    assert page.locator("main").count() == 1
    page.close()


def _import_and_share(client: Any, headers: dict[str, str], body: bytes) -> str:
    imported = client.post(
        "/api/v1/credentials/import", data=body, headers={**headers, "Content-Type": "application/ld+json"}
    )
    assert imported.status_code == 201, imported.json
    link = client.post("/api/v1/shares", headers=headers, json={"credential_id": imported.json["id"]})
    return link.json["url"]


def _sign_up(client: Any, username: str, display_name: str) -> dict[str, str]:
    body = client.post(
        "/api/v1/accounts",
        json={
            "username": username,
            "password": "correct horse battery",
            "display_name": display_name,
            "device": {"name": "phone"},
        },
    ).json
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_a_copied_badge_and_a_forged_issuer_read_truthfully_on_a_phone(server: Running, browser: Browser) -> None:
    import json

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from tests.credential_factories import ob3_badge, sign_as
    from wallet.credentials import multikey

    shared = _award_and_share(server)  # Sam Rivera's Young Curator badge from Museum East
    client = server.app.test_client()
    copier = _sign_up(client, "bo-chen", "Bo Chen")
    copied_url = _import_and_share(client, copier, client.get(shared.url.removeprefix(server.url) + ".json").data)

    forger_key = ed25519.Ed25519PrivateKey.generate()
    forged = ob3_badge(
        credential_id="urn:uuid:0f0f0f0f-1111-4222-8333-444455556666",
        issuer_name="Museum East",
        valid_from="2026-10-01T09:00:00Z",
        name="Young Curator",
        achievement_id="https://museum-east.example/achievements/curator",
        achievement_name="Young Curator",
        description="Curated a display.",
        narrative="Curate one.",
    )
    forged["issuer"]["id"] = multikey.did_key_for(forger_key)
    forger = _sign_up(client, "fay-forger", "Fay")
    forged_url = _import_and_share(
        client, forger, json.dumps(sign_as(forged, created="2026-10-01T09:00:00Z", key=forger_key)).encode()
    )

    page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page.goto(copied_url)
    copied = page.locator("#verdict-sentence").inner_text()
    assert copied.startswith("Genuine: issued by Museum East to someone identified only by urn:uuid:")
    assert copied.endswith(
        "It is not bound to Bo Chen, who is sharing it: it is a copy of a badge another wallet here holds."
    )
    assert page.locator("#issued-line").inner_text().startswith("Issued by Museum East to someone identified")
    assert "Bo Chen" not in page.locator("#issued-line").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.goto(forged_url)
    verdict = page.locator("#verdict-sentence").inner_text()
    assert verdict.startswith(
        "Unknown issuer: this badge is validly signed, but by an issuer we don't know, calling itself Museum East"
    )
    body = page.locator("main").inner_text()
    assert "Genuine" not in body and "Known: Museum East" not in body
    assert "Not known: an issuer we don't know, calling itself Museum East" in body
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.close()
