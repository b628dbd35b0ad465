"""The scheduler's jobs close, expire and clear; the database lock keeps two runs from overlapping."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.claims.conftest import Venue, redeem
from tests.conftest import FakeClock
from wallet import jobs
from wallet.claims import maintenance


def test_ended_sessions_close_but_claims_scanned_in_time_offline_still_count(
    venue: Venue, client: FlaskClient, sign_up: Any, db: Session
) -> None:
    now = venue.clock.now
    session = venue.open(ends_at=(now + dt.timedelta(minutes=30)).isoformat())
    url = venue.qr(session)["url"]
    scanned_at = venue.clock.advance(minutes=20)
    venue.clock.advance(minutes=40)
    assert maintenance.close_ended_sessions(db, now=venue.clock.now) == 1
    assert maintenance.close_ended_sessions(db, now=venue.clock.now) == 0  # idempotent
    db.commit()
    item = client.get(f"/api/v1/claim-sessions/{session['id']}", headers=venue.worker.headers).json
    assert item["state"] == "closed"
    late = redeem(client, sign_up("sam"), url)
    assert late.json["code"] == "claim.ended"
    offline = redeem(client, sign_up("kim"), url, scanned_at=scanned_at.isoformat())
    assert offline.status_code == 201


def test_cards_expire_when_their_session_closes(venue: Venue, client: FlaskClient, sign_up: Any, db: Session) -> None:
    import uuid

    from wallet.claims.sessions import single_use_codes

    session = venue.open(mode="single_use", codes=2, cap=None)
    client.patch(f"/api/v1/claim-sessions/{session['id']}", headers=venue.worker.headers, json={"state": "closed"})
    venue.clock.advance(minutes=1)
    client.patch(f"/api/v1/claim-sessions/{session['id']}", headers=venue.worker.headers, json={"state": "open"})
    venue.clock.advance(hours=3)
    maintenance.close_ended_sessions(db, now=venue.clock.now)
    assert maintenance.expire_codes(db, now=venue.clock.now) == 2
    assert maintenance.expire_codes(db, now=venue.clock.now) == 0
    _, codes = single_use_codes(db, session_id=uuid.UUID(session["id"]), actor=uuid.UUID(venue.worker.account_id))
    assert all(code.expired_at is not None for code in codes)


def test_stale_pending_claims_expire_and_the_learner_is_told(
    venue: Venue, client: FlaskClient, sign_up: Any, db: Session
) -> None:
    session = venue.open(moderated=True, ends_at=(venue.clock.now + dt.timedelta(minutes=10)).isoformat())
    url = venue.qr(session)["url"]
    sam = sign_up("sam")
    assert redeem(client, sam, url).status_code == 202
    venue.clock.advance(days=13)
    assert maintenance.clear_stale_pending(db, now=venue.clock.now) == 0
    venue.clock.advance(days=2)
    assert maintenance.clear_stale_pending(db, now=venue.clock.now) == 1
    db.commit()
    assert client.get("/api/v1/me/claims", headers=sam.headers).json[0]["status"] == "expired"


def test_lockouts_are_cleared_once_over(venue: Venue, client: FlaskClient, sign_up: Any, db: Session) -> None:
    session = venue.open(pin="4821")
    url = venue.qr(session)["url"]
    sam = sign_up("sam")
    for _ in range(5):
        redeem(client, sam, url, pin="0000")
    assert maintenance.clear_lockouts(db, now=venue.clock.now) == 0
    venue.clock.advance(minutes=16)
    assert maintenance.clear_lockouts(db, now=venue.clock.now) == 2  # the learner's row and the session's


def test_the_scheduler_has_every_job_once_with_fixed_ids(app: Flask) -> None:
    state = app.extensions["wallet"]
    scheduler = jobs.build_scheduler(
        state.session_factory, settings=state.settings, clock=lambda: dt.datetime.now(dt.UTC)
    )
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    assert set(scheduled) == {job.id for job in jobs.jobs_for(app.extensions["wallet"].settings)}
    assert all(job.coalesce and job.max_instances == 1 for job in scheduled.values())


def test_two_concurrent_runs_of_a_job_do_the_work_once(committed_app: Flask, clock: FakeClock) -> None:
    """Real commits on the test database (SQLite's lock row, or PostgreSQL's advisory lock)."""
    factory = committed_app.extensions["wallet"].session_factory
    inside = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def slow_job(_factory: Any, _now: dt.datetime) -> int:
        runs.append("ran")
        inside.set()
        release.wait(10)
        return 1

    results: dict[str, int | None] = {}
    first = threading.Thread(
        target=lambda: results.update(first=jobs.run_job(factory, "test.slow", slow_job, now=clock.now))
    )
    first.start()
    assert inside.wait(10)
    results["second"] = jobs.run_job(factory, "test.slow", slow_job, now=clock.now)
    release.set()
    first.join()
    assert runs == ["ran"]
    assert results == {"first": 1, "second": None}
    assert jobs.run_job(factory, "test.slow", lambda _f, _n: 7, now=clock.now) == 7  # released afterwards


def test_run_all_runs_each_job(committed_app: Flask, clock: FakeClock) -> None:
    state = committed_app.extensions["wallet"]
    results = jobs.run_all(state.session_factory, settings=state.settings, now=clock.now)
    assert results == {job.id: 0 for job in jobs.jobs_for(state.settings)}
