"""The learner's store through the API: import, list, filter, read back byte for byte, tag, delete."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.holding.factories import badge, signed, signed_bytes
from wallet.holding import services as holding
from wallet.models import HeldCredential


def import_bytes(client: Any, who: Any, body: bytes, content_type: str = "application/json") -> Any:
    return client.post("/api/v1/credentials/import", data=body, headers={**who.headers, "Content-Type": content_type})


def imported(client: Any, who: Any, body: bytes, content_type: str = "application/json") -> dict[str, Any]:
    response = import_bytes(client, who, body, content_type)
    assert response.status_code == 201, response.json
    return response.json


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["achievement_name"] for item in response.json]


def test_an_imported_credential_is_listed_with_its_report(client, sign_up):
    sam = sign_up("sam")
    held = imported(client, sam, signed_bytes(name="Welding 101"))
    assert held["achievement_name"] == "Welding 101"
    assert held["issuer_name"] == "Riverside Community College"
    assert held["outcome"] == "valid"
    assert [check["name"] for check in held["verification"]["checks"]] == [
        "proof",
        "issuer_key",
        "validity",
        "status",
        "shape",
    ]
    assert held["source"] == "import"
    listed = client.get("/api/v1/credentials", headers=sam.headers)
    assert [item["id"] for item in listed.json] == [held["id"]]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    detail = client.get(f"/api/v1/credentials/{held['id']}", headers=sam.headers).json
    assert detail["verification"]["outcome"] == "valid"


def test_the_list_is_newest_first_and_paginated(client, sign_up):
    sam = sign_up()
    for month in range(1, 6):
        imported(client, sam, signed_bytes(name=f"Badge {month}", valid_from=f"2026-0{month}-01T00:00:00Z"))
    first = client.get("/api/v1/credentials?page=1&page_size=2", headers=sam.headers)
    assert names(first) == ["Badge 5", "Badge 4"]
    pagination = json.loads(first.headers["X-Pagination"])
    assert pagination["total"] == 5
    assert pagination["total_pages"] == 3
    assert names(client.get("/api/v1/credentials?page=3&page_size=2", headers=sam.headers)) == ["Badge 1"]


def test_filters_narrow_the_list(client, sign_up, clock):
    sam = sign_up()
    imported(client, sam, signed_bytes(name="Welding 101", valid_from="2026-02-01T00:00:00Z"))
    imported(client, sam, signed_bytes(name="Advanced Welding", valid_from="2026-06-01T00:00:00Z"))
    old = imported(
        client,
        sam,
        signed_bytes(name="First Aid", valid_from="2025-01-01T00:00:00Z", validUntil="2026-01-01T00:00:00Z"),
    )
    client.patch(f"/api/v1/credentials/{old['id']}", headers=sam.headers, json={"tags": ["health"]})

    def listed(query: str) -> list[str]:
        return sorted(names(client.get(f"/api/v1/credentials?{query}", headers=sam.headers)))

    assert listed("q=WELD") == ["Advanced Welding", "Welding 101"]
    assert listed("tag=health") == ["First Aid"]
    assert listed("issued_after=2026-03-01T00:00:00Z") == ["Advanced Welding"]
    assert listed("issued_before=2026-03-01T00:00:00Z") == ["First Aid", "Welding 101"]
    assert listed("expired=true") == ["First Aid"]
    assert listed("expired=false") == ["Advanced Welding", "Welding 101"]
    assert listed("issuer=riverside") == ["Advanced Welding", "First Aid", "Welding 101"]
    assert listed("issuer=elsewhere") == []
    assert listed("status=valid") == ["Advanced Welding", "Welding 101"]
    assert listed("status=invalid") == ["First Aid"]  # expired: its validity check fails, but it is kept
    assert client.get("/api/v1/credentials?status=great", headers=sam.headers).status_code == 422


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    indent=st.sampled_from([None, 0, 1, 4, "\t"]),
    sort_keys=st.booleans(),
    padding=st.sampled_from(["", "\n", "  \r\n", "\t \n\n"]),
)
def test_the_raw_endpoint_returns_the_exact_bytes_received(client, sign_up, indent, sort_keys, padding):
    sam = sign_up()
    document = signed(badge())
    body = (padding + json.dumps(document, indent=indent, sort_keys=sort_keys) + padding).encode()
    held = imported(client, sam, body, "application/ld+json")
    raw = client.get(f"/api/v1/credentials/{held['id']}/raw", headers=sam.headers)
    assert raw.status_code == 200
    assert raw.data == body
    assert raw.mimetype == "application/ld+json"
    assert held["content_hash"] in raw.headers["ETag"]
    again = client.get(
        f"/api/v1/credentials/{held['id']}/raw", headers={**sam.headers, "If-None-Match": raw.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.data == b""


def test_tags_can_be_changed_and_are_tidied(client, sign_up):
    sam = sign_up()
    held = imported(client, sam, signed_bytes())
    response = client.patch(
        f"/api/v1/credentials/{held['id']}", headers=sam.headers, json={"tags": [" maker ", "Maker", "2026"]}
    )
    assert response.status_code == 200, response.json
    assert response.json["tags"] == ["2026", "maker"]  # the synced wallet's tags: normalised, sorted
    refused = client.patch(f"/api/v1/credentials/{held['id']}", headers=sam.headers, json={"note": "hi"})
    assert refused.status_code == 422


def test_deleting_removes_the_credential(client, sign_up):
    sam = sign_up()
    held = imported(client, sam, signed_bytes())
    assert client.delete(f"/api/v1/credentials/{held['id']}", headers=sam.headers).status_code == 204
    assert client.get(f"/api/v1/credentials/{held['id']}", headers=sam.headers).json["code"] == "credential.not_found"
    assert client.delete(f"/api/v1/credentials/{held['id']}", headers=sam.headers).status_code == 404


def test_adding_the_same_bytes_twice_is_idempotent(db, sign_up, clock):
    sam = sign_up()
    account_id = uuid.UUID(sam.account_id)
    raw = signed_bytes()
    first = holding.add_credential(
        db, account_id=account_id, raw=raw, media_type="application/json", source="award", now=clock.now
    )
    second = holding.add_credential(
        db, account_id=account_id, raw=raw, media_type="application/json", source="award", now=clock.now
    )
    assert first.id == second.id
    assert first.content_hash.startswith("sha256:")
    assert first.format == "vc-json"
    assert first.verification is None


def test_another_encoding_of_a_held_credential_is_a_duplicate(db, sign_up, clock):
    sam = sign_up()
    account_id = uuid.UUID(sam.account_id)
    document = signed(badge(credential_id="urn:uuid:11111111-2222-4333-8444-555555555555"))
    first = holding.add_credential(
        db,
        account_id=account_id,
        raw=json.dumps(document).encode(),
        media_type="application/json",
        source="claim",
        now=clock.now,
    )
    with pytest.raises(holding.DomainError) as refused:
        holding.add_credential(
            db,
            account_id=account_id,
            raw=json.dumps(document, indent=2).encode(),
            media_type="application/json",
            source="import",
            now=clock.now,
        )
    assert refused.value.code == "credential.duplicate"
    assert refused.value.extra["existing_id"] == str(first.id)


def test_another_learner_may_hold_the_same_credential(db, sign_up, clock):
    raw = signed_bytes()
    for learner in (sign_up(), sign_up()):
        held = holding.add_credential(
            db,
            account_id=uuid.UUID(learner.account_id),
            raw=raw,
            media_type="application/json",
            source="import",
            now=clock.now,
        )
        assert held.account_id == uuid.UUID(learner.account_id)


def test_deleting_the_account_erases_held_credentials(client, db, sign_up):
    sam = sign_up()
    held = imported(client, sam, signed_bytes())
    export = client.get("/api/v1/me/export", headers=sam.headers).json
    assert [item["id"] for item in export["credentials"]] == [held["id"]]
    assert export["credentials"][0]["credential"]["credentialSubject"]["achievement"]["name"] == "Welding 101"
    response = client.delete("/api/v1/me", headers=sam.headers, json={"password": sam.password})
    assert response.status_code == 204
    assert db.get(HeldCredential, uuid.UUID(held["id"])) is None
