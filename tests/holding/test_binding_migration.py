"""Credentials held before holder binding existed get their binding and copy marks from the migration."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import sqlalchemy as sa

from wallet.db import make_engine
from wallet.migrate import upgrade

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _credential(subject: str) -> bytes:
    return json.dumps(
        {
            "id": "urn:uuid:11111111-2222-4333-8444-555555555555",
            "issuer": {"id": "did:key:z6MkI"},
            "credentialSubject": {"id": subject},
            "proof": {"type": "DataIntegrityProof", "proofValue": "z5sig"},
        }
    ).encode()


def test_the_migration_binds_own_credentials_and_marks_later_copies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, revision="0008")
    engine = make_engine(url)
    owner, copier = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        for number, account in enumerate((owner, copier)):
            connection.execute(
                sa.text(
                    "INSERT INTO accounts (id, username, password_hash, display_name, subject_id, created_at) "
                    "VALUES (:id, :username, 'x', 'X', :subject, :now)"
                ),
                {
                    "id": account.hex,
                    "username": f"user{number}",
                    "subject": f"urn:uuid:subject-{number}",
                    "now": NOW.isoformat(),
                },
            )
        for number, (account, raw) in enumerate(
            ((owner, _credential("urn:uuid:subject-0")), (copier, _credential("urn:uuid:subject-0") + b" "))
        ):
            connection.execute(
                sa.text(
                    "INSERT INTO held_credentials (id, account_id, content_hash, raw, media_type, format, "
                    "credential_id, issuer_id, tags, source, added_at) VALUES (:id, :account, :hash, :raw, "
                    "'application/json', 'vc-json', 'urn:uuid:11111111-2222-4333-8444-555555555555', "
                    "'did:key:z6MkI', '[]', 'import', :added)"
                ),
                {
                    "id": uuid.uuid4().hex,
                    "account": account.hex,
                    "hash": f"sha256:{number}",
                    "raw": raw,
                    "added": (NOW + dt.timedelta(minutes=number)).isoformat(),
                },
            )
    upgrade(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT account_id, holder_binding, copy_of_held, proof_hash IS NOT NULL, id_hash IS NOT NULL "
                "FROM held_credentials ORDER BY added_at"
            )
        ).all()
    engine.dispose()
    assert [tuple(row[1:]) for row in rows] == [("subject", 0, 1, 1), ("none", 1, 1, 1)]
