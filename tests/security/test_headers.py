"""Security headers: a strict CSP on HTML (so /docs runs no inline script), framing refused, HSTS behind TLS."""

from __future__ import annotations

import re
import shutil
import threading

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from wallet.app import CONTENT_SECURITY_POLICY


def test_html_pages_get_a_content_security_policy_without_inline_script(client: FlaskClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_the_docs_page_has_no_inline_script_and_loads_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts, "the page must still load Swagger UI"
    assert all(body.strip() == "" and 'src="/' in attributes for attributes, body in scripts)
    assert "://" not in page, "nothing may load from another origin"
    for source in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert client.get(source).status_code == 200, source


def test_the_docs_initializer_reads_its_settings_from_the_page(client: FlaskClient) -> None:
    script = client.get("/docs-static/docs-init.js")
    page = client.get("/docs").get_data(as_text=True)

    assert script.status_code == 200
    assert "javascript" in script.mimetype
    assert 'data-spec-url="/openapi.json"' in page
    assert "SwaggerUIBundle" in script.get_data(as_text=True)


def test_json_responses_do_not_carry_the_html_policy_but_do_forbid_sniffing_and_framing(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_api_responses_are_never_cached(client: FlaskClient) -> None:
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"


def test_hsts_only_over_tls(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/healthz").headers

    secure = client.get("/healthz", base_url="https://wallet.test")

    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_docs_render_in_a_real_browser_with_no_policy_violation(app: Flask) -> None:
    """Headless Chromium enforces the CSP: Swagger UI must still draw the API's operations."""
    from playwright.sync_api import sync_playwright

    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
            )
            page.goto(f"http://127.0.0.1:{server.server_port}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=15_000)
            title = page.inner_text(".info .title")
            browser.close()
    finally:
        server.shutdown()
        thread.join()

    assert "Learner Wallet API" in title
    assert violations == []
