"""A learner asks for a badge with evidence; a youth worker asks for more, the learner answers, the
badge is approved and lands in the wallet carrying the evidence, and it verifies (docs/requests.md)."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from tests.requests.conftest import jpeg_bytes, png_bytes


def upload(client: FlaskClient, learner: Any, request_id: str, data: bytes, *, content_type: str, name: str) -> Any:
    return client.post(
        f"/api/v1/me/badge-requests/{request_id}/files?filename={name}",
        headers={**learner.headers, "Content-Type": content_type},
        data=data,
    )


def test_a_request_asked_for_more_answered_and_approved_lands_in_the_wallet_with_its_evidence(
    client: FlaskClient, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable()
    learner = sign_up("sam-learner", display_name="Sam")
    listed = client.get("/api/v1/requestable-badges", headers=learner.headers)
    assert [item["achievement_name"] for item in listed.json] == ["Repair café helper"]
    assert listed.json[0]["evidence_wanted"] == ["narrative", "files", "witness"]

    made = ask(
        learner,
        org["achievement_id"],
        links=["https://video.example/sam-fixes-a-lamp"],
        witness="Alex (youth worker)",
    )
    assert made["status"] == "submitted"
    photo = upload(client, learner, made["id"], jpeg_bytes(), content_type="image/jpeg", name="lamp.jpg")
    assert photo.status_code == 201, photo.json
    assert photo.json["media_type"] == "image/jpeg"

    worker = org["worker"]
    queue = client.get(f"/api/v1/organisations/{org['slug']}/badge-requests", headers=worker.headers)
    assert [(r["learner"]["username"], r["status"]) for r in queue.json] == [("sam-learner", "submitted")]
    seen = client.get(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/files/{photo.json['id']}",
        headers=worker.headers,
    )
    assert seen.status_code == 200 and seen.data[:3] == b"\xff\xd8\xff"
    assert seen.headers["Content-Disposition"].startswith("attachment")

    asked = client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/ask",
        headers=worker.headers,
        json={"question": "Which day was it?"},
    )
    assert asked.json["status"] == "more_info"
    answered = client.post(
        f"/api/v1/me/badge-requests/{made['id']}/replies", headers=learner.headers, json={"body": "Saturday 14th."}
    )
    assert answered.json["status"] == "submitted"
    assert [m["kind"] for m in answered.json["thread"]] == ["submitted", "more_info", "reply"]

    approved = client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/approve",
        headers=worker.headers,
        json={"comment": "Well done!"},
    )
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    assert approved.json["decided_by"] == worker.username
    assert approved.json["decided_by_role"] == "youth_worker"

    wallet = client.get("/api/v1/credentials", headers=learner.headers).json
    items = wallet["items"] if isinstance(wallet, dict) else wallet
    assert [item["achievement_name"] for item in items] == ["Repair café helper"]
    document = json.loads(client.get(f"/api/v1/credentials/{items[0]['id']}/raw", headers=learner.headers).data)
    evidence = document["evidence"]
    assert {
        "type": ["Evidence"],
        "name": "What the learner did",
        "narrative": "I fixed three lamps and a toaster.",
    } in evidence
    assert any(item.get("id") == "https://video.example/sam-fixes-a-lamp" for item in evidence)
    assert not any("/files/" in json.dumps(item) for item in evidence), "private files are never linked"
    verified = client.post(f"/api/v1/credentials/{items[0]['id']}/verify", headers=learner.headers)
    assert verified.json["outcome"] == "valid", verified.json


def test_a_png_is_kept_re_encoded_and_the_learner_can_withdraw_the_request_and_its_files(
    client: FlaskClient, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable()
    learner = sign_up()
    made = ask(learner, org["achievement_id"])
    original = png_bytes()
    stored = upload(client, learner, made["id"], original, content_type="image/png", name="../../etc/passwd.png")
    assert stored.status_code == 201
    assert stored.json["filename"] == "passwd.png"

    withdrawn = client.post(f"/api/v1/me/badge-requests/{made['id']}/withdraw", headers=learner.headers)

    assert withdrawn.json["status"] == "withdrawn"
    assert withdrawn.json["files"] == [] and withdrawn.json["narrative"] == ""
    gone = client.get(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/files/{stored.json['id']}",
        headers=org["worker"].headers,
    )
    assert gone.status_code == 404
    again = client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/approve",
        headers=org["worker"].headers,
        json={},
    )
    assert again.status_code == 409 and again.json["code"] == "badge_request.closed"


def test_a_rejection_carries_its_reason_and_a_second_open_request_for_the_same_badge_is_refused(
    client: FlaskClient, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable()
    learner = sign_up()
    made = ask(learner, org["achievement_id"])
    twice = client.post(
        "/api/v1/me/badge-requests",
        headers=learner.headers,
        json={"achievement_id": org["achievement_id"], "narrative": "again"},
    )
    assert twice.status_code == 409 and twice.json["code"] == "badge_request.already_open"

    rejected = client.post(
        f"/api/v1/organisations/{org['slug']}/badge-requests/{made['id']}/reject",
        headers=org["admin"].headers,
        json={"reason": "We have no record of you at the café."},
    )
    mine = client.get(f"/api/v1/me/badge-requests/{made['id']}", headers=learner.headers).json

    assert rejected.json["decided_by_role"] == "admin"
    assert mine["status"] == "rejected"
    assert mine["decision_reason"] == "We have no record of you at the café."
    assert ask(learner, org["achievement_id"])["status"] == "submitted"  # closed requests don't block a new one
