"""A learner signs up, signs in on devices, refreshes tokens, and manages their account."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select


def test_sign_up_needs_no_email_and_returns_working_tokens(client: Any, sign_up: Any) -> None:
    sam = sign_up("sam", display_name="Sam K.")

    me = client.get("/api/v1/me", headers=sam.headers)

    assert me.status_code == 200
    assert me.json["username"] == "sam"
    assert me.json["display_name"] == "Sam K."
    assert me.json["email"] is None
    assert me.json["subject_id"].startswith("urn:uuid:")
    assert "password" not in me.json and "password_hash" not in me.json


def test_usernames_are_unique_regardless_of_case(client: Any, sign_up: Any) -> None:
    sign_up("Robin")

    again = client.post(
        "/api/v1/accounts", json={"username": "robin", "password": "another fine secret", "device": {"name": "tablet"}}
    )

    assert again.status_code == 409
    assert again.json["code"] == "account.username_taken"


def test_common_and_short_passwords_are_refused_with_a_reason(client: Any) -> None:
    for password in ("password1", "12345678", "aaaaaaaaaaaa", "sam-is-great-sam"):
        response = client.post(
            "/api/v1/accounts", json={"username": "sam", "password": password, "device": {"name": "phone"}}
        )
        assert response.status_code == 422, password
        assert response.json["code"] in {"account.weak_password", "request.validation_failed"}
        assert response.json["detail"]


def test_sign_in_with_the_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: Any, sign_up: Any
) -> None:
    sign_up("kai")

    wrong_password = client.post(
        "/api/v1/auth/login", json={"username": "kai", "password": "nope nope nope", "device": {"name": "phone"}}
    )
    unknown_user = client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "nope nope nope", "device": {"name": "phone"}}
    )

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json["code"] == unknown_user.json["code"] == "auth.invalid_credentials"
    assert wrong_password.json["detail"] == unknown_user.json["detail"]


def test_each_sign_in_is_a_device_the_learner_can_list_and_sign_out(client: Any, sign_up: Any) -> None:
    phone = sign_up("ash", device="phone")
    tablet = client.post(
        "/api/v1/auth/login",
        json={"username": "ash", "password": phone.password, "device": {"name": "family tablet", "platform": "ios"}},
    ).json
    tablet_headers = {"Authorization": f"Bearer {tablet['access_token']}"}

    devices = client.get("/api/v1/me/devices", headers=phone.headers).json
    assert sorted(d["name"] for d in devices) == ["family tablet", "phone"]
    assert [d["current"] for d in devices if d["name"] == "phone"] == [True]

    revoked = client.delete(f"/api/v1/me/devices/{tablet['device_id']}", headers=phone.headers)
    assert revoked.status_code == 204
    refused = client.get("/api/v1/me", headers=tablet_headers)
    assert refused.status_code == 401
    assert refused.json["code"] == "auth.device_revoked"
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": tablet["refresh_token"]})
    assert refresh.status_code == 401
    assert [d["name"] for d in client.get("/api/v1/me/devices", headers=phone.headers).json] == ["phone"]


def test_refresh_tokens_rotate_and_reuse_signs_the_device_out(client: Any, sign_up: Any) -> None:
    learner = sign_up("jojo")

    first = client.post("/api/v1/auth/refresh", json={"refresh_token": learner.refresh_token})
    assert first.status_code == 200
    assert first.json["refresh_token"] != learner.refresh_token
    assert first.json["device_id"] == learner.device_id

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": learner.refresh_token})
    assert replay.status_code == 401
    assert replay.json["code"] == "auth.signed_out"
    assert replay.json["reason"] == "reused"

    # The whole chain is dead: even the newest token and access token no longer work.
    newest = client.post("/api/v1/auth/refresh", json={"refresh_token": first.json["refresh_token"]})
    assert newest.status_code == 401
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {first.json['access_token']}"})
    assert me.status_code == 401


def test_access_tokens_expire_and_refresh_brings_the_learner_back(client: Any, sign_up: Any, clock: Any) -> None:
    learner = sign_up("momo")
    clock.advance(minutes=16)

    expired = client.get("/api/v1/me", headers=learner.headers)
    assert expired.status_code == 401
    assert expired.json["code"] == "auth.invalid_token"

    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": learner.refresh_token}).json
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200


def test_refresh_tokens_expire(client: Any, sign_up: Any, clock: Any) -> None:
    learner = sign_up("old")
    clock.advance(days=91)

    response = client.post("/api/v1/auth/refresh", json={"refresh_token": learner.refresh_token})

    assert response.status_code == 401
    assert response.json["code"] == "auth.signed_out"
    assert response.json["reason"] == "unknown_or_expired"


def test_a_tampered_access_token_is_refused(client: Any, sign_up: Any) -> None:
    learner = sign_up("tam")
    token = learner.access_token
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"})

    assert response.status_code == 401
    assert response.json["code"] == "auth.invalid_token"


def test_logout_ends_this_device_only(client: Any, sign_up: Any) -> None:
    phone = sign_up("lola")
    laptop = client.post(
        "/api/v1/auth/login", json={"username": "lola", "password": phone.password, "device": {"name": "laptop"}}
    ).json

    assert client.post("/api/v1/auth/logout", headers=phone.headers).status_code == 204

    assert client.get("/api/v1/me", headers=phone.headers).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {laptop['access_token']}"}).status_code == 200


def test_profile_changes_and_email_can_be_removed_again(client: Any, sign_up: Any) -> None:
    learner = sign_up("pat")

    changed = client.patch(
        "/api/v1/me", headers=learner.headers, json={"display_name": "Pat the Maker", "email": "pat@example.org"}
    )
    assert changed.json["display_name"] == "Pat the Maker"
    assert changed.json["email"] == "pat@example.org"

    cleared = client.patch("/api/v1/me", headers=learner.headers, json={"email": None})
    assert cleared.json["email"] is None


def test_changing_the_password_signs_out_other_devices(client: Any, sign_up: Any) -> None:
    phone = sign_up("cyan")
    tablet = client.post(
        "/api/v1/auth/login", json={"username": "cyan", "password": phone.password, "device": {"name": "tablet"}}
    ).json

    wrong = client.post(
        "/api/v1/me/password",
        headers=phone.headers,
        json={"current_password": "not it at all", "new_password": "a brand new secret"},
    )
    assert wrong.status_code == 401
    changed = client.post(
        "/api/v1/me/password",
        headers=phone.headers,
        json={"current_password": phone.password, "new_password": "a brand new secret"},
    )
    assert changed.status_code == 204

    assert client.get("/api/v1/me", headers=phone.headers).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {tablet['access_token']}"}).status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"username": "cyan", "password": "a brand new secret", "device": {"name": "phone 2"}}
    )
    assert login.status_code == 200


def test_export_holds_everything_about_the_learner_in_one_document(client: Any, sign_up: Any) -> None:
    learner = sign_up("exa", display_name="Ex Ample")
    client.patch("/api/v1/me", headers=learner.headers, json={"email": "ex@example.org"})

    export = client.get("/api/v1/me/export", headers=learner.headers)

    assert export.status_code == 200
    document = export.json
    assert document["format"] == "learner-wallet-export/1"
    assert document["account"]["username"] == "exa"
    assert document["account"]["email"] == "ex@example.org"
    assert [d["name"] for d in document["devices"]] == ["phone"]
    assert "password_hash" not in str(document)


def test_deleting_the_account_erases_every_personal_row(client: Any, sign_up: Any, db: Any, organisation: Any) -> None:
    from wallet.db import Base

    org = organisation()
    learner = sign_up("gone")
    client.post(
        "/api/v1/auth/login", json={"username": "gone", "password": learner.password, "device": {"name": "second"}}
    )
    client.post(
        f"/api/v1/organisations/{org['slug']}/members",
        headers=org["admin"].headers,
        json={"username": "gone", "role": "youth_worker"},
    )

    refused = client.delete("/api/v1/me", headers=learner.headers, json={"password": "wrong wrong wrong"})
    assert refused.status_code == 401
    deleted = client.delete("/api/v1/me", headers=learner.headers, json={"password": learner.password})
    assert deleted.status_code == 204

    assert client.get("/api/v1/me", headers=learner.headers).status_code == 401
    # No row anywhere still refers to the account or to one of its devices.
    gone = {"accounts": uuid.UUID(learner.account_id), "devices": uuid.UUID(learner.device_id)}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column.table.name in gone:
                    value = gone[fk.column.table.name]
                    count = db.scalar(select(func.count()).select_from(table).where(column == value))
                    assert count == 0, f"{table.name}.{column.name} still refers to erased data"
    login = client.post(
        "/api/v1/auth/login", json={"username": "gone", "password": learner.password, "device": {"name": "phone"}}
    )
    assert login.status_code == 401


def test_tokens_follow_the_services_clock_not_the_machines(client: Any, sign_up: Any, clock: Any) -> None:
    clock.advance(days=30)
    learner = sign_up("future")

    assert client.get("/api/v1/me", headers=learner.headers).status_code == 200
