"""Repeated views of a share page: first view (verifies: in-process issuer profile and status list fetch,
signature checks) versus later views (cached report), and the view right after a revocation.

Run: ``.venv/bin/python bench/share_pages.py [views]`` — prints a table of p50/p95 in milliseconds. Uses a
scratch SQLite database in a temporary folder and the Flask test client (no network).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from wallet.app import create_app
from wallet.config import Settings
from wallet.issuing import achievements
from wallet.issuing import credentials as issuing
from wallet.migrate import upgrade
from wallet.models import Role
from wallet.organisations import services as organisations

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(views: int = 300) -> None:
    folder = Path(tempfile.mkdtemp(prefix="share-bench-"))
    url = f"sqlite:///{folder / 'wallet.sqlite3'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        instance_path=str(folder),
        base_url="https://wallet.test",
        password_hash_profile="CHEAPEST",
        log_json=False,
        log_level="ERROR",
        run_scheduler=False,
    )
    app = create_app(settings, clock=lambda: NOW)
    client = app.test_client()
    state = app.extensions["wallet"]
    accounts = {}
    for name in ("bench-admin", "bench-learner"):
        accounts[name] = client.post(
            "/api/v1/accounts",
            json={
                "username": name,
                "password": "correct horse battery",
                "display_name": name,
                "device": {"name": "bench"},
            },
        ).json
    with state.session_factory.begin() as db:
        organisations.create_organisation(db, slug="bench-org", name="Bench Org", now=NOW)
        organisations.add_member(db, slug="bench-org", actor=None, username="bench-admin", role=Role.ADMIN, now=NOW)
        admin = uuid.UUID(accounts["bench-admin"]["account_id"])
        achievement = achievements.create_achievement(
            db,
            slug="bench-org",
            actor=admin,
            name="Benchmarking",
            description="Measured things.",
            criteria_narrative="Measure.",
            now=NOW,
        )
        issued = issuing.award(
            db,
            slug="bench-org",
            actor=admin,
            achievement_id=achievement.id,
            username="bench-learner",
            kek=state.secrets.key_encryption_key,
            base_url=settings.base_url,
            now=NOW,
        )
        issued_id = issued.id
    headers = {"Authorization": f"Bearer {accounts['bench-learner']['access_token']}"}
    held = client.get("/api/v1/credentials", headers=headers).json
    held_id = (held["items"] if isinstance(held, dict) else held)[0]["id"]
    link = client.post("/api/v1/shares", headers=headers, json={"credential_id": held_id}).json
    path = "/s/" + link["url"].rsplit("/s/", 1)[1]

    def timed() -> float:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200
        return elapsed

    cache = state.sharing.reports
    cold = []
    for _ in range(min(30, views)):
        cache.clear()
        cold.append(timed())
    warm = [timed() for _ in range(views)]
    with state.session_factory.begin() as db:
        issuing.revoke(
            db,
            slug="bench-org",
            actor=None,
            issued_id=issued_id,
            reason="bench",
            kek=state.secrets.key_encryption_key,
            base_url=settings.base_url,
            now=NOW,
        )
    after_revocation = timed()
    assert "Revoked:" in client.get(path).get_data(as_text=True)

    print(f"Share page views (SQLite, Flask test client, {views} warm views)")
    print(f"{'case':<34}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}")
    for name, samples in (
        ("first view (verifies, cache empty)", cold),
        ("repeated view (cached report)", warm),
        ("first view after a revocation", [after_revocation]),
    ):
        print(f"{name:<34}{len(samples):>6}{statistics.median(samples):>10.1f}{_percentile(samples, 0.95):>10.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
