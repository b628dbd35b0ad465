"""A shared link pasted into a chat: the preview card shows the badge, and the preview bots' fetches are not
counted as views; the error pages do not claim to be a verified badge."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.sharing.conftest import Awarded, path_of, share
from wallet.issuing import achievements
from wallet.issuing import credentials as issuing
from wallet.models import HeldCredential
from wallet.sharing.previews import is_preview_fetch

BADGE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
    b'<circle cx="128" cy="128" r="120" fill="#1d6fa5"/></svg>'
)
FIREFOX = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
PREVIEW_BOTS = (
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0 A",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "Twitterbot/1.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mastodon/4.2.0 (http.rb/5.1.1; +https://mastodon.social/) Bot",
)


@pytest.fixture
def svg_badge(app: Flask, db: Session, organisation: Any, sign_up: Any, clock: Any) -> Awarded:
    """A badge whose image is an SVG, as every demo badge's is, awarded and held."""
    state = app.extensions["wallet"]
    org = organisation("makerspace-north", "Makerspace North")
    admin = uuid.UUID(org["admin"].account_id)
    learner = sign_up(display_name="Sam Rivera")
    achievement = achievements.create_achievement(
        db,
        slug="makerspace-north",
        actor=admin,
        name="Arduino Basics",
        description="Built a circuit.",
        criteria_narrative="Wire a circuit.",
        now=clock.now,
    )
    achievements.set_image(
        db, slug="makerspace-north", actor=admin, achievement_id=achievement.id, data=BADGE_SVG, now=clock.now
    )
    issued = issuing.award(
        db,
        slug="makerspace-north",
        actor=admin,
        achievement_id=achievement.id,
        username=learner.username,
        kek=state.secrets.key_encryption_key,
        base_url=state.settings.base_url,
        now=clock.now,
    )
    held = db.scalar(select(HeldCredential).where(HeldCredential.credential_id == issued.credential_id))
    assert held is not None
    db.commit()
    return Awarded(learner, org, issued.id, held.id)


def _meta(html: str, key: str) -> str:
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]+)">', html)
    assert match, f"no {key} in the page"
    return match.group(1)


def test_the_link_preview_image_is_a_png_of_the_badge(client: Any, svg_badge: Awarded) -> None:
    link = share(client, svg_badge)
    html = client.get(path_of(link)).get_data(as_text=True)
    og_image, twitter_image = _meta(html, "og:image"), _meta(html, "twitter:image")

    preview = client.get(urlsplit(og_image).path)

    assert og_image == twitter_image
    assert og_image.startswith(link["url"])
    assert _meta(html, "og:image:type") == "image/png"
    assert preview.status_code == 200
    assert preview.mimetype == "image/png"
    image = Image.open(io.BytesIO(preview.data))
    assert image.format == "PNG"
    assert image.convert("RGB").getpixel((image.width // 2, image.height // 2)) == (0x1D, 0x6F, 0xA5)


def test_link_preview_fetchers_and_head_requests_are_not_views(client: Any, svg_badge: Awarded) -> None:
    link = share(client, svg_badge)
    for agent in PREVIEW_BOTS:
        assert client.get(path_of(link), headers={"User-Agent": agent}).status_code == 200
    assert client.head(path_of(link), headers={"User-Agent": FIREFOX}).status_code == 200
    client.get(path_of(link), headers={"User-Agent": FIREFOX})

    mine = client.get(f"/api/v1/shares/{link['id']}", headers=svg_badge.learner.headers).json

    assert mine["view_count"] == 1


@pytest.mark.parametrize("agent", PREVIEW_BOTS)
def test_preview_bots_are_recognised(agent: str) -> None:
    assert is_preview_fetch(method="GET", user_agent=agent)


@pytest.mark.parametrize(
    "agent",
    [
        FIREFOX,
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
        "Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131 Safari"
        "/537.36 Teams/24295.605.3225.8804",
        "",
        None,
    ],
)
def test_browsers_are_people(agent: str | None) -> None:
    assert not is_preview_fetch(method="GET", user_agent=agent)


def test_error_pages_do_not_say_verified_badge(client: Any, svg_badge: Awarded, clock: Any) -> None:
    unknown = client.get("/s/NoSuchLinkAtAll0123456789")
    link = share(client, svg_badge, expires_at="2026-11-24T10:00:00Z")
    clock.advance(days=2)
    expired = client.get(path_of(link))

    for page, status in ((unknown, 404), (expired, 410)):
        html = page.get_data(as_text=True)
        assert page.status_code == status
        assert "verified badge" not in html.lower()
        assert re.search(r"<title>[^<]*(No badge here|This link has expired)[^<]*</title>", html)
