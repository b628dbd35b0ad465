"""A backup is only a backup once it has been restored: pg_dump a populated database, restore it into a
fresh one with pg_restore (the commands docs/operations.md gives), start the service on the copy with
the same two secrets, and every learner signs in and every credential they hold still verifies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from tests.claims.conftest import make_achievement
from tests.conftest import TEST_DATABASE_URL, FakeClock, _create_postgres_database, _drop_postgres_database
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import make_engine
from wallet.models import Role
from wallet.organisations import services as organisations

pytestmark = pytest.mark.postgres

LEARNERS = 4
PASSWORD = "correct horse battery"


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sign_up(client: Any, username: str) -> SimpleNamespace:
    response = client.post(
        "/api/v1/accounts", json={"username": username, "password": PASSWORD, "device": {"name": "phone"}}
    )
    assert response.status_code == 201, response.json
    return SimpleNamespace(
        account_id=response.json["account_id"], headers={"Authorization": f"Bearer {response.json['access_token']}"}
    )


def _sign_in(client: Any, username: str) -> dict[str, str]:
    signed_in = client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "device": {"name": "new phone"}}
    )
    assert signed_in.status_code == 200, (username, signed_in.json)
    return {"Authorization": f"Bearer {signed_in.json['access_token']}"}


def test_a_restored_backup_signs_every_learner_in_and_verifies_every_credential(
    committed_app: Flask, settings: Settings, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    clock.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    client = committed_app.test_client()
    admin = _sign_up(client, "backup-admin")
    factory = committed_app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="backup", name="Backup", now=clock.now)
        organisations.add_member(db, slug="backup", actor=None, username="backup-admin", role=Role.ADMIN, now=clock.now)
    with factory() as db:
        achievement_id = make_achievement(db, {"slug": "backup", "admin": admin}, now=clock.now)
    learners = [f"backup-learner-{n}" for n in range(LEARNERS)]
    for username in learners:
        _sign_up(client, username)
        awarded = client.post(
            f"/api/v1/organisations/backup/achievements/{achievement_id}/awards",
            headers=admin.headers,
            json={"username": username},
        )
        assert awarded.status_code == 201, awarded.json

    dump = tmp_path / "wallet.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", f"--dbname={_libpq(database_url)}"], check=True
    )
    restored_url, restored_name = _create_postgres_database(TEST_DATABASE_URL)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(restored_url)}", str(dump)], check=True
        )
        engine = make_engine(restored_url)
        restored = create_app(
            dataclasses.replace(settings, database_url=restored_url, instance_path=str(tmp_path / "new-node")),
            clock=clock,
            engine=engine,
        )
        restored_client = restored.test_client()
        verified = 0
        for username in [*learners, "backup-admin"]:
            headers = _sign_in(restored_client, username)
            held = restored_client.get("/api/v1/credentials", headers=headers)
            assert held.status_code == 200
            for item in held.json:
                report = restored_client.post(f"/api/v1/credentials/{item['id']}/verify", headers=headers)
                assert report.status_code == 200, report.json
                assert report.json["verification"]["outcome"] == "valid", report.json["verification"]
                verified += 1
        assert verified == LEARNERS
        # The restored node can still sign: the issuer key opens with the same key-encryption key.
        more = restored_client.post(
            f"/api/v1/organisations/backup/achievements/{achievement_id}/awards",
            headers=_sign_in(restored_client, "backup-admin"),
            json={"username": learners[0]},
        )
        assert more.status_code == 201, more.json
        engine.dispose()
    finally:
        _drop_postgres_database(TEST_DATABASE_URL, restored_name)
