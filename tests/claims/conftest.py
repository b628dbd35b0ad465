"""Claim-session fixtures: an organisation with an achievement, and a helper that opens sessions by API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import FakeClock
from wallet.config import Settings


@dataclass
class Venue:
    """An organisation (admin + youth worker) with one achievement, and a way to open sessions."""

    client: FlaskClient
    org: dict[str, Any]
    achievement_id: str
    clock: FakeClock

    @property
    def worker(self) -> Any:
        return self.org["worker"]

    def open(self, *, expect: int = 201, **overrides: Any) -> dict[str, Any]:
        now = self.clock.now
        body: dict[str, Any] = {
            "achievement_id": self.achievement_id,
            "title": "Soldering workshop",
            "venue": "Room 2",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
        }
        body.update(overrides)
        response = self.client.post(
            f"/api/v1/organisations/{self.org['slug']}/claim-sessions", headers=self.worker.headers, json=body
        )
        assert response.status_code == expect, response.json
        return response.json

    def qr(self, session: dict[str, Any]) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=self.worker.headers)
        assert response.status_code == 200, response.json
        return response.json


def make_achievement(db: Session, org: dict[str, Any], *, now: dt.datetime, name: str = "Soldering Basics") -> str:
    from wallet.issuing.achievements import create_achievement

    achievement = create_achievement(
        db,
        slug=org["slug"],
        actor=uuid.UUID(org["admin"].account_id),
        name=name,
        description="Soldered a blinking LED kit safely.",
        criteria_narrative="Finish the kit.",
        now=now,
    )
    db.commit()
    return str(achievement.id)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Claim stories move the clock by hours: access tokens last a month here, so they are not the subject."""
    return dataclasses.replace(settings, access_token_ttl_seconds=30 * 86_400)


@pytest.fixture
def venue(client: FlaskClient, db: Session, organisation: Any, clock: FakeClock) -> Venue:
    org = organisation()
    return Venue(client, org, make_achievement(db, org, now=clock.now), clock)


def redeem(client: FlaskClient, learner: Any, code: str, **extra: Any) -> Any:
    return client.post("/api/v1/claims/redeem", headers=learner.headers, json={"code": code, **extra})
