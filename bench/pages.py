"""The learner web app's pages on a cheap phone's network: weight over the wire and time to first render.

Why: our learners open the wallet on cheap phones at venues with poor signal; issue #12 sets a budget of
50 KB per page before badge images. This measures each page of the app in Debian's Chromium (Playwright) at
360x740, with Chromium's own network throttling (DevTools protocol ``Network.emulateNetworkConditions``)
set to the DevTools "Slow 3G" and "Fast 3G" profiles, and compares, in one run:

* **first visit** — a fresh browser, nothing cached (no service worker yet);
* **repeat visit** — the same browser after one visit, with the service worker installed (the app's script,
  style and icons come from its cache; the page itself is still fetched first, network-first).

Columns: bytes of the page and everything it loads except images (the budget), images, requests, and the
median first-contentful-paint (``performance.getEntriesByType('paint')``) of ``--runs`` loads per profile.
The badge list and share pages (``/wallet``, ``/wallet/shares``) are measured when this checkout has them.

Run: ``.venv/bin/python bench/pages.py [--runs 3]``. A scratch SQLite database in a temporary folder, the
app on a free port of 127.0.0.1 (werkzeug, threaded); nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS, PHONE
from wallet.app import create_app
from wallet.config import Settings
from wallet.issuing import achievements
from wallet.migrate import upgrade
from wallet.models import Role
from wallet.organisations import services as organisations

PASSWORD = "correct horse battery"
# Chrome DevTools' presets (front_end/core/sdk/NetworkManager.ts): bytes per second, latency in ms.
PROFILES = {
    "Slow 3G": {"latency": 2000, "downloadThroughput": 500 * 1000 / 8 * 0.8, "uploadThroughput": 500 * 1000 / 8 * 0.8},
    "Fast 3G": {
        "latency": 562.5,
        "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
        "uploadThroughput": 750 * 1000 / 8 * 0.9,
    },
}
PAGES = [
    "/",
    "/signup",
    "/login",
    "/reset",
    "/code",
    "/account",
    "/wallet/add",
    "/app/offline",
    "/wallet",
    "/wallet/shares",
]


def _serve(folder: Path) -> tuple[Flask, str, Any]:
    probe = make_server("127.0.0.1", 0, Flask("probe"))
    port = probe.server_port
    probe.server_close()
    url = f"sqlite:///{folder / 'wallet.sqlite3'}"
    upgrade(url)
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=url,
        instance_path=str(folder),
        base_url=base,
        password_hash_profile="CHEAPEST",
        log_json=False,
        log_level="ERROR",
        run_scheduler=False,
    )
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, base, server


def _seed(app: Flask) -> None:
    """A learner, and an organisation whose badge (with its image) the learner claimed."""
    client = app.test_client()
    admin = client.post(
        "/api/v1/accounts", json={"username": "bench-admin", "password": PASSWORD, "device": {"name": "pc"}}
    ).json
    learner = client.post(
        "/api/v1/accounts", json={"username": "bench-learner", "password": PASSWORD, "device": {"name": "phone"}}
    ).json
    now = dt.datetime.now(dt.UTC)
    with app.extensions["wallet"].session_factory.begin() as db:
        organisations.create_organisation(db, slug="bench-org", name="Bench Makerspace", now=now)
        organisations.add_member(db, slug="bench-org", actor=None, username="bench-admin", role=Role.ADMIN, now=now)
        achievement = achievements.create_achievement(
            db,
            slug="bench-org",
            actor=uuid.UUID(admin["account_id"]),
            name="Soldering Basics",
            description="Soldered a blinking LED kit safely.",
            criteria_narrative="Finish the kit.",
            now=now,
        )
        achievement_id = str(achievement.id)
    headers = {"Authorization": f"Bearer {admin['access_token']}"}
    opened = client.post(
        "/api/v1/organisations/bench-org/claim-sessions",
        headers=headers,
        json={
            "achievement_id": achievement_id,
            "title": "Bench",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=3)).isoformat(),
            "cap": 30,
        },
    ).json
    qr = client.get(f"/api/v1/claim-sessions/{opened['id']}/qr", headers=headers).json
    client.post(
        "/api/v1/claims/redeem",
        headers={"Authorization": f"Bearer {learner['access_token']}"},
        json={"code": qr["url"]},
    )


def _signed_in_state(browser: Browser, base: str) -> dict[str, Any]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "bench-learner")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    state = context.storage_state()
    context.close()
    return state


def _load(page: Any, url: str) -> tuple[int, int, int, float | None]:
    """(bytes without images, image bytes, requests, first contentful paint in ms) for one load."""
    sizes: dict[str, tuple[str, int]] = {}

    def count(response: Any) -> None:
        try:
            size = len(response.body())
        except Exception:
            size = 0
        sizes[response.url] = (response.request.resource_type, size)

    page.on("response", count)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", count)
    fcp = page.evaluate(
        "(performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint') || {}).startTime ?? null"
    )
    images = sum(size for kind, size in sizes.values() if kind == "image")
    other = sum(size for kind, size in sizes.values() if kind != "image")
    return other, images, len(sizes), fcp


def _measure(browser: Browser, base: str, path: str, state: dict[str, Any], runs: int) -> dict[str, Any] | None:
    row: dict[str, Any] = {"page": path}
    for profile, conditions in PROFILES.items():
        first, repeat = [], []
        for _ in range(runs):
            context = browser.new_context(viewport=PHONE, storage_state=state)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, **conditions})
            response = page.request.get(f"{base}{path}", max_redirects=0)
            if response.status != 200:
                context.close()
                return None
            other, images, requests, fcp = _load(page, f"{base}{path}")
            row.update(bytes=other, images=images, requests=requests)
            first.append(fcp or 0.0)
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.goto(f"{base}/app/offline")  # let the worker take control, then come back
            _, _, _, fcp = _load(page, f"{base}{path}")
            repeat.append(fcp or 0.0)
            context.close()
        row[f"{profile} first"] = statistics.median(first)
        row[f"{profile} repeat"] = statistics.median(repeat)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="loads per page and profile (median reported)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pages-bench-"))
    app, base, server = _serve(folder)
    try:
        _seed(app)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            state = _signed_in_state(browser, base)
            rows = [row for path in PAGES if (row := _measure(browser, base, path, state, args.runs))]
            browser.close()
    finally:
        server.shutdown()
    columns = [f"{p} {v}" for p in PROFILES for v in ("first", "repeat")]
    print(f"Pages of the learner app at 360x740, Chromium {CHROMIUM}, median of {args.runs} loads; FCP in ms")
    print("| page | KB (no images) | image KB | requests | " + " | ".join(f"FCP {c}" for c in columns) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(columns))
    for row in rows:
        cells = [f"{row['bytes'] / 1024:.1f}", f"{row['images'] / 1024:.1f}", str(row["requests"])]
        cells += [f"{row[c]:.0f}" for c in columns]
        print(f"| `{row['page']}` | " + " | ".join(cells) + " |")
    over = [row["page"] for row in rows if row["bytes"] >= 50 * 1024]
    print("Budget (50 KB before images):", "every page within it" if not over else f"over: {', '.join(over)}")


if __name__ == "__main__":
    main()
