"""The learner's side: making, listing, changing and revoking share links through the API."""

from __future__ import annotations

import uuid
from typing import Any

from tests.sharing.conftest import path_of, share


def test_a_learner_lists_their_links_newest_first_with_counts(client: Any, award_badge: Any, clock: Any) -> None:
    awarded = award_badge()
    first = share(client, awarded, label="for Acme interview")
    clock.advance(minutes=1)
    second = share(client, awarded, label="for college", expires_at="2027-01-01T00:00:00Z")
    client.get(path_of(first))
    listed = client.get("/api/v1/shares", headers=awarded.learner.headers).json
    assert [item["label"] for item in listed] == ["for college", "for Acme interview"]
    assert [item["view_count"] for item in listed] == [0, 1]
    assert listed[0]["expires_at"].startswith("2027-01-01T00:00:00")
    assert listed[0]["url"] == second["url"] and second["url"].startswith("https://wallet.test/s/")
    only = client.get(f"/api/v1/shares?credential_id={awarded.held_id}", headers=awarded.learner.headers).json
    assert len(only) == 2
    other = client.get(f"/api/v1/shares?credential_id={uuid.uuid4()}", headers=awarded.learner.headers).json
    assert other == []


def test_links_must_point_at_the_learners_own_credential(client: Any, award_badge: Any, sign_up: Any) -> None:
    awarded = award_badge()
    stranger = sign_up()
    response = client.post("/api/v1/shares", headers=stranger.headers, json={"credential_id": str(awarded.held_id)})
    assert (response.status_code, response.json["code"]) == (404, "credential.not_found")


def test_an_expiry_in_the_past_is_refused(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    response = client.post(
        "/api/v1/shares",
        headers=awarded.learner.headers,
        json={"credential_id": str(awarded.held_id), "expires_at": "2020-01-01T00:00:00Z"},
    )
    assert (response.status_code, response.json["code"]) == (422, "request.validation_failed")


def test_a_link_can_be_relabelled_and_its_expiry_removed(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    link = share(client, awarded, expires_at="2026-12-01T00:00:00Z")
    changed = client.patch(
        f"/api/v1/shares/{link['id']}",
        headers=awarded.learner.headers,
        json={"label": "renamed", "expires_at": None, "show_evidence": True},
    )
    assert changed.status_code == 200
    assert (changed.json["label"], changed.json["expires_at"], changed.json["show_evidence"]) == ("renamed", None, True)


def test_unknown_fields_are_rejected(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    response = client.post(
        "/api/v1/shares",
        headers=awarded.learner.headers,
        json={"credential_id": str(awarded.held_id), "email": "x@example.com"},
    )
    assert response.status_code == 422


def test_the_export_lists_the_learners_links(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    link = share(client, awarded, label="for Acme interview")
    exported = client.get("/api/v1/me/export", headers=awarded.learner.headers).json
    assert [(item["id"], item["label"]) for item in exported["shares"]] == [(link["id"], "for Acme interview")]
    assert exported["shares"][0]["path"] == path_of(link)


def test_erasing_the_account_erases_its_links(client: Any, award_badge: Any, db: Any) -> None:
    from sqlalchemy import func, select

    from wallet.models import ShareLink

    awarded = award_badge()
    link = share(client, awarded)
    response = client.delete("/api/v1/me", headers=awarded.learner.headers, json={"password": awarded.learner.password})
    assert response.status_code in (200, 204)
    assert db.scalar(select(func.count()).select_from(ShareLink)) == 0
    assert client.get(path_of(link)).status_code == 404
