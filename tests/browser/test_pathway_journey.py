"""A learner's pathway across two organisations on a 360 by 740 phone (headless Chromium, a real server):
badges awarded by a makerspace and claimed at a museum's real claim session count towards a published
pathway; the learner sees "2 of 3 steps", which badge did each step and what is next (an open claim
session); their skills page lists framework items with the badges that show them; the public pathway,
framework and item pages render; the learner makes a record of two badges and the pathway, shares it and
their skills, and an employer in a fresh browser opens each link and reads that the record is genuine.
Every page is checked with axe-core, for its weight, for requests to other origins and for width at 320 px,
and photographed for docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.pages import phone_context, screenshot, serious_accessibility_violations
from tests.live_server import Running
from tests.pathways.conftest import CASE_PACKAGE
from wallet.issuing import achievements
from wallet.models import Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser

PAGE_BUDGET = 50_000
"""Bytes a page may weigh before badge images: HTML, CSS and script (cheap phones, slow data)."""
PASSWORD = "correct horse battery"


class City:
    """Two organisations, a framework, aligned badges, a three-step pathway and two open claim sessions."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.client = running.app.test_client()
        self.tokens: dict[str, dict[str, str]] = {}
        self.badges: dict[str, str] = {}
        now = running.clock.now
        for username in ("north-admin", "north-worker", "museum-admin", "museum-worker"):
            self.tokens[username] = self._account(username, "")
        state = running.app.extensions["wallet"]
        with state.session_factory.begin() as db:
            for slug, name in (("north", "Makerspace North"), ("museum", "City Museum")):
                organisations.create_organisation(db, slug=slug, name=name, now=now)
                for role, who in ((Role.ADMIN, "admin"), (Role.YOUTH_WORKER, "worker")):
                    organisations.add_member(db, slug=slug, actor=None, username=f"{slug}-{who}", role=role, now=now)
            for slug, key, name in (
                ("north", "solder", "Soldering"),
                ("north", "coding", "Coding Club"),
                ("museum", "guide", "Gallery Guide"),
                ("museum", "curator", "Young Curator"),
                ("museum", "aid", "First Aid"),
            ):
                achievement = achievements.create_achievement(
                    db,
                    slug=slug,
                    actor=uuid.UUID(self.tokens[f"{slug}-admin"]["account_id"]),
                    name=name,
                    description=f"{name}, done with others.",
                    criteria_narrative="Take part in a session.",
                    now=now,
                )
                self.badges[key] = str(achievement.id)
        imported = self.client.post(
            "/api/v1/frameworks/leeds/versions?organisation=north",
            headers={**self.auth("north-admin"), "Content-Type": "application/json"},
            data=json.dumps(CASE_PACKAGE),
        )
        assert imported.status_code == 201, imported.json
        for slug, key, item in (("north", "solder", "item-listening"), ("museum", "guide", "item-teamwork")):
            aligned = self.client.post(
                f"/api/v1/organisations/{slug}/achievements/{self.badges[key]}/alignments",
                headers=self.auth(f"{slug}-admin"),
                json={"framework": "leeds", "item": item},
            )
            assert aligned.status_code == 200, aligned.json
        created = self.client.post(
            "/api/v1/organisations/north/pathways",
            headers=self.auth("north-admin"),
            json={
                "name": "Maker to Museum",
                "description": "From the workbench to the gallery.",
                "outcome": "A reference for a museum placement",
                "partners": ["museum"],
                "steps": [
                    {"kind": "badge", "achievement": self.badges["solder"]},
                    {"kind": "any_of", "n": 1, "achievements": [self.badges["guide"], self.badges["curator"]]},
                    {"kind": "badge", "achievement": self.badges["coding"]},
                ],
            },
        )
        assert created.status_code == 201, created.json
        self.pathway_id = created.json["definition"]["id"]
        self.guide_landing = self._open_session("museum", "guide", "Saturday gallery tour")
        self._open_session("north", "coding", "Code night")

    def _account(self, username: str, display_name: str) -> dict[str, str]:
        answer = self.client.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "password": PASSWORD,
                "display_name": display_name,
                "device": {"name": "pc"},
            },
        )
        assert answer.status_code == 201, answer.json
        return dict(answer.json)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]['access_token']}"}

    def _open_session(self, slug: str, badge: str, title: str) -> str:
        now = self.running.clock.now
        worker = self.auth(f"{slug}-worker")
        opened = self.client.post(
            f"/api/v1/organisations/{slug}/claim-sessions",
            headers=worker,
            json={
                "achievement_id": self.badges[badge],
                "title": title,
                "venue": "Main hall",
                "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
                "cap": 30,
            },
        )
        assert opened.status_code == 201, opened.json
        qr = self.client.get(f"/api/v1/claim-sessions/{opened.json['id']}/qr", headers=worker).json
        return "/c/" + qr["token"]

    def learner(self, username: str, display_name: str) -> None:
        self.tokens[username] = self._account(username, display_name)

    def award(self, slug: str, badge: str, username: str) -> None:
        awarded = self.client.post(
            f"/api/v1/organisations/{slug}/achievements/{self.badges[badge]}/awards",
            headers=self.auth(f"{slug}-admin"),
            json={"username": username},
        )
        assert awarded.status_code == 201, awarded.json


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

TIMED_WEIGHT = """() => {
  const [nav] = performance.getEntriesByType("navigation");
  let total = nav.decodedBodySize;
  for (const part of performance.getEntriesByType("resource"))
    if (part.initiatorType === "link" || part.initiatorType === "script") total += part.decodedBodySize;
  return total;
}"""
"""The same for a share page, whose policy lets no script fetch: the sizes the browser timed as it loaded
(a fresh context, so nothing came from a cache)."""


def _check(page: Page, watch: Watch, origin: str, name: str, *, public: bool = False) -> None:
    """The page as it stands: axe-core clean, light, nothing from elsewhere, fits 360 and 320 px; photographed."""
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == [], name
    weight = page.evaluate(TIMED_WEIGHT if public else WEIGHT)
    assert 0 < weight < PAGE_BUDGET, (name, weight)
    assert watch.urls and all(url.startswith(origin + "/") for url in watch.urls), (name, watch.urls)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    screenshot(page, name)
    size: Any = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, name
    page.set_viewport_size(size)
    watch.reset()


def _visit(page: Page, watch: Watch, url: str) -> None:
    watch.reset()
    response = page.goto(url)
    assert response is not None and response.status == 200, url


def _reload(page: Page, watch: Watch) -> None:
    watch.reset()
    page.reload()


def test_a_pathway_across_two_organisations_a_record_and_an_employer_on_a_phone(
    server: Running, browser: Browser
) -> None:
    city = City(server)
    origin = server.url
    city.learner("sam-rivera", "Sam Rivera")
    city.award("north", "solder", "sam-rivera")
    city.award("museum", "aid", "sam-rivera")
    learner = phone_context(browser)
    page = learner.new_page()
    watch = Watch(page)

    # Sign in, then claim Gallery Guide at the museum's claim session (the QR's landing page).
    page.goto(f"{origin}/login?next={city.guide_landing}")
    page.fill("#username", "sam-rivera")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{origin}{city.guide_landing}")
    page.get_by_role("button", name="Claim this badge").click()
    assert "It's yours!" in page.locator("main").inner_text()

    # From home to the pathways: 2 of 3 steps, which badge did each, and the open session as the next step.
    _visit(page, watch, f"{origin}/")
    page.get_by_role("link", name="My pathways and skills").click()
    page.wait_for_url(f"{origin}/wallet/pathways")
    main = page.locator("main").inner_text()
    assert "Maker to Museum" in main and "2 of 3 steps done" in main
    steps = page.locator(".pathway .steps li")
    assert steps.count() == 3
    assert "done" in steps.nth(0).inner_text() and "By: Soldering (Makerspace North)" in steps.nth(0).inner_text()
    assert "By: Gallery Guide (City Museum)" in steps.nth(1).inner_text()
    assert "(next)" in steps.nth(2).inner_text()
    assert "Open now: Coding Club — Code night at Makerspace North" in steps.nth(2).inner_text()
    assert "Coding Club — Code night at Makerspace North" in page.locator("#next-steps").inner_text()
    _reload(page, watch)
    _check(page, watch, origin, "pathways-mine")

    # Skills: each framework item with the badges that show it; then share the summary.
    page.locator(".wallet-nav").get_by_role("link", name="Skills").click()
    page.wait_for_url(f"{origin}/wallet/skills")
    skills = page.locator(".skill")
    assert skills.count() == 2
    texts = [skills.nth(i).inner_text() for i in range(2)]
    assert any("COM-1" in t and "Listens actively to others" in t and "Soldering" in t for t in texts), texts
    assert any("COM-2" in t and "Works well in a team" in t and "Gallery Guide" in t for t in texts), texts
    _reload(page, watch)
    _check(page, watch, origin, "pathways-skills")
    page.get_by_role("button", name="Create a share link").click()
    page.wait_for_load_state()
    assert "your skills summary" in page.locator("main").inner_text()
    skills_link = page.locator("#share-url").input_value()

    # The public pathway page, the framework and one item (the page a badge's alignment opens).
    _visit(page, watch, f"{origin}/pathways/{city.pathway_id}")
    assert page.locator("h1").inner_text() == "Maker to Museum"
    assert "A reference for a museum placement" in page.locator("main").inner_text()
    assert "Any of: Gallery Guide, Young Curator" in page.locator(".steps").inner_text()
    _check(page, watch, origin, "pathways-public")
    _visit(page, watch, f"{origin}/frameworks/leeds")
    assert "Leeds Skills Framework" in page.locator("h1").inner_text()
    assert page.locator(".items li").count() == 3
    _check(page, watch, origin, "pathways-framework")
    page.get_by_role("link", name="COM-2 Works well in a team").click()
    page.wait_for_load_state()
    assert "COM-2: Works well in a team" in page.locator("h1").inner_text()
    _reload(page, watch)
    _check(page, watch, origin, "pathways-framework-item")

    # Make a record: the pathway's two badges and the pathway are ticked; First Aid (in no pathway) is not.
    _visit(page, watch, f"{origin}/wallet/pathways")
    page.get_by_role("link", name="Make a record of your badges and pathways").click()
    page.wait_for_url(f"{origin}/wallet/records/new")
    form = page.locator("#record-form")
    assert form.get_by_label("Soldering").is_checked() and form.get_by_label("Gallery Guide").is_checked()
    assert not form.get_by_label("First Aid").is_checked()
    assert form.get_by_label("Maker to Museum").is_checked()
    _reload(page, watch)
    _check(page, watch, origin, "pathways-record-new")
    page.fill("#record-name", "Sam's record for college")
    page.click("#make-record")
    page.wait_for_load_state()
    assert "/wallet/badges/" in page.url
    assert "Your record is ready" in page.locator("main").inner_text()
    assert page.locator("#record-name").inner_text() == "Sam's record for college"
    assert (
        page.locator("#verdict-sentence")
        .inner_text()
        .startswith("Genuine record: Learner Wallet put it together for Sam Rivera")
    )
    inside = page.locator("#record-badges .record-item")
    assert inside.count() == 2
    assert all(inside.nth(i).inner_text().count("Genuine: issued by") == 1 for i in range(2))
    assert "2 of 3 steps done" in page.locator("#record-pathways").inner_text()
    _reload(page, watch)
    _check(page, watch, origin, "pathways-record")

    # Share it like a badge.
    page.locator("#share input[name=label]").fill("For the college")
    page.get_by_role("button", name="Create a share link").click()
    page.wait_for_load_state()
    assert "A link to your record" in page.locator("main").inner_text()
    link = page.locator("#share-url").input_value()
    assert link.startswith(f"{origin}/s/")
    assert page.locator("#linkedin").count() == 0
    _reload(page, watch)
    _check(page, watch, origin, "pathways-record-share")

    # The employer, in a fresh browser: the record is genuine, and each badge in it is checked on its own.
    employer = phone_context(browser)
    their_page = employer.new_page()
    their_watch = Watch(their_page)
    _visit(their_page, their_watch, link)
    assert (
        their_page.locator("#verdict-sentence")
        .inner_text()
        .startswith("Genuine record: Learner Wallet put it together for Sam Rivera")
    )
    assert "Made by Learner Wallet (this service) for Sam Rivera" in their_page.locator("#made-line").inner_text()
    shown = their_page.locator("#record-badges .record-item")
    assert shown.count() == 2
    assert "Genuine: issued by Makerspace North to Sam Rivera" in shown.nth(0).inner_text() + shown.nth(1).inner_text()
    assert "Genuine: issued by City Museum to Sam Rivera" in shown.nth(0).inner_text() + shown.nth(1).inner_text()
    assert "Maker to Museum" in their_page.locator("#record-pathways").inner_text()
    _check(their_page, their_watch, origin, "pathways-record-shared", public=True)

    _visit(their_page, their_watch, skills_link)
    assert their_page.locator("h1").inner_text() == "Skills of Sam Rivera"
    assert "Works well in a team" in their_page.locator("main").inner_text()
    _check(their_page, their_watch, origin, "pathways-skills-shared", public=True)
    employer.close()
    learner.close()
