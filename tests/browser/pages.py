"""What every browser test of our pages shares: Debian's Chromium, a phone-sized context, axe-core.

axe-core (Deque's accessibility engine, pinned in tests/interop/package-lock.json) is injected from
node_modules, never fetched: the pages under test must not reach another origin, and neither does the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
AXE = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def phone_context(browser: Browser, **options: Any) -> BrowserContext:
    """A context the size of a cheap phone (360 by 740, touch), as our learners hold it."""
    return browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, **options)


def serious_accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (an empty list is a pass)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run npm ci --prefix tests/interop (scripts/test does)")
    # Evaluated through the DevTools protocol, not as a <script>: the page's strict CSP stays in force.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str) -> None:
    """A full-page picture for docs/screenshots/ (written by the test run, committed when it changes)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
