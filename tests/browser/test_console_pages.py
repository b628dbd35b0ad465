"""The console in a real browser (Debian's Chromium via Playwright) on a real server: a youth worker runs
a PIN session while a learner claims on a phone, an admin onboards a youth worker, a wrong role is
refused on every console page, a rotating code is claimed five minutes after the scan."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.pages import phone_context, screenshot, serious_accessibility_violations
from tests.browser.test_share_pages import _badge_png
from tests.live_server import Running
from wallet.accounts.passwords import make_hasher
from wallet.accounts.services import sign_up
from wallet.claims.codes import session_qr
from wallet.issuing import achievements
from wallet.models import Account, ClaimSession, Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1100, "height": 900}


def _museum(running: Running) -> str:
    """Museum East with an admin (mia), a youth worker (wes), a learner (sam) and a badge with an image."""
    hasher = make_hasher("CHEAPEST")
    now = running.clock.now
    with running.app.extensions["wallet"].session_factory.begin() as db:
        for username, name in (
            ("mia-admin", "Mia"),
            ("wes-worker", "Wes"),
            ("sam-learner", "Sam"),
            ("ola-other", "Ola"),
        ):
            sign_up(db, username=username, password=PASSWORD, display_name=name, email=None, hasher=hasher, now=now)
        organisations.create_organisation(
            db, slug="museum-east", name="Museum East", time_zone="Europe/London", now=now
        )
        organisations.create_organisation(db, slug="makerspace", name="Makerspace", now=now)
        organisations.add_member(db, slug="museum-east", actor=None, username="mia-admin", role=Role.ADMIN, now=now)
        organisations.add_member(
            db, slug="museum-east", actor=None, username="wes-worker", role=Role.YOUTH_WORKER, now=now
        )
        organisations.add_member(
            db, slug="makerspace", actor=None, username="ola-other", role=Role.YOUTH_WORKER, now=now
        )
        admin = db.scalar(select(Account.id).where(Account.username == "mia-admin"))
        assert admin is not None
        badge = achievements.create_achievement(
            db,
            slug="museum-east",
            actor=admin,
            name="Young Curator",
            description="Planned and installed a small exhibition with a team.",
            criteria_narrative="Curate one display case.",
            now=now,
        )
        achievements.set_image(db, slug="museum-east", actor=admin, achievement_id=badge.id, data=_badge_png(), now=now)
        return str(badge.id)


def _sign_in(page: Page, running: Running, username: str, password: str = PASSWORD, then: str = "/console/") -> None:
    page.goto(f"{running.url}/login?next={then}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _no_serious_violations(page: Page) -> None:
    assert serious_accessibility_violations(page) == []


def _token(running: Running, session_id: str) -> str:
    with running.session() as db:
        session = db.get(ClaimSession, uuid.UUID(session_id))
        assert session is not None
        return session_qr(session, config=running.app.extensions["wallet"].claims, now=running.clock.now).token


def test_a_youth_worker_runs_a_pin_session_while_a_learner_claims(server: Running, browser: Browser) -> None:
    _museum(server)
    worker = browser.new_context(viewport=DESKTOP)
    page = worker.new_page()
    _sign_in(page, server, "wes-worker")
    expect(page.locator("h1")).to_have_text("Museum East")
    _no_serious_violations(page)
    screenshot(page, "console-organisation")

    page.click("text=Start a claim session")
    expect(page.locator("#duration")).to_have_value("120")
    expect(page.locator("input[name=pin_on]")).to_be_checked()
    _no_serious_violations(page)
    screenshot(page, "console-session-form")
    page.fill("#venue", "Gallery 3")
    page.click("button:has-text('Start the session')")  # the only badge is chosen for you
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    session_id = page.url.rsplit("/", 1)[1]
    pin = page.locator(".pin").inner_text()
    assert re.fullmatch(r"[0-9]{4}", pin)

    with worker.expect_page() as opened:
        page.click("text=Open the projector display")
    display = opened.value
    display.wait_for_load_state()
    expect(display.locator(".display-fallback")).to_contain_text("/code")
    expect(display.locator(".display-where")).to_contain_text("Gallery 3")
    expect(display.locator("#pin")).to_have_text(pin)
    _no_serious_violations(display)
    screenshot(display, "console-display")

    phone = phone_context(browser)
    learner = phone.new_page()
    learner.goto(f"{server.url}/c/{_token(server, session_id)}")
    learner.fill("#si-username", "sam-learner")
    learner.fill("#si-password", PASSWORD)
    learner.click("form[action$='/sign-in'] button")
    learner.fill("#pin", pin)
    learner.click("text=Claim this badge")
    expect(learner.locator(".done h2")).to_have_text("It's yours!")

    expect(page.locator("#claimed")).to_have_text("1", timeout=10_000)  # no reload: the page polls
    expect(page.locator("#claims .name")).to_have_text(["Sam"])
    expect(display.locator("#claimed")).to_have_text("1", timeout=10_000)
    _no_serious_violations(page)
    screenshot(page, "console-live-session")

    page.click("button:has-text('Pause')")
    expect(display.locator("#display")).to_have_attribute("data-state", "paused", timeout=10_000)
    opacity = display.locator("#qr").evaluate("node => getComputedStyle(node).opacity")
    assert float(opacity) < 0.5
    expect(display.locator("#qr-cover")).to_contain_text("Paused")
    screenshot(display, "console-display-paused")
    page.click("button:has-text('Close')")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "closed")
    expect(display.locator("#qr-cover")).to_contain_text("closed", timeout=10_000)

    csv = page.request.get(f"{server.url}/console/sessions/{session_id}/claims.csv")
    assert csv.ok and "Sam," in csv.text()
    worker.close()
    phone.close()


def test_an_admin_invites_a_youth_worker_who_sets_a_password_and_runs_a_session(
    server: Running, browser: Browser
) -> None:
    _museum(server)
    admin = browser.new_context(viewport=DESKTOP)
    page = admin.new_page()
    _sign_in(page, server, "mia-admin")
    page.click("nav >> text=Members")
    _no_serious_violations(page)
    page.fill("#username", "noor-worker")
    page.fill("#display_name", "Noor")
    page.click("button:has-text('Invite')")
    password = page.locator("#invited-password").text_content() or ""
    screenshot(page, "console-invite")

    newcomer = browser.new_context(viewport=DESKTOP)
    noor = newcomer.new_page()
    _sign_in(noor, server, "noor-worker", password)
    expect(noor.locator("h1")).to_have_text("Choose your own password")
    _no_serious_violations(noor)
    noor.fill("#password", "noor's own secret")
    noor.fill("#password_again", "noor's own secret")
    noor.click("button:has-text('Save my password')")
    expect(noor.locator("h1")).to_have_text("Museum East")
    noor.click("text=Start a claim session")
    noor.click("button:has-text('Start the session')")
    expect(noor.locator("#live-state")).to_have_attribute("data-state", "open")

    again = browser.new_context().new_page()
    _sign_in(again, server, "noor-worker", password)
    expect(again.locator(".error")).to_contain_text("Wrong username or password")
    admin.close()
    newcomer.close()


def test_a_wrong_role_is_refused_clearly_on_every_console_page(server: Running, browser: Browser) -> None:
    badge = _museum(server)
    worker = browser.new_context(viewport=DESKTOP)
    wes = worker.new_page()
    _sign_in(wes, server, "wes-worker")
    wes.click("text=Start a claim session")
    wes.click("button:has-text('Start the session')")
    session_id = wes.url.rsplit("/", 1)[1]
    admin_pages = ["members", "awards", "issuer", "badges/new", f"badges/{badge}"]
    for path in admin_pages:
        response = wes.goto(f"{server.url}/console/orgs/museum-east/{path}")
        assert response is not None and response.status == 403, path
        expect(wes.locator("[role=alert]")).to_contain_text("admin role")
    _no_serious_violations(wes)
    screenshot(wes, "console-refused")
    response = wes.goto(f"{server.url}/console/operator")
    assert response is not None and response.status == 403

    outsider = browser.new_context(viewport=DESKTOP).new_page()
    _sign_in(outsider, server, "ola-other")
    member_pages = ["", "/sessions/new", *(f"/{p}" for p in admin_pages)]
    for path in [f"/console/orgs/museum-east{p}" for p in member_pages] + [
        f"/console/sessions/{session_id}",
        f"/console/sessions/{session_id}/display",
        f"/console/sessions/{session_id}/claims.csv",
    ]:
        response = outsider.goto(f"{server.url}{path}")
        assert response is not None and response.status == 404, path
        expect(outsider.locator("[role=alert]")).to_contain_text("not")
    worker.close()


def test_a_rotating_code_is_claimed_five_minutes_after_the_scan(server: Running, browser: Browser) -> None:
    _museum(server)
    worker = browser.new_context(viewport=DESKTOP)
    wes = worker.new_page()
    _sign_in(wes, server, "wes-worker")
    wes.click("text=Start a claim session")
    wes.check("input[value=rotating]")
    wes.uncheck("input[name=pin_on]")
    wes.click("button:has-text('Start the session')")
    session_id = wes.url.rsplit("/", 1)[1]

    phone = phone_context(browser)
    learner = phone.new_page()
    landing = f"{server.url}/c/{_token(server, session_id)}"
    learner.goto(landing)  # the scan
    server.clock.advance(minutes=3)
    learner.fill("#su-username", "late-lu")
    learner.fill("#su-name", "Lu")
    learner.fill("#su-password", "lu's long password")
    learner.click("form[action$='/sign-up'] button")
    learner.click("text=I have saved them — continue")  # sign-up shows the recovery codes first
    server.clock.advance(minutes=2)
    learner.click("text=Claim this badge")
    expect(learner.locator(".done h2")).to_have_text("It's yours!")
    _no_serious_violations(learner)

    stranger = phone_context(browser).new_page()  # the same code, forwarded as a photo
    stranger.goto(landing)
    stranger.fill("#su-username", "photo-friend")
    stranger.fill("#su-password", "friend's long password")
    stranger.click("form[action$='/sign-up'] button")
    stranger.click("text=I have saved them — continue")
    stranger.click("text=Claim this badge")
    expect(stranger.locator(".error")).to_contain_text("expired")
    with server.session() as db:
        assert db.scalar(select(ClaimSession.claimed).where(ClaimSession.id == uuid.UUID(session_id))) == 1
    worker.close()
    phone.close()
