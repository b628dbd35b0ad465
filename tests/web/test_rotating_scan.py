"""A rotating QR scanned while fresh may be claimed minutes later from the same browser; a forwarded
photo of a stale code is still refused (docs/claim-codes.md, "Scan, then sign up")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import FakeClock
from tests.web.console_world import ConsoleWorld, browser, csrf_of, make_world, start_session
from wallet.claims.codes import session_qr
from wallet.models import ClaimSession


@pytest.fixture
def world(app: Flask, db: Session, clock: FakeClock, sign_up: Any, organisation: Any) -> ConsoleWorld:
    return make_world(app, db, clock, sign_up, organisation)


def _rotating(world: ConsoleWorld) -> tuple[ClaimSession, str]:
    session_id = start_session(world.worker, world.slug, world.achievement_id, mode="rotating", pin_on="")
    session = world.db.get(ClaimSession, __import__("uuid").UUID(session_id))
    assert session is not None and session.rotation_period_s == 30
    token = session_qr(session, config=world.app.extensions["wallet"].claims, now=world.clock.now).token
    return session, token


def _sign_up_on_the_landing_page(client: Any, token: str, username: str) -> Any:
    page = client.get(f"/c/{token}").get_data(as_text=True)
    return client.post(
        f"/c/{token}/sign-up",
        data={"csrf_token": csrf_of(page), "username": username, "password": "correct horse battery"},
    )


def test_a_learner_who_scanned_in_time_signs_up_and_claims_five_minutes_later(world: ConsoleWorld) -> None:
    _, token = _rotating(world)
    phone = world.app.test_client()
    assert phone.get(f"/c/{token}").status_code == 200  # the scan, while the code is on the screen
    world.clock.advance(minutes=4)
    assert _sign_up_on_the_landing_page(phone, token, "slow-typist").status_code == 303
    world.clock.advance(minutes=1)
    page = phone.get(f"/c/{token}").get_data(as_text=True)
    claimed = phone.post(f"/c/{token}/claim", data={"csrf_token": csrf_of(page)})
    assert claimed.status_code == 200, claimed.get_data(as_text=True)[:1500]
    assert "expired" not in claimed.get_data(as_text=True)


def test_a_forwarded_photo_of_an_expired_code_is_still_refused(world: ConsoleWorld, sign_up: Any) -> None:
    _, token = _rotating(world)
    world.clock.advance(minutes=5)  # the photo reaches a friend at home
    friend = browser(world.app, sign_up("friend-at-home"))
    assert friend.get(f"/c/{token}").status_code == 200
    refused = friend.post(f"/c/{token}/claim")
    assert refused.status_code == 410
    assert "expired" in refused.get_data(as_text=True)


def test_a_scan_expires_after_half_an_hour(world: ConsoleWorld, sign_up: Any) -> None:
    _, token = _rotating(world)
    learner = browser(world.app, sign_up("very-slow"))
    assert learner.get(f"/c/{token}").status_code == 200
    world.clock.advance(minutes=31)
    assert learner.post(f"/c/{token}/claim").status_code == 410


def test_a_scan_binds_only_the_step_that_was_scanned(world: ConsoleWorld, sign_up: Any) -> None:
    session, token = _rotating(world)
    learner = browser(world.app, sign_up("step-hopper"))
    assert learner.get(f"/c/{token}").status_code == 200
    world.clock.advance(minutes=5)
    old = session_qr(session, config=world.app.extensions["wallet"].claims, now=world.clock.now)
    other_step = re.sub(r".$", "A" if token[-1] != "A" else "B", token)  # a tampered token fails its MAC
    assert learner.post(f"/c/{other_step}/claim").status_code == 404
    assert old.token != token
