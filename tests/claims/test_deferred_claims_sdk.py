"""A claim queued offline that meets the guessing limit is never lost: the SDK keeps it queued (visible as
``queued``, with the server's ``request.rate_limited`` among its rejections) and it is issued at a later
sync. Real HTTP on 127.0.0.1, the SDK's ``OfflineWallet``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from wallet_client import OfflineWallet, WalletClient
from wallet_protocol.claim_codes import format_fallback, new_fallback_code

from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from wallet.config import Settings
from wallet.issuing.achievements import create_achievement
from wallet.models import Role
from wallet.organisations import services as organisations

PASSWORD = "correct horse battery"


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    limited = dataclasses.replace(settings, ratelimit_claim_code_per_account_per_minute=2)
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    with live_server(limited, engine, FakeClock(start)) as running:
        yield running


def _open_claim_session(server: Running) -> str:
    admin, worker = WalletClient(server.url), WalletClient(server.url)
    admin.sign_up("venue-admin", PASSWORD)
    worker.sign_up("venue-worker", PASSWORD)
    now = server.clock.now
    admin_id = uuid.UUID(admin.me()["id"])
    with server.session() as db:
        organisations.create_organisation(db, slug="north", name="North", now=now)
        for username, role in (("venue-admin", Role.ADMIN), ("venue-worker", Role.YOUTH_WORKER)):
            organisations.add_member(db, slug="north", actor=None, username=username, role=role, now=now)
        achievement = create_achievement(
            db,
            slug="north",
            actor=admin_id,
            name="Soldering Basics",
            description="Soldered a kit.",
            criteria_narrative="Finish the kit.",
            now=now,
        )
        db.commit()
        achievement_id = str(achievement.id)
    session = worker.request(
        "POST",
        "/api/v1/organisations/north/claim-sessions",
        json_body={
            "achievement_id": achievement_id,
            "title": "Soldering workshop",
            "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
        },
    )
    url = str(worker.request("GET", f"/api/v1/claim-sessions/{session['id']}/qr")["url"])
    admin.close()
    worker.close()
    return url


def test_a_queued_claim_past_the_limit_waits_in_the_queue_and_is_issued_later(server: Running, tmp_path: Path) -> None:
    claim_url = _open_claim_session(server)
    client = WalletClient(server.url, timeout=10.0)
    client.sign_up("sam-deferred", PASSWORD, device_name="phone")
    phone = OfflineWallet(tmp_path / "phone.sqlite3", client)
    typos = [phone.claim(format_fallback(new_fallback_code(os.urandom))) for _ in range(2)]
    real = phone.claim(claim_url)

    report = phone.sync()

    shown = {action["action_id"]: action for action in phone.actions()}
    assert [shown[t]["code"] for t in typos] == ["claim.unknown_code"] * 2
    assert shown[real]["status"] == "queued"  # not issued, not dropped: still in the device's queue
    assert {r["code"] for r in report.rejected} == {"request.rate_limited"}
    assert phone.pending_count() == 1 and phone.credentials() == []

    server.clock.advance(minutes=1)
    phone.sync()
    claimed = {action["action_id"]: action for action in phone.actions()}[real]
    assert claimed["status"] == "done" and phone.pending_count() == 0
    assert [c["cred"] for c in phone.credentials()] == [claimed["result"]["cred"]]
    client.close()
    phone.close()
