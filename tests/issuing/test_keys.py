"""Issuer keys: sealed at rest, published in the issuer profile, rotated without breaking old badges."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.credentials import multikey
from wallet.credentials.verify import verify_credential
from wallet.issuing.keys import KeyDecryptionError, active_key, ensure_active_key, private_key_of, rotate_key
from wallet.models import IssuerKey, Organisation


def _organisation_id(db: Session, slug: str = "makerspace-north") -> uuid.UUID:
    organisation = db.scalar(select(Organisation).where(Organisation.slug == slug))
    assert organisation is not None
    return organisation.id


def test_the_private_key_is_stored_sealed_and_opens_only_with_the_kek(
    app: Any, db: Session, organisation: Any, clock: Any
) -> None:
    organisation()
    kek = app.extensions["wallet"].secrets.key_encryption_key
    key = ensure_active_key(db, organisation_id=_organisation_id(db), kek=kek, now=clock.now)

    private_key = private_key_of(key, kek=kek)
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert seed not in key.encrypted_private_key
    assert multikey.verification_method_id(private_key) == key.verification_method
    with pytest.raises(KeyDecryptionError):
        private_key_of(key, kek=os.urandom(32))


def test_a_sealed_key_moved_to_another_row_does_not_open(app: Any, db: Session, organisation: Any, clock: Any) -> None:
    organisation()
    organisation("museum-east", "Museum East")
    kek = app.extensions["wallet"].secrets.key_encryption_key
    ours = ensure_active_key(db, organisation_id=_organisation_id(db), kek=kek, now=clock.now)
    theirs = ensure_active_key(db, organisation_id=_organisation_id(db, "museum-east"), kek=kek, now=clock.now)

    theirs.encrypted_private_key = ours.encrypted_private_key

    with pytest.raises(KeyDecryptionError):
        private_key_of(theirs, kek=kek)


def test_the_key_is_made_once_and_reused(app: Any, db: Session, organisation: Any, clock: Any) -> None:
    organisation()
    kek = app.extensions["wallet"].secrets.key_encryption_key
    first = ensure_active_key(db, organisation_id=_organisation_id(db), kek=kek, now=clock.now)
    again = ensure_active_key(db, organisation_id=_organisation_id(db), kek=kek, now=clock.now)

    assert again.id == first.id


def test_the_issuer_profile_lists_its_keys(client: Any, sign_up: Any, award: Any) -> None:
    sign_up("sam")
    method = award("sam")["credential"]["proof"]["verificationMethod"]

    response = client.get("/issuers/makerspace-north", headers={"Accept": "application/ld+json"})

    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    profile = response.json
    assert profile["id"] == "https://wallet.test/issuers/makerspace-north"
    assert profile["type"] == ["Profile"]
    assert profile["@context"][:2] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    multibase = method.partition("#")[2]
    did_key = f"did:key:{multibase}"
    assert profile["assertionMethod"] == [f"{did_key}#{multibase}"]
    assert profile["verificationMethod"] == [
        {"id": f"{did_key}#{multibase}", "type": "Multikey", "controller": did_key, "publicKeyMultibase": multibase}
    ]
    assert profile["alsoKnownAs"] == ["did:web:wallet.test:issuers:makerspace-north"]
    assert client.get("/issuers/nobody-here").status_code == 404


def test_after_rotation_new_badges_use_the_new_key_and_old_ones_still_verify(
    app: Any, client: Any, db: Session, sign_up: Any, award: Any, clock: Any, fetch_json: Callable[[str], Any]
) -> None:
    sign_up("sam")
    sign_up("kim")
    old = award("sam")["credential"]
    kek = app.extensions["wallet"].secrets.key_encryption_key

    clock.advance(minutes=5)
    rotated = rotate_key(db, slug="makerspace-north", actor=None, kek=kek, now=clock.now)
    db.commit()
    new = award("kim")["credential"]

    did = "did:web:wallet.test:issuers:makerspace-north"
    assert new["proof"]["verificationMethod"] == f"{did}#{rotated.public_key_multibase}"
    assert new["proof"]["verificationMethod"] != old["proof"]["verificationMethod"]
    assert new["issuer"]["id"] == old["issuer"]["id"] == did
    for credential in (old, new):
        report = verify_credential(credential, now=clock.now, fetch_json=fetch_json)
        assert report.outcome == "valid", report.checks
    document = client.get("/issuers/makerspace-north/did.json").json
    assert document["assertionMethod"] == [new["proof"]["verificationMethod"], old["proof"]["verificationMethod"]]
    keys = db.scalars(select(IssuerKey).where(IssuerKey.organisation_id == _organisation_id(db))).all()
    assert sorted(key.retired_at is None for key in keys) == [False, True]


def test_only_admins_rotate_keys(app: Any, db: Session, organisation: Any, clock: Any) -> None:
    org = organisation()
    kek = app.extensions["wallet"].secrets.key_encryption_key
    ensure_active_key(db, organisation_id=_organisation_id(db), kek=kek, now=clock.now)
    from wallet.errors import DomainError

    with pytest.raises(DomainError) as refused:
        rotate_key(db, slug="makerspace-north", actor=uuid.UUID(org["worker"].account_id), kek=kek, now=clock.now)
    assert refused.value.code == "auth.forbidden"
    rotate_key(
        db,
        slug="makerspace-north",
        actor=uuid.UUID(org["admin"].account_id),
        kek=kek,
        now=clock.now + dt.timedelta(seconds=1),
    )
    assert active_key(db, organisation_id=_organisation_id(db)) is not None


def test_the_cli_rotates_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wallet.cli import main

    monkeypatch.setenv("WALLET_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("WALLET_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = CliRunner()
    created = runner.invoke(main, ["org", "create", "--slug", "hub", "--name", "Hub", "--admin", "ada"])
    assert created.exit_code == 0, created.output

    first = runner.invoke(main, ["issuer", "rotate-key", "--slug", "hub"])
    second = runner.invoke(main, ["issuer", "rotate-key", "--slug", "hub"])
    unknown = runner.invoke(main, ["issuer", "rotate-key", "--slug", "nope"])

    assert first.exit_code == 0 and second.exit_code == 0, (first.output, second.output)
    assert "did:key:z6Mk" in first.output
    assert first.output != second.output
    assert unknown.exit_code != 0


def test_the_profile_document_is_json_ld_that_loses_nothing(client: Any, sign_up: Any, award: Any) -> None:
    from wallet.credentials.jsonld import canonize

    sign_up("sam")
    multibase = award("sam")["credential"]["proof"]["verificationMethod"].partition("#")[2]
    method = f"did:key:{multibase}#{multibase}"
    profile = client.get("/issuers/makerspace-north").json

    quads = canonize(profile)

    assert f"<https://w3id.org/security#assertionMethod> <{method}>" in quads
