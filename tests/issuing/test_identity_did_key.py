"""Issuer identity where there is no public https origin (the embedded default, http://127.0.0.1:5000):
nobody could resolve a did:web there, so every credential names the did:key of the key that signed it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy.orm import Session

from wallet.config import Settings
from wallet.issuing.keys import rotate_key

BASE_URL = "http://127.0.0.1:5000"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, base_url=BASE_URL)


def test_the_issuer_is_the_did_key_that_signed(
    app: Any, client: Any, db: Session, sign_up: Any, award: Any, issuer: Any, clock: Any
) -> None:
    learner = sign_up("sam")
    first = award("sam")
    credential = first["credential"]
    method = credential["proof"]["verificationMethod"]

    assert method.startswith("did:key:z6Mk")
    assert credential["issuer"]["id"] == method.split("#")[0]
    assert credential["issuer"]["url"] == f"{BASE_URL}/issuers/makerspace-north"
    assert client.get("/issuers/makerspace-north/did.json").status_code == 404

    status_list = client.get(credential["credentialStatus"]["statusListCredential"].removeprefix(BASE_URL)).json
    assert status_list["issuer"] == credential["issuer"]["id"]
    assert status_list["proof"]["verificationMethod"] == method

    app.extensions["wallet"].fetcher.remote = None  # the status list comes from the database, not over HTTP
    response = client.post(
        "/api/v1/verify", data=json.dumps(credential), headers={**learner.headers, "Content-Type": "application/json"}
    )
    assert response.json["outcome"] == "valid", response.json["checks"]

    clock.advance(minutes=5)
    rotate_key(
        db, slug="makerspace-north", actor=None, kek=app.extensions["wallet"].secrets.key_encryption_key, now=clock.now
    )
    db.commit()
    sign_up("kim")
    later = award("kim")["credential"]
    assert later["issuer"]["id"] != credential["issuer"]["id"]
    assert later["issuer"]["id"] == later["proof"]["verificationMethod"].split("#")[0]
    response = client.post(
        "/api/v1/verify", data=json.dumps(credential), headers={**learner.headers, "Content-Type": "application/json"}
    )
    assert response.json["outcome"] == "valid", response.json["checks"]
