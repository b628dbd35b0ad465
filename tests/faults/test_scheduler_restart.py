"""Two ``wallet scheduler --once`` processes started at the same instant do each job's work once.

PostgreSQL: each job runs under ``pg_try_advisory_xact_lock``, so the second process either skips a job
the first is running or finds nothing left to do. Four claim sessions ended an hour ago; between them the
two processes must report closing exactly four, and every session is closed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.claims.conftest import make_achievement
from tests.conftest import FakeClock
from tests.faults.live import ROOT
from wallet.config import Settings
from wallet.models import ClaimSession, Role, SessionState
from wallet.organisations import services as organisations

pytestmark = pytest.mark.postgres

ENDED_SESSIONS = 4


def _sign_up(client: Any, username: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "phone"}},
    )
    assert response.status_code == 201, response.json
    return {
        "account_id": response.json["account_id"],
        "headers": {"Authorization": f"Bearer {response.json['access_token']}"},
    }


def _results(output: str) -> dict[str, int | None]:
    results: dict[str, int | None] = {}
    for line in output.splitlines():
        match = re.fullmatch(r"([\w.]+): (\d+|skipped \(running elsewhere\))", line.strip())
        if match:
            results[match[1]] = int(match[2]) if match[2].isdigit() else None
    return results


def test_two_schedulers_started_together_close_each_ended_session_once(
    committed_app: Flask, settings: Settings, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    client = committed_app.test_client()
    admin = _sign_up(client, "sched-admin")
    worker = _sign_up(client, "sched-worker")
    factory = committed_app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="sched", name="Sched", now=clock.now)
        organisations.add_member(db, slug="sched", actor=None, username="sched-admin", role=Role.ADMIN, now=clock.now)
        organisations.add_member(
            db, slug="sched", actor=None, username="sched-worker", role=Role.YOUTH_WORKER, now=clock.now
        )
    with factory() as db:
        achievement_id = make_achievement(db, {"slug": "sched", "admin": SimpleNamespace(**admin)}, now=clock.now)
    for n in range(ENDED_SESSIONS):
        opened = client.post(
            "/api/v1/organisations/sched/claim-sessions",
            headers=worker["headers"],
            json={
                "achievement_id": achievement_id,
                "title": f"Ended {n}",
                "venue": "Hall",
                "cap": 5,
                "starts_at": (clock.now - dt.timedelta(minutes=5)).isoformat(),
                "ends_at": (clock.now + dt.timedelta(hours=2)).isoformat(),
            },
        )
        assert opened.status_code == 201, opened.json
    env = {key: value for key, value in os.environ.items() if not key.startswith("WALLET_")}
    env.update(
        WALLET_DATABASE_URL=database_url,
        WALLET_INSTANCE_PATH=settings.instance_path,
        WALLET_LOG_LEVEL="WARNING",
        WALLET_SECRET_KEY=settings.secret_key,
        WALLET_KEY_ENCRYPTION_KEY=settings.key_encryption_key,
    )

    command = [sys.executable, "-m", "wallet.cli", "scheduler", "--once"]
    processes = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    first, second = (_results(output) for output in outputs)
    assert set(first) == set(second) and "claims.close_ended_sessions" in first, outputs
    for job in first:
        done = [n for n in (first[job], second[job]) if n]
        assert len(done) <= 1, f"{job} did work in both processes: {outputs}"
    assert (first["claims.close_ended_sessions"] or 0) + (second["claims.close_ended_sessions"] or 0) == (
        ENDED_SESSIONS
    )
    with factory() as db:
        states = db.scalars(select(ClaimSession.state)).all()
    assert states == [SessionState.CLOSED] * ENDED_SESSIONS
