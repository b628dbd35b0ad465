"""A learner's whole journey with their badge on a 360 by 740 phone (headless Chromium, a real server):
sign up, claim at a real claim session's landing page, see the badge in the wallet, share it, an employer
opens the link in another browser and reads that it is genuine, the learner turns the link off, the
link answers 410. Every page of the learner's wallet is checked with axe-core, for its weight, for
requests to other origins and for width at 320 px, and photographed for docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.pages import phone_context, screenshot, serious_accessibility_violations
from tests.live_server import Running
from tests.qr_scan import scan_texts
from wallet.issuing import achievements
from wallet.models import Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser

PAGE_BUDGET = 50_000
"""Bytes a page may weigh before badge images: HTML, CSS and script (cheap phones, slow data)."""


def _claim_session(running: Running) -> str:
    """A youth worker's open claim session for "Young Curator"; returns the landing page's path."""
    client = running.app.test_client()
    state = running.app.extensions["wallet"]
    password = "correct horse battery"
    accounts = {}
    for username in ("museum-admin", "museum-worker"):
        accounts[username] = client.post(
            "/api/v1/accounts", json={"username": username, "password": password, "device": {"name": "pc"}}
        ).json
    with state.session_factory.begin() as db:
        now = running.clock.now
        organisations.create_organisation(db, slug="museum-east", name="Museum East", now=now)
        for username, role in (("museum-admin", Role.ADMIN), ("museum-worker", Role.YOUTH_WORKER)):
            organisations.add_member(db, slug="museum-east", actor=None, username=username, role=role, now=now)
        achievement = achievements.create_achievement(
            db,
            slug="museum-east",
            actor=uuid.UUID(accounts["museum-admin"]["account_id"]),
            name="Young Curator",
            description="Planned and installed a small exhibition with a team.",
            criteria_narrative="Curate one display case and explain it to visitors.",
            alignments=[{"targetName": "Teamwork", "targetFramework": "ESCO"}],
            now=now,
        )
        achievement_id = str(achievement.id)
    worker = {"Authorization": f"Bearer {accounts['museum-worker']['access_token']}"}
    now = running.clock.now
    opened = client.post(
        "/api/v1/organisations/museum-east/claim-sessions",
        headers=worker,
        json={
            "achievement_id": achievement_id,
            "title": "Museum open day",
            "venue": "East hall",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
        },
    )
    assert opened.status_code == 201, opened.json
    qr = client.get(f"/api/v1/claim-sessions/{opened.json['id']}/qr", headers=worker).json
    return "/c/" + qr["token"]


class Watch:
    """Every URL the page requested (whatever the cache or the answer), to prove no other origin was asked."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))

    def reset(self) -> None:
        self.urls = []


WEIGHT = """async () => {
  const [nav] = performance.getEntriesByType("navigation");
  const parts = [...document.querySelectorAll("link[rel=stylesheet], link[rel=manifest], script[src]")];
  let total = nav.decodedBodySize;
  for (const part of parts) total += (await (await fetch(part.href || part.src)).arrayBuffer()).byteLength;
  return total;
}"""
"""The page's HTML plus every stylesheet, manifest and script it loads, in bytes before compression (what
gzip sends is less), whatever the cache holds; badge images left out."""


def _check(page: Page, watch: Watch, origin: str, name: str) -> None:
    """The page as it stands: axe-core clean, light, nothing from elsewhere, fits 360 px; photographed.

    Call it right after a fresh load of the page (``_visit`` or a reload), so the weight is this page's."""
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == [], name
    weight = page.evaluate(WEIGHT)
    assert 0 < weight < PAGE_BUDGET, (name, weight)
    assert watch.urls and all(url.startswith(origin + "/") for url in watch.urls), (name, watch.urls)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    screenshot(page, name)
    watch.reset()


def _visit(page: Page, watch: Watch, url: str) -> None:
    watch.reset()
    response = page.goto(url)
    assert response is not None and response.status == 200, url


def test_sign_up_claim_see_share_show_and_revoke_on_a_phone(server: Running, browser: Browser) -> None:
    landing = _claim_session(server)
    origin = server.url
    learner = phone_context(browser)
    learner.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = learner.new_page()
    watch = Watch(page)

    # Sign up, then claim at the landing page the QR opened.
    page.goto(f"{origin}/signup?next={landing}")
    page.fill("#username", "sam-rivera")
    page.fill("#display_name", "Sam Rivera")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    assert "Keep these recovery codes" in page.locator("main").inner_text()  # shown once, before anything else
    page.get_by_role("link", name="I have saved them — continue").click()
    page.wait_for_url(f"{origin}{landing}")
    page.get_by_role("button", name="Claim this badge").click()
    assert "It's yours!" in page.locator("main").inner_text()

    # My badges.
    _visit(page, watch, f"{origin}/wallet")
    card = page.locator("#badges .badge-card")
    assert card.count() == 1
    assert "Young Curator" in card.inner_text() and "Museum East" in card.inner_text()
    _check(page, watch, origin, "wallet-badges")

    # The badge, with its verdict; pin and tag it with plain forms.
    card.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("#verdict-sentence").inner_text().startswith("Genuine: issued by Museum East to Sam Rivera")
    assert "Teamwork" in page.locator("#skills").inner_text()
    page.click("#pin")
    page.fill("#tag", "Museums")
    page.get_by_role("button", name="Add tag").click()
    assert "museums" in page.locator("#organise").inner_text()
    badge_url = page.url
    watch.reset()
    page.reload()
    _check(page, watch, origin, "wallet-badge")

    # A collection holding it.
    _visit(page, watch, f"{origin}/wallet/collections")
    page.fill("#name", "For employers")
    page.get_by_role("button", name="Create collection").click()
    page.get_by_role("button", name="Add to collection").click()
    assert "Young Curator" in page.locator("#members").inner_text()
    watch.reset()
    page.reload()
    _check(page, watch, origin, "wallet-collection")
    _visit(page, watch, f"{origin}/wallet/collections")
    _check(page, watch, origin, "wallet-collections")

    # Share the badge: the link to copy, and the QR an employer scans across the table.
    page.goto(badge_url)
    page.fill("#label-" + badge_url.rsplit("/", 1)[1], "Museum job")
    page.get_by_role("button", name="Create a share link").click()
    page.wait_for_load_state()
    share_page = page.url
    link = page.locator("#share-url").input_value()
    assert link.startswith(f"{origin}/s/")
    page.click("#copy")
    expect(page.locator("#copy-status")).to_have_text(re.compile(r"^Copied"))  # once the clipboard answers
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert scan_texts(page.locator("#qr").screenshot()) == [link]
    assert page.locator("#linkedin").count() == 1
    watch.reset()
    page.reload()
    _check(page, watch, origin, "wallet-share")

    # The employer opens it on their own phone: genuine, and no Add-to-LinkedIn there.
    employer = phone_context(browser)
    their_page = employer.new_page()
    response = their_page.goto(link)
    assert response is not None and response.status == 200
    assert their_page.locator("#verdict-sentence").inner_text().startswith("Genuine: issued by Museum East")
    assert their_page.locator("#linkedin").count() == 0

    # Views counted; the list of links; then the learner turns the link off.
    page.goto(share_page)
    assert page.locator("#views").inner_text().startswith("1")
    _visit(page, watch, f"{origin}/wallet/shares")
    assert "Museum job" in page.locator("main").inner_text()
    _check(page, watch, origin, "wallet-shares")
    page.goto(share_page)
    page.click("#revoke")
    assert "This link is turned off" in page.locator("main").inner_text()

    gone = their_page.goto(link)
    assert gone is not None and gone.status == 410
    assert their_page.locator("h1").inner_text() == "This link was turned off"

    # Deleting asks first.
    _visit(page, watch, f"{badge_url}/delete")
    assert "Yes, delete it" in page.locator("main").inner_text()
    _check(page, watch, origin, "wallet-delete")
    employer.close()
    learner.close()


def test_everything_works_without_script_and_fits_320_pixels(server: Running, browser: Browser) -> None:
    landing = _claim_session(server)
    origin = server.url
    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{origin}/signup?next={landing}")
    page.fill("#username", "kim-lee")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.get_by_role("link", name="I have saved them — continue").click()
    page.get_by_role("button", name="Claim this badge").click()
    page.goto(f"{origin}/wallet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.locator("#badges a").first.click()
    page.wait_for_load_state()  # the click returns once the new page commits: it may have no document yet
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.get_by_role("button", name="Create a share link").click()
    assert page.locator("#copy").is_hidden()  # no script: no copy button …
    link = page.locator("#share-url").input_value()
    assert link.startswith(f"{origin}/s/")  # … but the address is there to read and select
    page.wait_for_load_state("load")  # a click waits for the new page to commit, not for its images
    assert page.locator("#qr").evaluate("img => img.naturalWidth") > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.click("#revoke")
    assert "This link is turned off" in page.locator("main").inner_text()
    context.close()
