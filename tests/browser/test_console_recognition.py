"""Recognition in a real browser at 360 px (Debian's Chromium on a real server): an admin lets learners ask
for a badge, another organisation's admin endorses it, and the learner sees the endorsement, checked, on
their own badge page. axe-core finds no serious or critical violation on any of the new pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.pages import (
    SCREENSHOTS,
    phone_context,
    screenshot,
    serious_accessibility_violations,
)
from tests.live_server import Running
from wallet.accounts.passwords import make_hasher
from wallet.accounts.services import sign_up
from wallet.issuing import achievements, credentials
from wallet.models import Account, HeldCredential, Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _two_organisations(running: Running) -> str:
    """Makerspace North (admin ada) with a badge awarded to lee; City College (admin cal). The badge's id."""
    hasher = make_hasher("CHEAPEST")
    now = running.clock.now
    state = running.app.extensions["wallet"]
    with state.session_factory.begin() as db:
        for username, name in (("ada-admin", "Ada"), ("cal-admin", "Cal"), ("lee-learner", "Lee")):
            sign_up(db, username=username, password=PASSWORD, display_name=name, email=None, hasher=hasher, now=now)
        for slug, name, admin in (
            ("makerspace-north", "Makerspace North", "ada-admin"),
            ("city-college", "City College", "cal-admin"),
        ):
            organisations.create_organisation(db, slug=slug, name=name, now=now)
            organisations.add_member(db, slug=slug, actor=None, username=admin, role=Role.ADMIN, now=now)
        ada = db.scalar(select(Account.id).where(Account.username == "ada-admin"))
        assert ada is not None
        badge = achievements.create_achievement(
            db,
            slug="makerspace-north",
            actor=ada,
            name="Soldering basics",
            description="Soldered a blinking LED kit safely.",
            criteria_narrative="Finish the kit.",
            now=now,
        )
        credentials.award(
            db,
            slug="makerspace-north",
            actor=ada,
            achievement_id=badge.id,
            username="lee-learner",
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=now,
        )
        return str(badge.id)


def _sign_in(page: Page, running: Running, username: str, then: str) -> None:
    page.goto(f"{running.url}/login?next={then}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def _accessible(page: Page) -> None:
    assert serious_accessibility_violations(page) == [], page.url


def test_requests_and_endorsements_from_the_console_reach_the_learner_at_360_px(
    server: Running, browser: Browser
) -> None:
    badge_id = _two_organisations(server)

    ada = phone_context(browser).new_page()
    _sign_in(ada, server, "ada-admin", f"/console/orgs/makerspace-north/badges/{badge_id}")
    expect(ada.locator("h1")).to_have_text("Edit Soldering basics")
    ada.click("text=Badge requests: let learners ask for this badge with evidence")
    expect(ada.locator("#requestable-state")).to_contain_text("cannot ask")
    _accessible(ada)
    ada.fill("#guidance", "A photo of a joint you soldered, and who saw you do it.")
    ada.check("input[name=evidence][value=files]")
    ada.check("input[name=evidence][value=witness]")
    ada.check("input[name=reviewer_role][value=youth_worker]")
    ada.click("button:has-text('Let learners ask for it')")
    expect(ada.locator(".notice[role=status]")).to_contain_text("Saved")
    expect(ada.locator("#requestable-state")).to_contain_text("can ask for this badge now")
    _accessible(ada)
    screenshot(ada, "console-requestable")

    cal = phone_context(browser).new_page()
    _sign_in(cal, server, "cal-admin", "/console/orgs/city-college")
    cal.click("a:has-text('Endorsements')")
    expect(cal.locator("h1")).to_have_text("Endorsements")
    _accessible(cal)
    cal.click("text=Endorse a badge or an organisation")
    expect(cal.locator("h1")).to_have_text("What do you endorse?")
    _accessible(cal)
    cal.click("text=Endorse the badge Soldering basics")
    expect(cal.locator("h1")).to_have_text("Endorse Soldering basics")
    _accessible(cal)
    cal.fill("#comment", "We accept this for credit on our electronics course.")
    cal.click("button:has-text('Sign the endorsement')")
    expect(cal.locator(".notice[role=status]")).to_contain_text("City College now endorses Soldering basics")
    expect(cal.locator("#endorsements")).to_contain_text("We accept this for credit")
    _accessible(cal)
    screenshot(cal, "console-endorsements")

    with server.session() as db:
        held = db.scalar(select(HeldCredential.id))
    lee = phone_context(browser).new_page()
    _sign_in(lee, server, "lee-learner", f"/wallet/badges/{held}")
    section = lee.locator("#endorsements")
    expect(section).to_contain_text("Checked: City College signed this endorsement of this badge.")
    expect(section).to_contain_text("We accept this for credit on our electronics course.")
    _accessible(lee)
    section.screenshot(path=str(SCREENSHOTS / "app-badge-endorsed.png"))
    lee.goto(f"{server.url}/wallet/requests/new")
    expect(lee.locator("main")).to_contain_text("Soldering basics")
