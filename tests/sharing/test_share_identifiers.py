"""One identifier story for a held credential: whichever of its names a client has — the listing's `id`, the
`content_hash` the SDK's offline replica uses, or the credential's own `credential_id` — shares and the
credential endpoints accept it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sharing.conftest import Awarded


def _listed(client: Any, awarded: Awarded) -> dict[str, Any]:
    (item,) = client.get("/api/v1/credentials", headers=awarded.learner.headers).json
    return item


@pytest.mark.parametrize("name", ["id", "content_hash", "credential_id"])
def test_a_share_can_name_the_credential_by_any_of_its_names(client: Any, award_badge: Any, name: str) -> None:
    awarded = award_badge()
    listed = _listed(client, awarded)
    assert listed["content_hash"].startswith("sha256:") and listed["credential_id"].startswith("urn:uuid:")

    made = client.post("/api/v1/shares", headers=awarded.learner.headers, json={"credential_id": listed[name]})
    filtered = client.get(
        "/api/v1/shares", headers=awarded.learner.headers, query_string={"credential_id": listed[name]}
    )

    assert made.status_code == 201, made.json
    assert made.json["target_id"] == listed["id"]
    assert [link["id"] for link in filtered.json] == [made.json["id"]]


@pytest.mark.parametrize("name", ["id", "content_hash", "credential_id"])
def test_the_credential_endpoints_accept_any_of_its_names(client: Any, award_badge: Any, name: str) -> None:
    awarded = award_badge()
    listed = _listed(client, awarded)

    one = client.get(f"/api/v1/credentials/{listed[name]}", headers=awarded.learner.headers)
    raw = client.get(f"/api/v1/credentials/{listed[name]}/raw", headers=awarded.learner.headers)

    assert one.status_code == 200, one.json
    assert one.json["id"] == listed["id"]
    assert raw.status_code == 200 and raw.headers["ETag"].strip('"') == listed["content_hash"]


@pytest.mark.parametrize("name", ["id", "content_hash", "credential_id"])
def test_another_learners_credential_is_not_found_by_any_name(
    client: Any, award_badge: Any, sign_up: Any, name: str
) -> None:
    awarded = award_badge()
    listed = _listed(client, awarded)
    stranger = sign_up()

    share = client.post("/api/v1/shares", headers=stranger.headers, json={"credential_id": listed[name]})
    read = client.get(f"/api/v1/credentials/{listed[name]}", headers=stranger.headers)

    assert (share.status_code, share.json["code"]) == (404, "credential.not_found")
    assert (read.status_code, read.json["code"]) == (404, "credential.not_found")


@pytest.mark.parametrize(
    "reference",
    [
        "sha256:" + "0" * 64,
        "urn:uuid:8c0c5a3e-39f4-4a69-9a7a-3f8f2c8f0a11",
        "8c0c5a3e-39f4-4a69-9a7a-3f8f2c8f0a11",
        "not-an-id",
    ],
)
def test_a_name_that_matches_nothing_is_a_404_not_a_validation_error(
    client: Any, award_badge: Any, reference: str
) -> None:
    awarded = award_badge()

    response = client.post("/api/v1/shares", headers=awarded.learner.headers, json={"credential_id": reference})

    assert (response.status_code, response.json["code"]) == (404, "credential.not_found")
