"""Learners redeem codes: one credential per learner and session, every refusal with its own code."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask.testing import FlaskClient
from wallet_protocol.claim_codes import format_fallback

from tests.claims.conftest import Venue, redeem


def test_a_learner_claims_with_the_shared_qr_and_holds_a_signed_credential(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    session = venue.open()
    sam = sign_up("sam")
    response = redeem(client, sam, venue.qr(session)["url"])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "issued" and body["repeat"] is False
    credential = body["credential"]
    assert "OpenBadgeCredential" in credential["type"]
    assert credential["credentialSubject"]["achievement"]["name"] == "Soldering Basics"
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    held = client.get(f"/api/v1/credentials/{body['held_credential_id']}/raw", headers=sam.headers)
    assert json.loads(held.data)["id"] == credential["id"]


def test_a_repeat_scan_returns_the_same_credential_not_a_second_one(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    session = venue.open(cap=5)
    sam = sign_up("sam")
    first = redeem(client, sam, venue.qr(session)["url"])
    again = redeem(client, sam, venue.qr(session)["fallback"])
    assert again.status_code == 200
    assert again.json["repeat"] is True
    assert again.json["credential"]["id"] == first.json["credential"]["id"]
    count = client.get(f"/api/v1/claim-sessions/{session['id']}/count", headers=venue.worker.headers).json
    assert count["claimed"] == 1 and count["issued"] == 1


def test_the_typed_fallback_works_in_any_spelling(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open()
    typed = venue.qr(session)["fallback"].lower().replace("-", " ").replace("0", "o")
    assert redeem(client, sign_up("sam"), typed).status_code == 201


def test_the_cap_refuses_the_next_learner(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open(cap=1)
    url = venue.qr(session)["url"]
    assert redeem(client, sign_up("sam"), url).status_code == 201
    refused = redeem(client, sign_up("kim"), url)
    assert (refused.status_code, refused.json["code"]) == (409, "claim.session_full")


def test_a_full_room_refuses_late_scanners_before_judging_their_pin_and_writes_nothing(
    venue: Venue, client: FlaskClient, sign_up: Any, db: Any
) -> None:
    from sqlalchemy import func, select

    from wallet.models import Claim, PinFailure, SyncWallet

    session = venue.open(cap=1, pin="4821")
    url = venue.qr(session)["url"]
    sam = sign_up("sam")
    assert redeem(client, sam, url, pin="4821").status_code == 201
    claims_before = db.scalar(select(func.count()).select_from(Claim))
    wallets_before = db.scalar(select(func.count()).select_from(SyncWallet))
    late = [sign_up(name) for name in ("kim", "ash", "lee")]
    answers = [
        redeem(client, late[0], url, pin="0000"),
        redeem(client, late[1], url),
        redeem(client, late[2], url, pin="4821"),
    ]
    assert [(a.status_code, a.json["code"]) for a in answers] == [(409, "claim.session_full")] * 3
    assert db.scalar(select(func.count()).select_from(Claim)) == claims_before
    assert db.scalar(select(func.count()).select_from(SyncWallet)) == wallets_before  # no wallet locked or made
    assert db.scalar(select(func.count()).select_from(PinFailure)) == 0  # the wrong PIN was never judged
    again = redeem(client, sam, url, pin="4821")  # the learner who got the last badge still gets it back
    assert (again.status_code, again.json["repeat"]) == (200, True)


def test_unknown_forged_and_mistyped_codes_all_read_as_unknown(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open()
    url = venue.qr(session)["url"]
    forged = url[:-1] + ("A" if url[-1] != "A" else "B")
    sam = sign_up("sam")
    for code in (forged, "https://evil.example/C/" + url.rsplit("/", 1)[1], "K7Q-M3X-PDR", "not a code", "x" * 40):
        response = redeem(client, sam, code)
        assert (response.status_code, response.json["code"]) == (404, "claim.unknown_code"), code


def test_time_window_and_state_each_have_their_code(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    now = venue.clock.now
    later = venue.open(
        starts_at=(now + dt.timedelta(hours=1)).isoformat(), ends_at=(now + dt.timedelta(hours=2)).isoformat()
    )
    sam = sign_up("sam")
    response = redeem(client, sam, venue.qr(later)["url"])
    assert (response.status_code, response.json["code"]) == (409, "claim.not_started")

    session = venue.open(ends_at=(now + dt.timedelta(minutes=10)).isoformat())
    url = venue.qr(session)["url"]
    for state, status, code in (("paused", 409, "claim.paused"), ("closed", 409, "claim.closed")):
        client.patch(f"/api/v1/claim-sessions/{session['id']}", headers=venue.worker.headers, json={"state": state})
        response = redeem(client, sam, url)
        assert (response.status_code, response.json["code"]) == (status, code)
    reopened = client.patch(
        f"/api/v1/claim-sessions/{session['id']}", headers=venue.worker.headers, json={"state": "open"}
    )
    assert reopened.json["state"] == "open"
    venue.clock.advance(minutes=11)
    response = redeem(client, sign_up("kim"), url)
    assert (response.status_code, response.json["code"]) == (410, "claim.ended")


def test_pin_required_wrong_and_right(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open(pin="4821")
    assert session["pin"] == "4821"
    url = venue.qr(session)["url"]
    sam = sign_up("sam")
    missing = redeem(client, sam, url)
    assert (missing.status_code, missing.json["code"]) == (403, "claim.pin_required")
    wrong = redeem(client, sam, url, pin="1111")
    assert (wrong.status_code, wrong.json["code"], wrong.json["attempts_left"]) == (403, "claim.wrong_pin", 4)
    assert redeem(client, sam, url, pin="4821").status_code == 201


def test_wrong_pins_lock_the_learner_out_and_the_lock_expires(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open(pin="4821")
    url = venue.qr(session)["url"]
    sam, kim = sign_up("sam"), sign_up("kim")
    codes = [redeem(client, sam, url, pin=f"000{i}").json["code"] for i in range(5)]
    assert codes == ["claim.wrong_pin"] * 4 + ["claim.locked_out"]
    locked = redeem(client, sam, url, pin="4821")
    assert (locked.status_code, locked.json["code"]) == (429, "claim.locked_out")
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert redeem(client, kim, url, pin="4821").status_code == 201  # others are not locked out
    venue.clock.advance(minutes=16)
    assert redeem(client, sam, url, pin="4821").status_code == 201


def test_many_wrong_pins_across_learners_never_lock_out_a_learner_with_the_right_pin(
    venue: Venue, client: FlaskClient, sign_up: Any, monkeypatch: Any
) -> None:
    """The session-wide count brakes unknown clients only: guessers cannot deny the room (issue 18 item 2)."""
    from wallet.claims import policy

    monkeypatch.setattr(policy, "PIN_FAILURES_PER_SESSION", 3)
    session = venue.open(pin="4821")
    url = venue.qr(session)["url"]
    results = [redeem(client, sign_up(f"guesser{i}"), url, pin="9999").json["code"] for i in range(6)]
    assert results == ["claim.wrong_pin"] * 6  # each guesser is counted on their own account
    response = redeem(client, sign_up("honest"), url, pin="4821")
    assert response.status_code == 201, response.json


def test_single_use_cards_redeem_once(venue: Venue, client: FlaskClient, sign_up: Any, db: Any) -> None:
    import uuid

    from wallet.claims.sessions import single_use_codes

    session = venue.open(mode="single_use", codes=3, cap=None)
    assert session["cap"] == 3
    _, codes = single_use_codes(db, session_id=uuid.UUID(session["id"]), actor=uuid.UUID(venue.worker.account_id))
    card = format_fallback(codes[0].fallback_code)
    assert redeem(client, sign_up("sam"), card).status_code == 201
    second = redeem(client, sign_up("kim"), card)
    assert (second.status_code, second.json["code"]) == (409, "claim.already_claimed")
    assert redeem(client, sign_up("kim2"), codes[1].fallback_code).status_code == 201


def test_a_moderated_claim_waits_then_is_approved_or_rejected(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open(moderated=True, cap=2)
    url = venue.qr(session)["url"]
    sam, kim = sign_up("sam"), sign_up("kim")
    pending = redeem(client, sam, url)
    assert (pending.status_code, pending.json["status"], pending.json["credential"]) == (202, "pending", None)
    assert redeem(client, sam, url).status_code == 202
    kim_claim = redeem(client, kim, url).json["claim_id"]

    decide = f"/api/v1/claim-sessions/{session['id']}/claims/{pending.json['claim_id']}/decision"
    approved = client.post(decide, headers=venue.worker.headers, json={"decision": "approve"})
    assert approved.json["status"] == "issued"
    now_issued = redeem(client, sam, url)
    assert now_issued.status_code == 200 and "OpenBadgeCredential" in now_issued.json["credential"]["type"]
    mine = client.get("/api/v1/me/claims", headers=sam.headers).json
    assert [(c["status"], c["held_credential_id"] is not None) for c in mine] == [("issued", True)]

    client.post(
        f"/api/v1/claim-sessions/{session['id']}/claims/{kim_claim}/decision",
        headers=venue.worker.headers,
        json={"decision": "reject"},
    )
    rejected = redeem(client, kim, url)
    assert (rejected.status_code, rejected.json["code"]) == (403, "claim.rejected")
    count = client.get(f"/api/v1/claim-sessions/{session['id']}/count", headers=venue.worker.headers).json
    assert (count["claimed"], count["issued"], count["pending"]) == (1, 1, 0)


def test_revoking_a_mistaken_claim_revokes_the_credential_and_frees_the_slot(
    venue: Venue, client: FlaskClient, sign_up: Any, db: Any
) -> None:
    from wallet.models import IssuedCredential

    session = venue.open(cap=1)
    url = venue.qr(session)["url"]
    claim = redeem(client, sign_up("sam"), url).json
    revoked = client.post(
        f"/api/v1/claim-sessions/{session['id']}/claims/{claim['claim_id']}/decision",
        headers=venue.worker.headers,
        json={"decision": "revoke", "reason": "wrong person"},
    )
    assert revoked.json["status"] == "revoked"
    issued = db.query(IssuedCredential).filter_by(credential_id=claim["credential"]["id"]).one()
    assert issued.revoked_at is not None
    assert redeem(client, sign_up("kim"), url).status_code == 201


def test_the_claim_list_and_csv_show_display_names_only(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open()
    url = venue.qr(session)["url"]
    redeem(client, sign_up("sam", display_name="=cmd|' /C calc'!A0"), url)
    claims = client.get(f"/api/v1/claim-sessions/{session['id']}/claims", headers=venue.worker.headers).json
    assert [c["display_name"] for c in claims] == ["=cmd|' /C calc'!A0"]
    assert "username" not in claims[0]
    csv_text = client.get(f"/api/v1/claim-sessions/{session['id']}/claims.csv", headers=venue.worker.headers)
    lines = csv_text.data.decode().splitlines()
    assert lines[0] == "display_name,claimed_at,status"
    assert lines[1].startswith("'=cmd") and lines[1].endswith(",issued")
    assert "sam" not in csv_text.data.decode().replace("'=cmd", "")
