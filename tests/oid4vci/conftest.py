"""A real server on 127.0.0.1 (werkzeug, its own thread, real commits) and a youth worker's room in it.

The server's clock is a :class:`FakeClock` that starts at the real time, so ``wallet verify`` (which
judges validity against the real clock) agrees with what the server signed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from tests.oid4vci.holder import Holder, HolderKey, KeyStyle
from wallet.config import Settings


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    """The app on a free port, committing for real; every table is emptied afterwards."""
    with live_server(settings, engine, FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))) as running:
        yield running


@dataclass
class Room:
    """An organisation with a youth worker and one achievement, on the running server."""

    running: Running
    http: httpx.Client
    worker: dict[str, str]
    achievement_id: str

    def open(self, **overrides: Any) -> dict[str, Any]:
        now = self.running.clock.now
        body = {
            "achievement_id": self.achievement_id,
            "title": "Soldering workshop",
            "venue": "Room 2",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
            **overrides,
        }
        response = self.http.post("/api/v1/organisations/north/claim-sessions", headers=self.worker, json=body)
        assert response.status_code == 201, response.json()
        return response.json()

    def offer(self, session: dict[str, Any], **body: Any) -> dict[str, Any]:
        response = self.http.post(
            f"/api/v1/claim-sessions/{session['id']}/oid4vci-offer", headers=self.worker, json=body
        )
        assert response.status_code == 201, response.json()
        return response.json()

    def patch(self, session: dict[str, Any], **body: Any) -> None:
        response = self.http.patch(f"/api/v1/claim-sessions/{session['id']}", headers=self.worker, json=body)
        assert response.status_code == 200, response.json()

    def holder(self, style: KeyStyle = "did:key") -> Holder:
        return Holder(self.http, lambda: self.running.clock.now.timestamp(), HolderKey(style))


def _sign_up(http: httpx.Client, username: str) -> dict[str, Any]:
    response = http.post(
        "/api/v1/accounts",
        json={
            "username": username,
            "password": "correct horse battery",
            "display_name": username,
            "device": {"name": "phone"},
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def room(server: Running) -> Iterator[Room]:
    from wallet.issuing.achievements import create_achievement
    from wallet.models import Role
    from wallet.organisations import services as organisations

    with httpx.Client(base_url=server.url, timeout=30) as http:
        admin = _sign_up(http, "north-admin")
        worker = _sign_up(http, "north-worker")
        factory = server.app.extensions["wallet"].session_factory
        with factory.begin() as db:
            organisations.create_organisation(db, slug="north", name="Makerspace North", now=server.clock.now)
            for username, role in (("north-admin", Role.ADMIN), ("north-worker", Role.YOUTH_WORKER)):
                organisations.add_member(
                    db, slug="north", actor=None, username=username, role=role, now=server.clock.now
                )
        with factory.begin() as db:
            achievement = create_achievement(
                db,
                slug="north",
                actor=uuid.UUID(admin["account_id"]),
                name="Soldering Basics",
                description="Soldered a blinking LED kit safely.",
                criteria_narrative="Finish the kit.",
                now=server.clock.now,
            )
            achievement_id = str(achievement.id)
        yield Room(server, http, {"Authorization": f"Bearer {worker['access_token']}"}, achievement_id)
