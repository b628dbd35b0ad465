"""Designing a learning pathway in the console on a phone (Chromium at 360 px, no script needed): an
admin imports the city's skills framework, aligns a badge to one of its skills and designs a pathway
with a partner organisation in three steps; axe-core finds no serious or critical violation on any of
these pages, nor on the operator's import page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.pages import phone_context, screenshot, serious_accessibility_violations
from tests.browser.test_console_pages import PASSWORD, _museum, _sign_in
from tests.live_server import Running
from wallet.accounts.passwords import make_hasher
from wallet.accounts.services import sign_up
from wallet.issuing import achievements
from wallet.models import Account, Pathway, Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.browser
FRAMEWORK_CSV = (
    "code,statement,parent\nCOM,Communication,\nCOM-1,Listens actively to others,COM\nCOM-2,Works well in a team,COM\n"
)


def _city(running: Running) -> None:
    """Museum East (mia admins it) and the Makerspace, whose admin (max) has two badges."""
    _museum(running)
    hasher = make_hasher("CHEAPEST")
    now = running.clock.now
    with running.app.extensions["wallet"].session_factory.begin() as db:
        for username in ("max-admin", "opal-operator"):
            sign_up(db, username=username, password=PASSWORD, display_name=username, email=None, hasher=hasher, now=now)
        organisations.add_member(db, slug="makerspace", actor=None, username="max-admin", role=Role.ADMIN, now=now)
        organisations.set_operator(db, username="opal-operator", is_operator=True)
        admin = db.scalar(select(Account.id).where(Account.username == "max-admin"))
        assert admin is not None
        for name in ("Soldering", "Coding Club"):
            achievements.create_achievement(
                db,
                slug="makerspace",
                actor=admin,
                name=name,
                description=f"{name} at the makerspace.",
                criteria_narrative="Take part.",
                now=now,
            )


def _accessible(page: Page) -> None:
    assert serious_accessibility_violations(page) == [], page.url


def _skill_value(page: Page, select: str, words: str) -> str:
    value = page.locator(f"{select} option", has_text=words).get_attribute("value")
    assert value
    return value


def test_an_admin_designs_a_two_organisation_pathway_on_a_phone(server: Running, browser: Browser) -> None:
    _city(server)
    phone = phone_context(browser)
    page = phone.new_page()
    _sign_in(page, server, "mia-admin")
    expect(page.locator("h1")).to_have_text("Museum East")

    page.click("nav >> text=Skills frameworks")
    _accessible(page)
    page.fill("#slug", "leeds")
    page.fill("#title", "Leeds Skills")
    page.fill("#text", FRAMEWORK_CSV)
    page.click("button:has-text('Import')")
    expect(page.locator(".done")).to_contain_text("version 1 imported")
    expect(page.locator(".done")).to_contain_text("3 items")
    _accessible(page)

    page.click("nav >> text=Museum East")
    page.click("text=Edit")
    page.select_option("#skill", _skill_value(page, "#skill", "Works well in a team"))
    page.click("button:has-text('Align to this skill')")
    expect(page.locator("#skills .list")).to_contain_text("Works well in a team")
    _accessible(page)

    page.click("nav >> text=Pathways")
    _accessible(page)
    page.click("text=New pathway")
    _accessible(page)
    page.fill("#name", "Museum to Makerspace")
    page.fill("#description", "Curate, then build and code.")
    page.locator("label.choice", has_text="Makerspace").locator("input[name=partners]").check()
    page.select_option("#step_badge", label="Young Curator")
    page.click("button:has-text('Create the pathway')")
    expect(page.locator("h1")).to_have_text("Museum to Makerspace")

    page.check("input[name=step_kind][value=any_of]")
    page.click("button:has-text('Add the step')")  # nothing ticked: told why, next to the field
    expect(page.locator("#step_any_of-error")).to_contain_text("tick at least one badge")
    _accessible(page)
    page.check("input[name=step_kind][value=any_of]")
    page.fill("#step_n", "1")
    for name in ("Soldering", "Coding Club"):
        page.locator("label.choice", has_text=name).locator("input[name=step_any_of]").check()
    page.click("button:has-text('Add the step')")
    expect(page.locator(".pathway-steps > li")).to_have_count(2)
    page.check("input[name=step_kind][value=skill]")
    page.select_option("#step_skill", _skill_value(page, "#step_skill", "Works well in a team"))
    page.click("button:has-text('Add the step')")
    expect(page.locator(".pathway-steps > li")).to_have_count(3)
    expect(page.locator(".pathway-steps")).to_contain_text("Any 1 of these 2 badges")
    expect(page.locator(".pathway-steps")).to_contain_text("Works well in a team")
    _accessible(page)
    screenshot(page, "console-pathway")

    with server.session() as db:
        pathway = db.scalars(select(Pathway)).one()
        assert [step["kind"] for step in pathway.steps] == ["badge", "any_of", "skill"]
        assert len(pathway.partners) == 1

    partner = phone_context(browser).new_page()  # the Makerspace's admin sees it in their own console
    _sign_in(partner, server, "max-admin")
    partner.click("nav >> text=Pathways")
    partner.click("text=Museum to Makerspace")
    expect(partner.locator("#details .notice")).to_contain_text("Museum East owns this pathway")
    _accessible(partner)

    operator = phone_context(browser).new_page()
    _sign_in(operator, server, "opal-operator")
    operator.click("text=Create an organisation")
    operator.click("text=Import a skills framework")
    expect(operator.locator("h1")).to_have_text("Skills frameworks")
    operator.fill("#slug", "leeds")
    operator.fill("#text", "{not json")
    operator.click("button:has-text('Import')")
    expect(operator.locator("#file-error")).to_contain_text("file is not JSON text")
    _accessible(operator)
    phone.close()
