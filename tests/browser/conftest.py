"""What the browser tests share: the app on a free port (committing for real, every table emptied
afterwards) and one Debian Chromium per test module (tests/browser/pages.py has the phone and axe-core)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine

from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from wallet.config import Settings


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    """The app on a free port, committing for real; every table is emptied afterwards."""
    with live_server(settings, engine, FakeClock()) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
