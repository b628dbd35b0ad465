"""A claim scanned offline reaches the server as a sync action; the outcome comes back either way."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from wallet_protocol.sync.ops import ClaimRedeem

from tests.claims.conftest import Venue
from wallet.sync.actions import run_action
from wallet.web.guessing import code_guard


def _op(code: str, *, scanned_ms: int, pin: str | None = None, seq: int = 1) -> ClaimRedeem:
    return ClaimRedeem(
        op_seq=seq, hlc="0000000000000:0000:phone", action_id=f"a{seq}", code=code, scanned_at=scanned_ms, pin=pin
    )


def test_a_queued_claim_is_redeemed_at_sync_and_refusals_come_back_with_their_code(
    app: Flask, venue: Venue, db: Session, sign_up: Any
) -> None:
    session = venue.open(pin="4821")
    token = venue.qr(session)["token"]
    sam = uuid.UUID(sign_up("sam").account_id)
    scanned_ms = int(venue.clock.now.timestamp() * 1000)
    venue.clock.advance(hours=1)
    with app.test_request_context():
        wrong = run_action(
            db,
            handlers=app.extensions["wallet"].actions,
            account_id=sam,
            op=_op(token, scanned_ms=scanned_ms, pin="0000"),
            now=venue.clock.now,
            fetcher=None,
            claim_guard=code_guard(sam),
        )
        done = run_action(
            db,
            handlers=app.extensions["wallet"].actions,
            account_id=sam,
            op=_op(token, scanned_ms=scanned_ms, pin="4821", seq=2),
            now=venue.clock.now,
            fetcher=None,
            claim_guard=code_guard(sam),
        )
        again = run_action(
            db,
            handlers=app.extensions["wallet"].actions,
            account_id=sam,
            op=_op(token, scanned_ms=scanned_ms, pin="4821", seq=3),
            now=venue.clock.now,
            fetcher=None,
            claim_guard=code_guard(sam),
        )
    assert wrong[:2] == ("failed", "claim.wrong_pin")
    assert done[0] == "done" and done[2]["status"] == "issued" and done[2]["cred"].startswith("sha256:")
    assert again[0] == "done" and again[2]["repeat"] is True and again[2]["cred"] == done[2]["cred"]


def test_wrong_pins_sent_by_sync_count_towards_the_lockout(app: Flask, venue: Venue, db: Session, sign_up: Any) -> None:
    session = venue.open(pin="4821")
    token = venue.qr(session)["token"]
    sam = uuid.UUID(sign_up("sam").account_id)
    scanned_ms = int(venue.clock.now.timestamp() * 1000)
    with app.test_request_context():
        codes = [
            run_action(
                db,
                handlers=app.extensions["wallet"].actions,
                account_id=sam,
                op=_op(token, scanned_ms=scanned_ms, pin=f"000{i}", seq=i + 1),
                now=venue.clock.now,
                fetcher=None,
                claim_guard=code_guard(sam),
            )[1]
            for i in range(6)
        ]
    assert codes == ["claim.wrong_pin"] * 4 + ["claim.locked_out"] * 2


def test_claims_appear_in_the_learners_data_export(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open()
    sam = sign_up("sam")
    client.post("/api/v1/claims/redeem", headers=sam.headers, json={"code": venue.qr(session)["url"]})
    exported = client.get("/api/v1/me/export", headers=sam.headers).json
    assert [(c["session"], c["status"]) for c in exported["claims"]] == [("Soldering workshop", "issued")]
