"""Exactly once on PostgreSQL: claims at two organisations completing one pathway at the same instant."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import FakeClock

LEARNERS = 6


def _sign_up(client: Any, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _arrange(app: Flask, clock: FakeClock) -> tuple[list[str], str]:
    """Two organisations, each running a claim session; a pathway owned by one needs both badges."""
    from wallet.issuing.achievements import create_achievement
    from wallet.models import Role
    from wallet.organisations import services as organisations
    from wallet.pathways.services import create_pathway

    client = app.test_client()
    factory = app.extensions["wallet"].session_factory
    ids: dict[str, Any] = {}
    for slug in ("north", "museum"):
        admin = client.post(
            "/api/v1/accounts",
            json={"username": f"{slug}-admin", "password": "correct horse battery", "device": {"name": "phone"}},
        ).json
        worker = _sign_up(client, f"{slug}-worker")
        with factory.begin() as db:
            organisations.create_organisation(db, slug=slug, name=slug.title(), now=clock.now)
            for username, role in ((f"{slug}-admin", Role.ADMIN), (f"{slug}-worker", Role.YOUTH_WORKER)):
                organisations.add_member(db, slug=slug, actor=None, username=username, role=role, now=clock.now)
            badge = create_achievement(
                db,
                slug=slug,
                actor=uuid.UUID(admin["account_id"]),
                name=f"{slug} badge",
                description="Took part.",
                criteria_narrative="Take part.",
                now=clock.now,
            )
            ids[slug] = (uuid.UUID(admin["account_id"]), badge.id, worker)
    with factory.begin() as db:
        outcome = create_achievement(
            db,
            slug="north",
            actor=ids["north"][0],
            name="Pathway graduate",
            description="Finished the pathway.",
            criteria_narrative="Both badges.",
            now=clock.now,
        )
        pathway = create_pathway(
            db,
            slug="north",
            actor=ids["north"][0],
            name="North and museum",
            outcome_achievement_id=outcome.id,
            auto_award=True,
            partners=["museum"],
            steps=[
                {"kind": "badge", "achievement": str(ids["north"][1])},
                {"kind": "badge", "achievement": str(ids["museum"][1])},
            ],
            base_url=app.extensions["wallet"].settings.base_url,
            now=clock.now,
        )
        pathway_id = str(pathway.id)
    urls = []
    for slug in ("north", "museum"):
        _, badge_id, worker = ids[slug]
        created = client.post(
            f"/api/v1/organisations/{slug}/claim-sessions",
            headers=worker,
            json={
                "achievement_id": str(badge_id),
                "title": f"{slug} session",
                "venue": "Hall",
                "cap": 100,
                "starts_at": (clock.now - dt.timedelta(minutes=1)).isoformat(),
                "ends_at": (clock.now + dt.timedelta(hours=1)).isoformat(),
            },
        )
        assert created.status_code == 201, created.json
        urls.append(client.get(f"/api/v1/claim-sessions/{created.json['id']}/qr", headers=worker).json["url"])
    return urls, pathway_id


@pytest.mark.postgres
def test_concurrent_claims_at_two_organisations_award_the_outcome_exactly_once(
    committed_app: Flask, clock: FakeClock
) -> None:
    from wallet.models import HeldCredential, PathwayAward

    urls, pathway_id = _arrange(committed_app, clock)
    client = committed_app.test_client()
    learners = [_sign_up(client, f"learner{i}") for i in range(LEARNERS)]
    requests = [(headers, url) for headers in learners for url in urls]
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def claim(index: int, headers: dict[str, str], url: str) -> None:
        barrier.wait()
        statuses[index] = (
            committed_app.test_client().post("/api/v1/claims/redeem", headers=headers, json={"code": url}).status_code
        )

    threads = [threading.Thread(target=claim, args=(i, h, u)) for i, (h, u) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * len(requests)

    with committed_app.extensions["wallet"].session_factory() as db:
        awards = db.scalar(select(func.count()).select_from(PathwayAward))
        graduates = db.scalars(
            select(HeldCredential.account_id).where(HeldCredential.achievement_name == "Pathway graduate")
        ).all()
    assert awards == LEARNERS
    assert len(graduates) == LEARNERS and len(set(graduates)) == LEARNERS
    for headers in learners:
        progress = client.get(f"/api/v1/me/pathways/{pathway_id}", headers=headers).json
        assert progress["complete"] and progress["awarded_credential_id"]
