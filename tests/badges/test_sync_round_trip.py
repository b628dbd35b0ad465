"""An edit on the web pages reaches the learner's phone at its next sync, and the phone's edit shows on the
pages: both go through the synced wallet (the SDK's OfflineWallet is the phone)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from wallet_client import OfflineWallet, WalletClient

from tests.badges.conftest import Browser
from wallet.changelog.edits import wallet_view
from wallet.models import HeldCredential


@pytest.fixture
def phone_of(app: Flask, tmp_path: Path) -> Any:
    """The learner's phone: an OfflineWallet signed in over the app (in process)."""

    def _phone(learner: Any, name: str = "phone") -> OfflineWallet:
        client = WalletClient("https://wallet.test", transport=httpx.WSGITransport(app=app), sleep=lambda _s: None)
        client.login(learner.username, learner.password)
        return OfflineWallet(tmp_path / f"{name}.db", client)

    return _phone


def _server_view(db: Any, learner: Any) -> dict[str, Any]:
    return wallet_view(db, account_id=uuid.UUID(learner.account_id))


def test_pins_notes_tags_and_collections_made_on_the_web_reach_the_phone(
    award_badge: Any, browser_for: Any, phone_of: Any, db: Any
) -> None:
    awarded = award_badge()
    cred = db.get(HeldCredential, awarded.held_id).content_hash
    phone = phone_of(awarded.learner)
    phone.sync()
    assert [item["cred"] for item in phone.credentials()] == [cred]

    browser: Browser = browser_for(awarded.learner)
    browser.post(f"/wallet/badges/{awarded.held_id}/pin", {"pinned": "1"})
    browser.post(f"/wallet/badges/{awarded.held_id}/note", {"note": "Bring to the interview"})
    browser.post(f"/wallet/badges/{awarded.held_id}/tags", {"tag": "Metalwork"})
    coll = browser.post("/wallet/collections", {"name": "Job applications"}).headers["Location"].rsplit("/", 1)[1]
    browser.post(f"/wallet/collections/{coll}/members", {"badge": str(awarded.held_id)})

    report = phone.sync()
    assert report.requests == 1
    [entry] = phone.credentials()
    assert (entry["pinned"], entry["note"], entry["tags"]) == (True, "Bring to the interview", ["metalwork"])
    assert [(c["coll"], c["name"], c["members"]) for c in phone.collections()] == [(coll, "Job applications", [cred])]
    assert phone.view() == _server_view(db, awarded.learner)


def test_the_phones_edits_show_on_the_web_pages(award_badge: Any, browser_for: Any, phone_of: Any, db: Any) -> None:
    awarded = award_badge()
    cred = db.get(HeldCredential, awarded.held_id).content_hash
    phone = phone_of(awarded.learner)
    phone.sync()
    phone.set_note(cred, "Edited on the bus")
    phone.add_tag(cred, "Robotics Club")
    coll = phone.create_collection("From my phone")
    phone.add_member(coll, cred)
    phone.sync()

    browser: Browser = browser_for(awarded.learner)
    badge = browser.html(f"/wallet/badges/{awarded.held_id}")
    assert "Edited on the bus" in badge and "robotics club" in badge and "From my phone" in badge
    assert "Welding 101" in browser.html("/wallet?tag=robotics+club").split('id="badges"')[1]
    assert "Welding 101" in browser.html(f"/wallet/collections/{coll}")

    browser.post(f"/wallet/collections/{coll}/rename", {"name": "Renamed on the web"})
    browser.post(f"/wallet/badges/{awarded.held_id}/tags/remove", {"tag": "Robotics Club"})
    phone.sync()
    assert phone.collections()[0]["name"] == "Renamed on the web"
    assert phone.credentials()[0]["tags"] == []
    assert phone.view() == _server_view(db, awarded.learner)


def test_a_tag_removed_on_the_web_while_the_phone_re_added_it_offline_stays_add_wins(
    award_badge: Any, browser_for: Any, phone_of: Any, db: Any
) -> None:
    awarded = award_badge()
    cred = db.get(HeldCredential, awarded.held_id).content_hash
    browser: Browser = browser_for(awarded.learner)
    browser.post(f"/wallet/badges/{awarded.held_id}/tags", {"tag": "cv"})
    phone = phone_of(awarded.learner)
    phone.sync()
    phone.add_tag(cred, "CV")  # offline: an add the web page has not seen
    browser.post(f"/wallet/badges/{awarded.held_id}/tags/remove", {"tag": "cv"})
    phone.sync()
    assert phone.credentials()[0]["tags"] == ["cv"]  # I9: the unseen add wins
    assert phone.view() == _server_view(db, awarded.learner)
    assert "cv" in browser.html(f"/wallet/badges/{awarded.held_id}").split('id="organise"')[1]


def test_a_badge_deleted_on_the_web_leaves_the_phone_and_a_collection_deleted_never_comes_back(
    award_badge: Any, browser_for: Any, phone_of: Any, db: Any
) -> None:
    first = award_badge()
    second = award_badge(first.learner, name="First Aid")
    phone = phone_of(first.learner)
    browser: Browser = browser_for(first.learner)
    coll = browser.post("/wallet/collections", {"name": "Old"}).headers["Location"].rsplit("/", 1)[1]
    phone.sync()
    phone.rename_collection(coll, "Edited offline")  # concurrent with the delete below
    browser.post(f"/wallet/collections/{coll}/delete")
    browser.post(f"/wallet/badges/{first.held_id}/delete")
    phone.sync()
    assert [c["cred"] for c in phone.credentials()] == [db.get(HeldCredential, second.held_id).content_hash]
    assert phone.collections() == []
    assert browser.get(f"/wallet/collections/{coll}").status_code == 404
    assert phone.view() == _server_view(db, first.learner)


def test_a_second_browser_sees_the_first_ones_edit_at_once(award_badge: Any, browser_for: Any) -> None:
    awarded = award_badge()
    laptop: Browser = browser_for(awarded.learner)
    library_pc: Browser = browser_for(awarded.learner)
    laptop.post(f"/wallet/badges/{awarded.held_id}/note", {"note": "Typed on the laptop"})
    assert "Typed on the laptop" in library_pc.html(f"/wallet/badges/{awarded.held_id}")
