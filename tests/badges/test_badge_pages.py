"""The learner's badge pages through a browser's eyes (Flask's test client): what each page shows, what
each form changes, and that nobody but the owner reaches any of it."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from flask import Flask

from tests.badges.conftest import Browser, csrf_of
from wallet.changelog.edits import wallet_view
from wallet.credentials.baking import OB3_PNG_KEYWORD, unbake_png, unbake_svg
from wallet.models import ShareLink


def _cred_of(db: Any, held_id: uuid.UUID) -> str:
    from wallet.models import HeldCredential

    return db.get(HeldCredential, held_id).content_hash


def _entry(db: Any, account_id: str, cred: str) -> dict[str, Any]:
    view = wallet_view(db, account_id=uuid.UUID(account_id))
    return next(item for item in view["credentials"] if item["cred"] == cred)


def test_my_badges_shows_each_badge_with_its_issuer_date_and_last_check(holder: Any) -> None:
    awarded, browser = holder
    html = browser.html("/wallet")
    assert "Welding 101" in html
    assert "Makerspace North · 23 November 2026" in html
    assert "Not checked yet" in html  # awarded here, never verified: the list says no more than that
    assert f'href="/wallet/badges/{awarded.held_id}"' in html
    browser.html(f"/wallet/badges/{awarded.held_id}")  # opening the badge checks it, and the check is kept
    assert "Checks passed" in browser.html("/wallet")


def test_a_browser_that_is_not_signed_in_is_sent_to_sign_in_and_back(client: Any) -> None:
    response = client.get("/wallet?q=weld")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=/wallet")


def test_the_badge_page_shows_what_the_credential_says_and_the_verdict(holder: Any) -> None:
    awarded, browser = holder
    html = browser.html(f"/wallet/badges/{awarded.held_id}")
    assert "Completed 40 hours of supervised MIG welding." in html
    assert "Pass the practical assessment." in html
    assert "MIG welding" in html and "ESCO" in html
    assert "Genuine: issued by Makerspace North to Sam Rivera on 23 November 2026." in html
    assert "Last checked" in html


def test_search_and_filters_narrow_the_list_and_pins_come_first(award_badge: Any, browser_for: Any, db: Any) -> None:
    first = award_badge(name="Welding 101")
    second = award_badge(first.learner, name="First Aid", org_slug="red-cross-east")
    browser: Browser = browser_for(first.learner)
    html = browser.html("/wallet")
    assert html.index("First Aid") < html.index("Welding 101") or html.index("Welding 101") < html.index("First Aid")

    browser.post(f"/wallet/badges/{first.held_id}/pin", {"pinned": "1"})
    html = browser.html("/wallet")
    assert html.index("Welding 101") < html.index("First Aid")  # pinned first

    browser.post(f"/wallet/badges/{second.held_id}/tags", {"tag": "  Health  "})
    assert "First Aid" in browser.html("/wallet?tag=health")
    assert "Welding 101" not in browser.html("/wallet?tag=health").split('id="badges"')[1]
    assert "First Aid" not in browser.html("/wallet?pinned=1").split('id="badges"')[1]
    assert "Welding 101" in browser.html("/wallet?q=weld").split('id="badges"')[1]
    assert "First Aid" not in browser.html("/wallet?q=weld").split('id="badges"')[1]
    by_issuer = browser.html("/wallet?issuer=Red+Cross+East").split('id="badges"')[1]
    assert "First Aid" in by_issuer and "Welding 101" not in by_issuer
    nothing = browser.html("/wallet?q=astronomy")
    assert "0 of 2 badges match." in nothing


def test_pin_note_and_tags_are_written_to_the_synced_wallet(holder: Any, db: Any) -> None:
    awarded, browser = holder
    cred = _cred_of(db, awarded.held_id)
    assert browser.post(f"/wallet/badges/{awarded.held_id}/pin", {"pinned": "1"}).status_code == 303
    browser.post(f"/wallet/badges/{awarded.held_id}/note", {"note": "Show this at the garage interview"})
    browser.post(f"/wallet/badges/{awarded.held_id}/tags", {"tag": "Metalwork"})
    browser.post(f"/wallet/badges/{awarded.held_id}/tags", {"tag": "CV"})
    browser.post(f"/wallet/badges/{awarded.held_id}/tags/remove", {"tag": "cv"})
    entry = _entry(db, awarded.learner.account_id, cred)
    assert entry["pinned"] is True
    assert entry["note"] == "Show this at the garage interview"
    assert entry["tags"] == ["metalwork"]
    html = browser.html(f"/wallet/badges/{awarded.held_id}")
    assert "Show this at the garage interview" in html and "metalwork" in html and "Unpin" in html


def test_collections_are_created_filled_reordered_renamed_and_deleted(
    award_badge: Any, browser_for: Any, db: Any
) -> None:
    first = award_badge(name="Welding 101")
    second = award_badge(first.learner, name="First Aid")
    browser: Browser = browser_for(first.learner)
    created = browser.post("/wallet/collections", {"name": "  Job   applications "})
    assert created.status_code == 303
    coll = created.headers["Location"].rsplit("/", 1)[1]
    browser.post(f"/wallet/collections/{coll}/members", {"badge": str(first.held_id)})
    browser.post(f"/wallet/badges/{second.held_id}/collections", {"coll": coll})
    view = wallet_view(db, account_id=uuid.UUID(first.learner.account_id))
    assert view["collections"][0]["name"] == "Job applications"
    assert view["collections"][0]["members"] == [_cred_of(db, first.held_id), _cred_of(db, second.held_id)]

    browser.post(f"/wallet/collections/{coll}/members/{second.held_id}/move", {"direction": "up"})
    members = wallet_view(db, account_id=uuid.UUID(first.learner.account_id))["collections"][0]["members"]
    assert members == [_cred_of(db, second.held_id), _cred_of(db, first.held_id)]
    page = browser.html(f"/wallet/collections/{coll}")
    assert page.index("First Aid") < page.index("Welding 101")

    other = browser.post("/wallet/collections", {"name": "Sports"}).headers["Location"].rsplit("/", 1)[1]
    browser.post(f"/wallet/collections/{other}/move", {"direction": "up"})
    names = [c["name"] for c in wallet_view(db, account_id=uuid.UUID(first.learner.account_id))["collections"]]
    assert names == ["Sports", "Job applications"]

    browser.post(f"/wallet/collections/{coll}/rename", {"name": "For employers"})
    browser.post(f"/wallet/collections/{coll}/members/{first.held_id}/remove")
    found = next(
        c for c in wallet_view(db, account_id=uuid.UUID(first.learner.account_id))["collections"] if c["coll"] == coll
    )
    assert found["name"] == "For employers" and found["members"] == [_cred_of(db, second.held_id)]
    assert "For employers" in browser.html(f"/wallet?collection={coll}")

    assert "Yes, delete the collection" in browser.html(f"/wallet/collections/{coll}/delete")
    browser.post(f"/wallet/collections/{coll}/delete")
    assert [c["name"] for c in wallet_view(db, account_id=uuid.UUID(first.learner.account_id))["collections"]] == [
        "Sports"
    ]
    assert browser.get(f"/wallet/collections/{coll}").status_code == 404
    assert "First Aid" in browser.html("/wallet")  # its badges stay


def test_downloads_are_the_credential_as_issued_and_baked_images(holder: Any, db: Any) -> None:
    from wallet.models import HeldCredential

    awarded, browser = holder
    raw = db.get(HeldCredential, awarded.held_id).raw
    as_issued = browser.get(f"/wallet/badges/{awarded.held_id}/download/json")
    assert as_issued.status_code == 200 and as_issued.data == raw
    assert "attachment" in as_issued.headers["Content-Disposition"]
    png = browser.get(f"/wallet/badges/{awarded.held_id}/download/png")
    assert png.mimetype == "image/png"
    assert json.loads(unbake_png(png.data, keyword=OB3_PNG_KEYWORD)) == json.loads(raw)
    svg = browser.get(f"/wallet/badges/{awarded.held_id}/download/svg")
    assert svg.mimetype == "image/svg+xml" and json.loads(unbake_svg(svg.data)) == json.loads(raw)
    assert browser.get(f"/wallet/badges/{awarded.held_id}/download/exe").status_code == 404
    image = browser.get(f"/wallet/badges/{awarded.held_id}/image")
    assert image.status_code == 200 and image.mimetype.startswith("image/")


def test_deleting_asks_first_then_removes_the_badge_everywhere(holder: Any, db: Any) -> None:
    awarded, browser = holder
    cred = _cred_of(db, awarded.held_id)
    confirm = browser.html(f"/wallet/badges/{awarded.held_id}/delete")
    assert "Yes, delete it" in confirm and "all your devices" in confirm
    assert browser.get(f"/wallet/badges/{awarded.held_id}").status_code == 200  # asking deleted nothing
    done = browser.post(f"/wallet/badges/{awarded.held_id}/delete")
    assert done.status_code == 303 and done.headers["Location"] == "/wallet"
    assert "was deleted from your wallet" in browser.html("/wallet")
    assert browser.get(f"/wallet/badges/{awarded.held_id}").status_code == 404
    assert all(
        item["cred"] != cred
        for item in wallet_view(db, account_id=uuid.UUID(awarded.learner.account_id))["credentials"]
    )


def test_a_share_link_is_made_shown_counted_and_revoked(holder: Any, client: Any, db: Any) -> None:
    awarded, browser = holder
    made = browser.post(
        "/wallet/shares",
        {"kind": "badge", "target": str(awarded.held_id), "label": "Garage job", "expires_in_days": "30"},
    )
    assert made.status_code == 303
    share_path = made.headers["Location"]
    page = browser.html(share_path)
    link = db.query(ShareLink).one()
    url = f"https://wallet.test/s/{link.slug}"
    assert f'value="{url}"' in page  # readable and selectable without script
    assert 'id="copy"' in page and "hidden" in page.split('id="copy"')[1][:80]  # the script unhides it
    assert 'id="linkedin"' in page and "linkedin.com" in page
    assert 'id="qr"' in page
    assert link.label == "Garage job" and link.expires_at is not None
    qr = browser.get(f"{share_path}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"

    assert client.get(f"/s/{link.slug}").status_code == 200  # an employer opens it
    assert 'id="views">1' in browser.html(share_path)
    assert "Garage job" in browser.html("/wallet/shares")
    assert "Garage job" in browser.html(f"/wallet/badges/{awarded.held_id}")

    assert browser.post(f"{share_path}/revoke").status_code == 303
    assert "This link is turned off" in browser.html(share_path)
    assert client.get(f"/s/{link.slug}").status_code == 410


def test_a_collection_is_shared_with_one_link(holder: Any, client: Any, db: Any) -> None:
    awarded, browser = holder
    coll = browser.post("/wallet/collections", {"name": "Portfolio"}).headers["Location"].rsplit("/", 1)[1]
    browser.post(f"/wallet/collections/{coll}/members", {"badge": str(awarded.held_id)})
    made = browser.post("/wallet/shares", {"kind": "collection", "target": coll, "expires_in_days": ""})
    assert made.status_code == 303
    link = db.query(ShareLink).one()
    assert link.expires_at is None
    page = client.get(f"/s/{link.slug}").get_data(as_text=True)
    assert "Portfolio" in page and "Welding 101" in page
    assert 'id="linkedin"' not in browser.html(made.headers["Location"])  # LinkedIn takes one badge


def test_add_to_linkedin_on_the_owners_share_page_fills_in_the_certification(holder: Any, db: Any) -> None:
    from urllib.parse import parse_qs, urlsplit

    awarded, browser = holder
    made = browser.post("/wallet/shares", {"kind": "badge", "target": str(awarded.held_id)})
    html = browser.html(made.headers["Location"])
    href = re.search(r'id="linkedin" href="([^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    url = urlsplit(href)
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    params = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert params["startTask"] == "CERTIFICATION_NAME"
    assert (params["name"], params["organizationName"]) == ("Welding 101", "Makerspace North")
    assert (params["issueYear"], params["issueMonth"]) == ("2026", "11")
    assert params["certUrl"] == f"https://wallet.test/s/{db.query(ShareLink).one().slug}"
    assert params["certId"].startswith("urn:uuid:")


def test_the_employers_share_page_no_longer_offers_add_to_linkedin(holder: Any, client: Any, db: Any) -> None:
    awarded, browser = holder
    browser.post("/wallet/shares", {"kind": "badge", "target": str(awarded.held_id)})
    link = db.query(ShareLink).one()
    page = client.get(f"/s/{link.slug}").get_data(as_text=True)
    assert "Genuine" in page
    assert "linkedin" not in page.lower()


def test_pages_carry_a_strict_policy_and_load_nothing_from_elsewhere(holder: Any) -> None:
    awarded, browser = holder
    for path in ("/wallet", f"/wallet/badges/{awarded.held_id}", "/wallet/collections", "/wallet/shares"):
        response = browser.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        html = response.get_data(as_text=True)
        for attribute in ('src="http', 'src="//', 'href="//'):
            assert attribute not in html
        assert len(response.data) < 50_000


# --- authorisation: owner, another learner, nobody ------------------------------------------------


def _routes(held_id: uuid.UUID, coll: str, share_id: uuid.UUID) -> list[tuple[str, str, dict[str, str]]]:
    badge = f"/wallet/badges/{held_id}"
    return [
        ("GET", badge, {}),
        ("GET", f"{badge}/image", {}),
        ("GET", f"{badge}/download/json", {}),
        ("GET", f"{badge}/delete", {}),
        ("POST", f"{badge}/pin", {"pinned": "1"}),
        ("POST", f"{badge}/note", {"note": "mine"}),
        ("POST", f"{badge}/tags", {"tag": "x"}),
        ("POST", f"{badge}/tags/remove", {"tag": "x"}),
        ("POST", f"{badge}/collections", {"coll": coll}),
        ("GET", f"/wallet/collections/{coll}", {}),
        ("GET", f"/wallet/collections/{coll}/delete", {}),
        ("POST", f"/wallet/collections/{coll}/rename", {"name": "Taken"}),
        ("POST", f"/wallet/collections/{coll}/move", {"direction": "down"}),
        ("POST", f"/wallet/collections/{coll}/members", {"badge": str(held_id)}),
        ("POST", f"/wallet/collections/{coll}/members/{held_id}/move", {"direction": "down"}),
        ("POST", f"/wallet/collections/{coll}/members/{held_id}/remove", {}),
        ("POST", "/wallet/shares", {"kind": "badge", "target": str(held_id)}),
        ("POST", "/wallet/shares", {"kind": "collection", "target": coll}),
        ("GET", f"/wallet/shares/{share_id}", {}),
        ("GET", f"/wallet/shares/{share_id}/qr.svg", {}),
        ("POST", f"/wallet/shares/{share_id}/revoke", {}),
        ("POST", f"/wallet/collections/{coll}/delete", {}),
        ("POST", f"{badge}/delete", {}),
    ]


@pytest.fixture
def owned(holder: Any, db: Any) -> tuple[Any, Browser, str, uuid.UUID]:
    awarded, browser = holder
    coll = browser.post("/wallet/collections", {"name": "Mine"}).headers["Location"].rsplit("/", 1)[1]
    browser.post(f"/wallet/collections/{coll}/members", {"badge": str(awarded.held_id)})
    browser.post("/wallet/shares", {"kind": "badge", "target": str(awarded.held_id)})
    share_id = db.query(ShareLink).one().id
    return awarded, browser, coll, share_id


def test_another_learner_gets_404_on_every_page_and_form_and_changes_nothing(
    owned: Any, sign_up: Any, browser_for: Any, db: Any
) -> None:
    awarded, _owner, coll, share_id = owned
    before = wallet_view(db, account_id=uuid.UUID(awarded.learner.account_id))
    stranger: Browser = browser_for(sign_up(display_name="Bo"))
    for method, path, data in _routes(awarded.held_id, coll, share_id):
        response = stranger.get(path) if method == "GET" else stranger.post(path, data)
        assert response.status_code == 404, (method, path, response.status_code)
    assert wallet_view(db, account_id=uuid.UUID(awarded.learner.account_id)) == before
    assert db.query(ShareLink).one().revoked_at is None


def test_nobody_signed_in_is_sent_to_sign_in_on_every_page_and_form(owned: Any, app: Flask) -> None:
    awarded, _owner, coll, share_id = owned
    anonymous = Browser(app.test_client())
    anonymous._csrf = csrf_of(anonymous.get("/login").get_data(as_text=True))  # a visitor's own form token
    for method, path, data in _routes(awarded.held_id, coll, share_id):
        response = anonymous.get(path) if method == "GET" else anonymous.post(path, data)
        assert response.status_code == 303 and response.headers["Location"].startswith("/login?next="), path


def test_the_owner_reaches_every_page_and_form(owned: Any) -> None:
    awarded, owner, coll, share_id = owned
    for method, path, data in _routes(awarded.held_id, coll, share_id):
        response = owner.get(path) if method == "GET" else owner.post(path, data)
        assert response.status_code in (200, 303), (method, path, response.status_code)


def test_a_form_without_its_csrf_token_is_refused(owned: Any, db: Any) -> None:
    awarded, owner, coll, share_id = owned
    for method, path, data in _routes(awarded.held_id, coll, share_id):
        if method == "POST":
            response = owner.client.post(path, data=data)
            assert response.status_code == 400, path
            assert "reload the page" in response.get_data(as_text=True)
            assert owner.client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert db.query(ShareLink).one().revoked_at is None


# --- bad input by class ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/wallet/badges/not-a-uuid",
        "/wallet/badges/" + "9" * 5000,
        "/wallet/badges/00000000-0000-0000-0000-000000000000",
        "/wallet/badges/A0000000-0000-4000-8000-000000000000",
        "/wallet/collections/not-a-uuid",
        "/wallet/collections/" + "x" * 5000,
        "/wallet/shares/%E2%98%83",
        "/wallet/shares/00000000-0000-0000-0000-000000000000/qr.svg",
    ],
)
def test_malformed_or_unknown_ids_answer_404_with_a_page(holder: Any, path: str) -> None:
    _awarded, browser = holder
    response = browser.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "not in your wallet" in text or "not one of yours" in text


@pytest.mark.parametrize(
    ("suffix", "data", "status"),
    [
        ("/note", {"note": "x" * 2001}, 422),
        ("/note", {"note": "bad \x00 byte"}, 400),
        ("/tags", {"tag": ""}, 422),
        ("/tags", {"tag": "t" * 257}, 422),
        ("/tags", {"tag": "t" * 100}, 422),
        ("/tags", {"tag": "\u202e"}, 422),
        ("/collections", {"coll": "not-a-uuid"}, 404),
        ("/collections", {"coll": "x" * 10_000}, 422),
        ("/pin", {"pinned": "1", "extra": "\x00"}, 400),
    ],
)
def test_bad_form_input_is_a_clear_4xx_and_changes_nothing(
    holder: Any, db: Any, suffix: str, data: dict[str, str], status: int
) -> None:
    awarded, browser = holder
    before = wallet_view(db, account_id=uuid.UUID(awarded.learner.account_id))
    response = browser.post(f"/wallet/badges/{awarded.held_id}{suffix}", data)
    assert response.status_code == status
    if status == 400:  # NUL is refused before any view, the same way on every route of the app
        assert response.json["code"] == "request.malformed"
    else:
        assert response.mimetype == "text/html"
    assert wallet_view(db, account_id=uuid.UUID(awarded.learner.account_id)) == before


@pytest.mark.parametrize(
    "data",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "n" * 201},
        {"name": "bell\x07"},
    ],
)
def test_a_bad_collection_name_is_refused(holder: Any, data: dict[str, str]) -> None:
    _awarded, browser = holder
    response = browser.post("/wallet/collections", data)
    assert response.status_code == 422
    assert "check it and try again" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "badge", "expires_in_days": "0"},
        {"kind": "badge", "expires_in_days": "366"},
        {"kind": "badge", "expires_in_days": "-1"},
        {"kind": "badge", "expires_in_days": "9" * 400},
        {"kind": "badge", "label": "l" * 121},
        {"kind": "planet"},
    ],
)
def test_a_bad_share_form_is_refused_and_makes_no_link(holder: Any, db: Any, data: dict[str, str]) -> None:
    awarded, browser = holder
    response = browser.post("/wallet/shares", {"target": str(awarded.held_id), **data})
    assert response.status_code == 422
    assert db.query(ShareLink).count() == 0


def test_a_bad_move_direction_is_refused(owned: Any) -> None:
    _awarded, owner, coll, _share_id = owned
    assert owner.post(f"/wallet/collections/{coll}/move", {"direction": "sideways"}).status_code == 422
