"""The learner's web app in a real phone-sized Chromium: sign up, recovery, account, add, and offline.

Served by a real server on 127.0.0.1 whose requests really commit. Every page checked here: no serious or
critical axe-core violation, under 50 KB before badge images, no request to another origin, a screenshot
for docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import Engine, select
from werkzeug.serving import make_server

from tests.browser.pages import phone_context, screenshot, serious_accessibility_violations
from tests.browser.test_share_pages import _badge_png
from tests.conftest import FakeClock
from tests.live_server import Running
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import Base
from wallet.issuing import achievements
from wallet.issuing.credentials import achievement_image_url
from wallet.models import Account, HeldCredential, Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PAGE_BUDGET = 50 * 1024


class Server(Running):
    """A live server (as ``tests.live_server``) whose network can be taken away for real.

    ``context.set_offline`` tells the page it is offline, but a service worker's own fetches are not cut
    off by it in every Chromium: :meth:`outage` closes the port too (connections refused), and the tests
    check the server heard nothing while it was down.
    """

    http: Any = None

    def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        self.http = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Server]:
    """The app on a free port, committing for real, on today's clock (the phone's clock stamps offline claims)."""
    probe = make_server("127.0.0.1", 0, Flask("probe"))
    port = probe.server_port
    probe.server_close()
    base_url = f"http://127.0.0.1:{port}"
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    app = create_app(Settings(**{**settings.__dict__, "base_url": base_url}), clock=clock, engine=engine)
    running = Server(app, base_url, clock)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


class Traffic:
    """Every response the page got: for page weight (non-image bytes) and "no other origin"."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.requests: list[str] = []
        self.bytes: dict[str, int] = {}
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", self._count)

    def _count(self, response: Any) -> None:
        if response.request.resource_type == "image" or response.status in (301, 302, 303):
            return
        try:
            self.bytes[response.url] = len(response.body())
        except Exception:
            self.bytes[response.url] = 0

    def reset(self) -> None:
        self.requests.clear()
        self.bytes.clear()

    def weight(self) -> int:
        return sum(self.bytes.values())

    def foreign(self) -> list[str]:
        return [url for url in self.requests if not url.startswith((self.origin, "data:", "blob:"))]


def check_page(page: Page, traffic: Traffic, name: str) -> None:
    """What every page of the app must be: accessible, light, same-origin, fitting 360 px."""
    page.wait_for_load_state("networkidle")
    assert serious_accessibility_violations(page) == [], name
    assert traffic.weight() < PAGE_BUDGET, (name, traffic.bytes)
    assert traffic.foreign() == [], name
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    screenshot(page, f"app-{name}")


def visit(page: Page, traffic: Traffic, url: str) -> None:
    traffic.reset()
    response = page.goto(url)
    assert response is not None and response.status < 400, url


def _sign_up(page: Page, server: Server, username: str) -> list[str]:
    page.goto(f"{server.url}/signup")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("ol.codes")
    return [text.strip() for text in page.locator("ol.codes li").all_inner_texts()]


def _controlled(page: Page) -> None:
    """Wait until the service worker controls the page (the first visit installs it; a reload uses it)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    assert page.evaluate("!!navigator.serviceWorker.controller")


def _venue(server: Server, *, sessions: int = 1) -> tuple[list[dict[str, Any]], str]:
    """An organisation with a badge and open claim sessions; their QR answers (fallback code, URL)."""
    client = server.app.test_client()
    worker = client.post(
        "/api/v1/accounts",
        json={"username": "worker-ada", "password": PASSWORD, "device": {"name": "pc", "platform": "web"}},
    ).json
    with server.session() as db, db.begin():
        organisations.create_organisation(db, slug="makerspace", name="Makerspace North", now=server.clock.now)
        organisations.add_member(
            db, slug="makerspace", actor=None, username="worker-ada", role=Role.ADMIN, now=server.clock.now
        )
        achievement = achievements.create_achievement(
            db,
            slug="makerspace",
            actor=uuid.UUID(worker["account_id"]),
            name="Soldering Basics",
            description="Soldered a blinking LED kit safely.",
            criteria_narrative="Finish the kit.",
            now=server.clock.now,
        )
        achievements.set_image(
            db,
            slug="makerspace",
            actor=uuid.UUID(worker["account_id"]),
            achievement_id=achievement.id,
            data=_badge_png(),
            now=server.clock.now,
        )
        achievement_id = str(achievement.id)
    headers = {"Authorization": f"Bearer {worker['access_token']}"}
    answers = []
    for index in range(sessions):
        opened = client.post(
            "/api/v1/organisations/makerspace/claim-sessions",
            headers=headers,
            json={
                "achievement_id": achievement_id,
                "title": f"Workshop {index + 1}",
                "starts_at": (server.clock.now - dt.timedelta(minutes=5)).isoformat(),
                "ends_at": (server.clock.now + dt.timedelta(hours=3)).isoformat(),
                "cap": 30,
            },
        )
        assert opened.status_code == 201, opened.json
        answers.append(client.get(f"/api/v1/claim-sessions/{opened.json['id']}/qr", headers=headers).json)
    return answers, achievement_id


def _held(server: Server, username: str) -> list[str]:
    with server.session() as db:
        account = db.scalar(select(Account).where(Account.username == username))
        assert account is not None
        return [
            c.achievement_name or ""
            for c in db.scalars(select(HeldCredential).where(HeldCredential.account_id == account.id))
        ]


def test_sign_up_keep_the_recovery_codes_sign_out_and_get_back_in_with_one(server: Server, browser: Browser) -> None:
    context = phone_context(browser)
    page = context.new_page()
    traffic = Traffic(page, server.url)

    visit(page, traffic, f"{server.url}/")
    check_page(page, traffic, "home")
    visit(page, traffic, f"{server.url}/signup")
    page.fill("#username", "sam")
    page.fill("#password", "sam-is-me-sam")
    page.click("button[type=submit]")
    assert "must not contain your username" in page.locator(".error").inner_text()
    assert page.input_value("#username") == "sam"
    check_page(page, traffic, "sign-up-refused")

    traffic.reset()
    codes = _sign_up(page, server, "sam")
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code) for code in codes)
    check_page(page, traffic, "recovery-codes")

    page.click("text=I have saved them")
    page.goto(f"{server.url}/account")
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(re.compile(r".*/login.*"))
    visit(page, traffic, f"{server.url}/login")
    check_page(page, traffic, "sign-in")
    page.click("text=Forgot your password?")
    page.fill("#username", "sam")
    page.fill("#code", codes[4].lower().replace("-", " "))
    page.fill("#password", "a fresh long password")
    traffic.reset()
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Your new password is set"
    check_page(page, traffic, "reset-done")
    page.goto(f"{server.url}/reset")
    check_page(page, traffic, "reset")
    context.close()


def test_the_account_page_renames_lists_devices_and_makes_new_codes(server: Server, browser: Browser) -> None:
    context = phone_context(browser)
    page = context.new_page()
    traffic = Traffic(page, server.url)
    _sign_up(page, server, "robin")
    visit(page, traffic, f"{server.url}/account")
    assert page.locator("#devices .tag").inner_text() == "this browser"
    check_page(page, traffic, "account")
    page.fill("#display_name", "Robin H.")
    page.click("#name button")
    assert "Your name is saved." in page.locator(".notice").inner_text()
    page.fill("#recovery_password", PASSWORD)
    page.click("#recovery button")
    expect(page.locator("ol.codes li")).to_have_count(10)  # a click waits for the page to commit, not to parse
    visit(page, traffic, f"{server.url}/wallet/add")
    check_page(page, traffic, "add")
    context.close()


def test_offline_the_pages_and_badge_images_opened_stay_and_a_typed_code_arrives_when_back_online(
    server: Server, browser: Browser
) -> None:
    (typed, linked), achievement_id = _venue(server, sessions=2)
    context = phone_context(browser)
    page = context.new_page()
    _sign_up(page, server, "kim")
    page.goto(f"{server.url}/wallet/add")
    _controlled(page)
    for path in ("/account", "/wallet/add"):
        page.goto(f"{server.url}{path}")
    image = achievement_image_url(server.url, uuid.UUID(achievement_id))
    show_image = (
        "src => new Promise(ok => { const i = new Image();"
        " i.onload = () => ok(i.naturalWidth); i.onerror = () => ok(0); i.src = src; })"
    )
    assert page.evaluate(show_image, image) > 0

    seen: list[str] = []
    server.app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(request.path) and None)
    outage = server.outage()
    outage.__enter__()
    context.set_offline(True)
    page.reload()
    assert page.locator("h1").inner_text() == "Add a badge"
    assert page.locator("#offline-banner").is_visible()
    page.goto(f"{server.url}/account")
    assert page.locator("#devices .tag").inner_text() == "this browser"
    assert page.evaluate(show_image, image) > 0
    screenshot(page, "app-offline-account")

    page.goto(f"{server.url}/wallet/add")
    page.fill("#code", typed["fallback"])
    page.click("[data-claim-form] button")
    page.wait_for_selector("#queue-status .notice")
    assert "kept code" in page.locator("#queue-status").inner_text()
    screenshot(page, "app-offline-kept")
    token = linked["url"].rsplit("/", 1)[1]
    page.goto(f"{server.url}/c/{token}")
    page.wait_for_selector("#queue-status .notice")
    assert "kept this claim link" in page.locator("#queue-status").inner_text()
    assert seen == [], f"the server heard from the phone while it was offline: {seen}"

    assert seen == [], seen
    page.close()  # the browser closed, offline: nothing queued may be lost
    outage.__exit__(None, None, None)
    context.set_offline(False)
    page = context.new_page()  # opened again once back online: what was kept is claimed
    page.goto(f"{server.url}/wallet/add")
    try:
        page.wait_for_function("() => document.querySelectorAll('#queue-status p').length >= 2", timeout=30_000)
    finally:
        screenshot(page, "app-back-online")
    told = page.locator("#queue-status").inner_text()
    assert told.count("Claimed: Soldering Basics is in your wallet.") == 2, told
    assert _held(server, "kim") == ["Soldering Basics", "Soldering Basics"]  # one per session
    left = page.evaluate(
        "new Promise(ok => { const r = indexedDB.open('learner-wallet'); r.onsuccess = () => {"
        " const q = r.result.transaction('claims').objectStore('claims').count();"
        " q.onsuccess = () => ok(q.result); }; })"
    )
    assert left == 0
    context.close()


def test_signing_out_leaves_no_cached_page_nor_queued_claim(server: Server, browser: Browser) -> None:
    context = phone_context(browser)
    page = context.new_page()
    _sign_up(page, server, "lee")
    page.goto(f"{server.url}/account")
    _controlled(page)
    page.goto(f"{server.url}/account")
    assert page.evaluate("caches.keys().then(keys => keys.length)") > 0
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(re.compile(r".*/login.*"))
    page.wait_for_load_state("networkidle")
    cached = page.evaluate(
        "caches.keys().then(keys => Promise.all(keys.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(lists => lists.flat().map(r => r.url))"
    )
    assert not any(url.endswith("/account") for url in cached), cached
    context.set_offline(True)
    with contextlib.suppress(PlaywrightError):  # no service worker any more: the browser's "no internet" page
        page.goto(f"{server.url}/account")
    assert page.locator("h1", has_text="Account").count() == 0
    context.close()


def test_the_offline_code_rule_agrees_with_wallet_protocol(server: Server, browser: Browser) -> None:
    """app.js repeats normalise_fallback to catch typos offline; it must agree with the shared rule."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from wallet_protocol.claim_codes import InvalidClaimCode, new_fallback_code, normalise_fallback

    context: BrowserContext = phone_context(browser)
    page = context.new_page()
    page.goto(f"{server.url}/")
    page.wait_for_function("() => !!window.LearnerWallet")
    samples: list[str] = []

    @settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
    @given(
        st.one_of(
            st.text(max_size=20),
            st.randoms(use_true_random=False).map(lambda rng: new_fallback_code(rng.randbytes)),
            st.randoms(use_true_random=False).map(
                lambda rng: "-".join(new_fallback_code(rng.randbytes).lower().replace("0", "o").partition("1")[::2])
            ),
            st.randoms(use_true_random=False).map(
                lambda rng: (lambda code: code[:3] + code[4] + code[3] + code[5:])(new_fallback_code(rng.randbytes))
            ),
            st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZOIL -.", min_size=8, max_size=12),
        )
    )
    def collect(text: str) -> None:
        samples.append(text)

    collect()
    answers = page.evaluate("texts => texts.map(t => window.LearnerWallet.normaliseFallback(t))", samples)
    for text, answer in zip(samples, answers, strict=True):
        try:
            expected: dict[str, str] = {"code": normalise_fallback(text)}
        except InvalidClaimCode as error:
            expected = {"error": error.reason}
        assert answer == expected, text
    context.close()
