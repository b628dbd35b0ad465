"""After a learner deletes their account, nothing they wrote is left in the SQLite files on disk — not in
the database's free space, not in the write-ahead log (#18 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    TEST_DATABASE_URL.startswith("postgresql"), reason="the SQLite files; PostgreSQL's WAL is the operator's"
)

MARKER = "Zanzibar Quokka 7731"


def _files(database_url: str) -> bytes:
    path = Path(str(make_url(database_url).database))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_a_deleted_account_leaves_its_words_in_neither_the_database_nor_its_log(
    committed_app: Flask, database_url: str
) -> None:
    client = committed_app.test_client()
    made = client.post(
        "/api/v1/accounts",
        json={
            "username": "quokka-7731",
            "password": "correct horse battery",
            "display_name": MARKER,
            "device": {"name": f"{MARKER} phone", "platform": "android"},
        },
    )
    assert made.status_code == 201, made.json
    assert MARKER.encode() in _files(database_url)

    deleted = client.delete(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {made.json['access_token']}"},
        json={"password": "correct horse battery"},
    )

    assert deleted.status_code == 204
    assert MARKER.encode() not in _files(database_url)
