"""The badge request pages: a learner asks for a badge in the browser with a photo, a youth worker reads
the evidence in the console and approves; the pages show only what each may see."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient

from tests.requests.conftest import png_bytes


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _browser_sign_in(client: FlaskClient, who: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": _csrf(page), "username": who.username, "password": who.password}
    )
    assert response.status_code == 303


def test_a_learner_asks_in_the_browser_and_a_youth_worker_approves_in_the_console(
    app: Any, sign_up: Any, requestable: Any
) -> None:
    org = requestable()
    learner, worker = sign_up("sam-web"), org["worker"]
    browser = app.test_client()
    assert browser.get("/wallet/requests").status_code == 303  # to the sign-in page
    _browser_sign_in(browser, learner)

    choose = browser.get("/wallet/requests/new").get_data(as_text=True)
    assert "Repair café helper" in choose
    form_path = f"/wallet/requests/new?achievement={org['achievement_id']}"
    form = browser.get(form_path).get_data(as_text=True)
    assert "A photo of something you fixed." in form and "the name of a youth worker who saw it" in form
    sent = browser.post(
        form_path,
        data={
            "csrf_token": _csrf(form),
            "narrative": "Fixed the café's kettle.",
            "links": "https://blog.example/kettle\n",
            "witness": "Alex",
            "files": (io.BytesIO(png_bytes()), "kettle.png"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)
    request_page = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Waiting for a reviewer" in request_page and "kettle.png" in request_page
    file_path = re.search(r'src="(/wallet/requests/[^"]+/files/[^"]+)"', request_page).group(1)
    photo = browser.get(file_path)
    assert photo.status_code == 200 and photo.data[:4] == b"\x89PNG"
    assert "sandbox" in photo.headers["Content-Security-Policy"]

    console = app.test_client()
    _browser_sign_in(console, worker)
    queue = console.get(f"/console/orgs/{org['slug']}/requests").get_data(as_text=True)
    assert "sam-web" in queue and "To review" in queue
    review_path = re.search(r'href="(/console/orgs/[^"]+/requests/[0-9a-f-]{36})"', queue).group(1)
    review = console.get(review_path).get_data(as_text=True)
    assert "Fixed the café&#39;s kettle." in review and "kettle.png" in review
    approved = console.post(f"{review_path}/approve", data={"csrf_token": _csrf(review), "comment": "Great"})
    assert approved.status_code == 303
    assert "Approved" in console.get(review_path).get_data(as_text=True)

    assert "Approved — the badge is in your wallet" in browser.get("/wallet/requests").get_data(as_text=True)
    # The learner cannot open the console's view; the reviewer cannot open the learner's.
    assert browser.get(review_path).status_code == 404
    assert console.get(sent.headers["Location"]).status_code == 404
    assert console.get(file_path).status_code == 404


def test_a_refused_file_keeps_nothing_and_keeps_what_was_typed(app: Any, sign_up: Any, requestable: Any) -> None:
    org = requestable()
    learner = sign_up()
    browser = app.test_client()
    _browser_sign_in(browser, learner)
    form_path = f"/wallet/requests/new?achievement={org['achievement_id']}"
    form = browser.get(form_path).get_data(as_text=True)

    refused = browser.post(
        form_path,
        data={
            "csrf_token": _csrf(form),
            "narrative": "Painted the mural.",
            "files": (io.BytesIO(b"<svg><script>alert(1)</script></svg>"), "mural.svg"),
        },
        content_type="multipart/form-data",
    )

    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "couldn" in html and "Painted the mural." in html
    assert "You haven't asked for any badges yet." in browser.get("/wallet/requests").get_data(as_text=True)


def test_a_form_without_its_csrf_token_changes_nothing(app: Any, sign_up: Any, requestable: Any, ask: Any) -> None:
    org = requestable()
    learner = sign_up()
    made = ask(learner, org["achievement_id"])
    browser = app.test_client()
    _browser_sign_in(browser, learner)

    forged = browser.post(f"/wallet/requests/{made['id']}/withdraw", data={})

    assert forged.status_code == 400
    assert "Waiting for a reviewer" in browser.get(f"/wallet/requests/{made['id']}").get_data(as_text=True)
