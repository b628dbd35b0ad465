"""Fixtures for sharing: a learner holding a badge that an organisation here awarded them, signed and
revocable like any real one (issued through the issuing services, held through the holding service)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.credential_factories import ISSUER
from wallet.config import Settings
from wallet.issuing import achievements
from wallet.issuing import credentials as issuing
from wallet.models import HeldCredential

EVIDENCE = [
    {
        "id": "https://portfolio.example/weld-photos",
        "name": "Photos of the practical",
        "narrative": "Three butt welds, inspected by the tutor.",
    }
]


REGISTRY = {
    "meta": {"created": "2026-01-01T00:00:00+00:00", "updated": "2026-11-01T00:00:00+00:00"},
    "name": "City of Learning issuer registry",
    "registry": {
        ISSUER: {"name": "Riverside College", "location": "Riverside", "url": "https://riverside.example"},
    },
}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The operator lists one issuer elsewhere (the test did:key issuer) in a DCC-format registry file."""
    path = tmp_path / "issuer-registry.json"
    path.write_text(json.dumps(REGISTRY))
    return dataclasses.replace(settings, issuer_registry=str(path))


@dataclass
class Awarded:
    learner: Any  # SignedIn
    org: dict[str, Any]
    issued_id: uuid.UUID
    held_id: uuid.UUID


@pytest.fixture
def award_badge(app: Flask, db: Session, organisation: Any, sign_up: Any, clock: Any) -> Any:
    """Award a badge to a (new) learner; returns who holds what."""
    state = app.extensions["wallet"]
    orgs: dict[str, dict[str, Any]] = {}

    def _award(
        learner: Any = None,
        *,
        name: str = "Welding 101",
        validity_days: int | None = None,
        evidence: list[dict[str, Any]] | None = None,
        org_slug: str = "makerspace-north",
    ) -> Awarded:
        learner = learner or sign_up(display_name="Sam Rivera")
        if org_slug not in orgs:
            orgs[org_slug] = organisation(org_slug, org_slug.replace("-", " ").title())
        org = orgs[org_slug]
        admin = uuid.UUID(org["admin"].account_id)
        achievement = achievements.create_achievement(
            db,
            slug=org_slug,
            actor=admin,
            name=name,
            description="Completed 40 hours of supervised MIG welding.",
            criteria_narrative="Pass the practical assessment.",
            validity_days=validity_days,
            alignments=[
                {"targetName": "MIG welding", "targetUrl": "https://skills.example/mig", "targetFramework": "ESCO"}
            ],
            now=clock.now,
        )
        issued = issuing.award(
            db,
            slug=org_slug,
            actor=admin,
            achievement_id=achievement.id,
            username=learner.username,
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=clock.now,
            evidence=evidence,
        )
        held = db.scalar(
            select(HeldCredential).where(
                HeldCredential.account_id == uuid.UUID(learner.account_id),
                HeldCredential.credential_id == issued.credential_id,
            )
        )
        assert held is not None
        db.commit()
        return Awarded(learner, org, issued.id, held.id)

    return _award


def revoke_badge(app: Flask, db: Session, awarded: Awarded, now: dt.datetime) -> None:
    state = app.extensions["wallet"]
    issuing.revoke(
        db,
        slug=awarded.org["slug"],
        actor=None,
        issued_id=awarded.issued_id,
        reason="issued in error",
        kek=state.secrets.key_encryption_key,
        base_url=state.settings.base_url,
        now=now,
    )
    db.commit()


def share(client: Any, awarded: Awarded, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/shares", headers=awarded.learner.headers, json={"credential_id": str(awarded.held_id), **fields}
    )
    assert response.status_code == 201, response.json
    return response.json


def path_of(link: dict[str, Any]) -> str:
    return "/s/" + link["url"].rsplit("/s/", 1)[1]
