"""A learner's requests and evidence are theirs: in the data export, erased with the account."""

from __future__ import annotations

import base64
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.requests.conftest import png_bytes
from wallet.models import BadgeRequest, EvidenceFile, RequestMessage


def test_the_data_export_holds_every_request_its_thread_and_its_files(
    client: FlaskClient, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable()
    learner = sign_up()
    made = ask(learner, org["achievement_id"], witness="Alex", links=["https://blog.example/me"])
    photo = png_bytes()
    client.post(
        f"/api/v1/me/badge-requests/{made['id']}/files?filename=me.png",
        headers={**learner.headers, "Content-Type": "image/png"},
        data=photo,
    )
    client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/ask",
        headers=org["worker"].headers,
        json={"question": "When?"},
    )

    exported = client.get("/api/v1/me/export", headers=learner.headers).json["badge_requests"]

    assert len(exported) == 1
    item = exported[0]
    assert (item["status"], item["narrative"], item["witness"], item["links"]) == (
        "more_info",
        "I fixed three lamps and a toaster.",
        "Alex",
        ["https://blog.example/me"],
    )
    assert [(m["from"], m["kind"], m["body"]) for m in item["thread"]] == [
        ("learner", "submitted", ""),
        ("youth_worker", "more_info", "When?"),
    ]
    stored = base64.b64decode(item["files"][0]["data_base64"])
    assert stored[:8] == b"\x89PNG\r\n\x1a\n" and item["files"][0]["filename"] == "me.png"


def test_deleting_the_account_erases_its_requests_threads_and_files(
    client: FlaskClient, db: Session, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable()
    learner = sign_up()
    made = ask(learner, org["achievement_id"])
    client.post(
        f"/api/v1/me/badge-requests/{made['id']}/files",
        headers={**learner.headers, "Content-Type": "image/png"},
        data=png_bytes(),
    )
    client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/approve",
        headers=org["worker"].headers,
        json={},
    )

    deleted = client.delete("/api/v1/me", headers=learner.headers, json={"password": learner.password})

    assert deleted.status_code == 204
    for model in (BadgeRequest, EvidenceFile, RequestMessage):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    assert client.get(f"/api/v1/organisations/{org['slug']}/badge-requests", headers=org["worker"].headers).json == []


def test_a_reviewer_who_erases_their_account_leaves_the_decision_and_its_role(
    client: FlaskClient, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable()
    learner = sign_up()
    made = ask(learner, org["achievement_id"])
    worker = org["worker"]
    client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/reject",
        headers=worker.headers,
        json={"reason": "Not this time."},
    )

    assert client.delete("/api/v1/me", headers=worker.headers, json={"password": worker.password}).status_code == 204

    mine = client.get(f"/api/v1/me/badge-requests/{made['id']}", headers=learner.headers).json
    assert mine["status"] == "rejected" and mine["decided_by_role"] == "youth_worker"
    assert mine["thread"][-1]["author"] == "youth_worker" and mine["thread"][-1]["author_name"] is None
