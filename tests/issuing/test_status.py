"""Revocation: the bit flips in the served, signed list at once; indexes are never handed out twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.credentials import dataintegrity, multikey
from wallet.credentials.status_list import MIN_BITS, bit_is_set, decode_status_list
from wallet.credentials.verify import verify_credential
from wallet.issuing.status import allocate_index, bit_position, set_status
from wallet.models import IssuedCredential, Organisation


def _bits(document: dict[str, Any]) -> bytes:
    return decode_status_list(document["credentialSubject"]["encodedList"])


def test_revoking_flips_exactly_that_badges_bit_in_the_signed_list(
    client: Any, sign_up: Any, award: Any, issuer: Any
) -> None:
    sign_up("sam")
    sign_up("kim")
    kept, revoked = award("sam"), award("kim")
    list_url = revoked["credential"]["credentialStatus"]["statusListCredential"]
    path = list_url.removeprefix("https://wallet.test")
    before = client.get(path)
    assert before.headers["Cache-Control"] == "public, max-age=60"
    assert not any(_bits(before.json))

    response = client.post(
        f"/api/v1/organisations/makerspace-north/awards/{revoked['id']}/revoke",
        headers=issuer["admin"].headers,
        json={"reason": "Awarded to the wrong learner"},
    )
    assert response.status_code == 200, response.json
    assert response.json["revocation_reason"] == "Awarded to the wrong learner"
    after = client.get(path)

    bits = _bits(after.json)
    assert len(bits) * 8 == MIN_BITS
    assert bit_is_set(bits, int(revoked["credential"]["credentialStatus"]["statusListIndex"]))
    assert not bit_is_set(bits, int(kept["credential"]["credentialStatus"]["statusListIndex"]))
    assert sum(bin(byte).count("1") for byte in bits) == 1
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.json["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert after.json["id"] == list_url
    assert after.json["credentialSubject"]["id"] == f"{list_url}#list"
    assert after.json["credentialSubject"]["statusPurpose"] == "revocation"
    assert after.json["issuer"] == "did:web:wallet.test:issuers:makerspace-north"
    method = after.json["proof"]["verificationMethod"]
    assert method.startswith("did:web:wallet.test:issuers:makerspace-north#z6Mk")
    assert dataintegrity.verify(
        after.json, resolve_key=lambda method: multikey.resolve_did_key("did:key:" + method.partition("#")[2])
    ).ok


def test_a_verifier_sees_the_revocation_at_once(
    client: Any, sign_up: Any, award: Any, issuer: Any, clock: Any, fetch_json: Callable[[str], Any]
) -> None:
    sign_up("sam")
    awarded = award("sam")
    assert verify_credential(awarded["credential"], now=clock.now, fetch_json=fetch_json).outcome == "valid"

    client.post(
        f"/api/v1/organisations/makerspace-north/awards/{awarded['id']}/revoke",
        headers=issuer["admin"].headers,
        json={"reason": "Mistake"},
    )

    report = verify_credential(awarded["credential"], now=clock.now, fetch_json=fetch_json)
    assert {check.name: check.outcome for check in report.checks}["status"] == "failed"


def test_the_list_answers_304_until_it_changes(client: Any, sign_up: Any, award: Any, issuer: Any) -> None:
    sign_up("sam")
    awarded = award("sam")
    path = awarded["status_list_credential"].removeprefix("https://wallet.test")
    etag = client.get(path).headers["ETag"]

    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    client.post(
        f"/api/v1/organisations/makerspace-north/awards/{awarded['id']}/revoke",
        headers=issuer["admin"].headers,
        json={"reason": "Mistake"},
    )
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 200
    assert client.get("/status/makerspace-north/revocation/99").status_code == 404


def test_awards_list_shows_learners_by_username_only(
    client: Any, db: Session, sign_up: Any, award: Any, issuer: Any
) -> None:
    sign_up("sam", display_name="Sam")
    awarded = award("sam")

    listed = client.get("/api/v1/organisations/makerspace-north/awards", headers=issuer["admin"].headers).json

    assert [item["id"] for item in listed] == [awarded["id"]]
    assert listed[0]["recipient"] == {"username": "sam", "display_name": "Sam"}
    assert listed[0]["achievement_name"] == "Soldering basics"
    assert "credential" not in listed[0]


@given(list_id=st.uuids(), counters=st.sets(st.integers(min_value=0, max_value=MIN_BITS - 1), max_size=200))
def test_counters_map_to_distinct_bits(list_id: uuid.UUID, counters: set[int]) -> None:
    positions = {bit_position(list_id, counter, MIN_BITS) for counter in counters}

    assert len(positions) == len(counters)
    assert all(0 <= position < MIN_BITS for position in positions)


def test_a_full_list_makes_a_new_one(app: Any, db: Session, organisation: Any, clock: Any) -> None:
    organisation()
    found = db.scalar(select(Organisation).where(Organisation.slug == "makerspace-north"))
    kek = app.extensions["wallet"].secrets.key_encryption_key
    allocations = [
        allocate_index(db, organisation=found, kek=kek, base_url="https://wallet.test", now=clock.now, capacity=2)
        for _ in range(5)
    ]

    assert [status_list.list_no for status_list, _ in allocations] == [1, 1, 2, 2, 3]
    assert len({(status_list.id, index) for status_list, index in allocations}) == 5


@pytest.mark.postgres
def test_concurrent_awards_get_distinct_status_indexes(committed_app: Flask, clock: Any) -> None:
    client = committed_app.test_client()

    def sign_up(username: str) -> dict[str, str]:
        response = client.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "password": "correct horse battery",
                "display_name": "",
                "device": {"name": "p"},
            },
        )
        assert response.status_code == 201, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    admin = sign_up("race-admin")
    learners = [f"racer-{n}" for n in range(12)]
    for username in learners:
        sign_up(username)
    from wallet.models import Role
    from wallet.organisations import services as organisations

    with committed_app.extensions["wallet"].session_factory.begin() as db:
        organisations.create_organisation(db, slug="race-org", name="Race", now=clock.now)
        organisations.add_member(db, slug="race-org", actor=None, username="race-admin", role=Role.ADMIN, now=clock.now)
    achievement = client.post(
        "/api/v1/organisations/race-org/achievements",
        headers=admin,
        json={"name": "Fast", "description": "Quick", "criteria_narrative": "Go"},
    ).json
    awards_url = f"/api/v1/organisations/race-org/achievements/{achievement['id']}/awards"
    assert client.post(awards_url, headers=admin, json={"username": learners[0]}).status_code == 201

    barrier = threading.Barrier(len(learners) - 1)
    statuses: list[int] = []

    def award(username: str) -> None:
        own_client = committed_app.test_client()
        barrier.wait()
        statuses.append(own_client.post(awards_url, headers=admin, json={"username": username}).status_code)

    threads = [threading.Thread(target=award, args=(username,)) for username in learners[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [201] * (len(learners) - 1)
    with committed_app.extensions["wallet"].session_factory() as db:
        rows = db.execute(select(IssuedCredential.status_list_id, IssuedCredential.status_index)).all()
    assert len(rows) == len(learners)
    assert len(set(rows)) == len(learners)


@pytest.mark.postgres
def test_an_issuance_in_progress_leaves_the_status_list_unlocked(committed_app: Flask, clock: Any) -> None:
    """The index comes from a block reserved and committed apart, so a claim signing and storing its
    credential holds no lock on the organisation's list that a revocation waits for (lock_timeout 2 s)."""
    from sqlalchemy import text

    from wallet.issuing.credentials import issue_credential
    from wallet.models import Account, Achievement, Role
    from wallet.organisations import services as organisations

    client = committed_app.test_client()
    tokens = {}
    for username in ("lock-admin", "lock-learner"):
        response = client.post(
            "/api/v1/accounts",
            json={"username": username, "password": "correct horse battery", "device": {"name": "p"}},
        )
        assert response.status_code == 201, response.json
        tokens[username] = response.json["access_token"]
    state = committed_app.extensions["wallet"]
    with state.session_factory.begin() as db:
        organisations.create_organisation(db, slug="lock-org", name="Lock", now=clock.now)
        organisations.add_member(db, slug="lock-org", actor=None, username="lock-admin", role=Role.ADMIN, now=clock.now)
    headers = {"Authorization": f"Bearer {tokens['lock-admin']}"}
    achievement = client.post(
        "/api/v1/organisations/lock-org/achievements",
        headers=headers,
        json={"name": "Unlocked", "description": "Quick", "criteria_narrative": "Go"},
    ).json
    awards_url = f"/api/v1/organisations/lock-org/achievements/{achievement['id']}/awards"
    assert client.post(awards_url, headers=headers, json={"username": "lock-admin"}).status_code == 201

    kek = state.secrets.key_encryption_key
    with state.session_factory() as claiming:
        learner = claiming.scalar(select(Account.id).where(Account.username == "lock-learner"))
        achievement_id = claiming.scalar(select(Achievement.id).where(Achievement.name == "Unlocked"))
        issued = issue_credential(
            claiming,
            achievement_id=achievement_id,
            recipient_account_id=learner,
            kek=kek,
            base_url="https://wallet.test",
            now=clock.now,
        )
        with state.session_factory() as revoking:
            revoking.execute(text("SET lock_timeout = '2s'"))
            organisation = revoking.scalar(select(Organisation).where(Organisation.slug == "lock-org"))
            assert organisation is not None
            revoked = set_status(
                revoking,
                organisation=organisation,
                status_list_id=issued.status_list_id,
                index=(issued.status_index + 1) % MIN_BITS,
                kek=kek,
                base_url="https://wallet.test",
                now=clock.now,
            ).id
            revoking.rollback()
        assert revoked == issued.status_list_id
        claiming.rollback()
