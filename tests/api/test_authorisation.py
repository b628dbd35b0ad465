"""Every route refuses the wrong principal.

``SCENARIOS`` holds, for every operation in the OpenAPI document, a story in which someone who should
not be able to act tries anyway; ``test_every_operation_has_a_scenario`` fails when a new route is added
without one. Anonymous callers are tried on every protected operation.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

PUBLIC = {
    "POST /api/v1/accounts",  # sign-up
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",  # the refresh token is the credential
}


@dataclass
class World:
    client: Any
    alice: Any  # a learner
    bob: Any  # another learner
    org: dict[str, Any]  # makerspace-north: admin + worker
    other: dict[str, Any]  # museum-east: admin + worker


@pytest.fixture
def world(client: Any, sign_up: Any, organisation: Any) -> World:
    return World(client, sign_up("alice"), sign_up("bob"), organisation(),
                 organisation("museum-east", "Museum East"))


def _refused(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.json)
    assert response.mimetype == "application/problem+json"


def me_is_self(w: World) -> None:
    assert w.client.get("/api/v1/me", headers=w.bob.headers).json["username"] == "bob"


def patch_me_only_changes_self(w: World) -> None:
    w.client.patch("/api/v1/me", headers=w.bob.headers, json={"display_name": "Bob"})
    assert w.client.get("/api/v1/me", headers=w.alice.headers).json["display_name"] == "alice"


def delete_me_needs_own_password(w: World) -> None:
    _refused(w.client.delete("/api/v1/me", headers=w.bob.headers, json={"password": w.alice.password + "x"}), 401)
    assert w.client.get("/api/v1/me", headers=w.alice.headers).status_code == 200


def password_needs_current(w: World) -> None:
    _refused(w.client.post("/api/v1/me/password", headers=w.bob.headers,
                           json={"current_password": "guess guess guess", "new_password": "a new long secret"}),
             401)


def export_is_self(w: World) -> None:
    assert w.client.get("/api/v1/me/export", headers=w.bob.headers).json["account"]["username"] == "bob"


def devices_are_self(w: World) -> None:
    devices = w.client.get("/api/v1/me/devices", headers=w.bob.headers).json
    assert [d["id"] for d in devices] == [w.bob.device_id]


def cannot_revoke_anothers_device(w: World) -> None:
    _refused(w.client.delete(f"/api/v1/me/devices/{w.alice.device_id}", headers=w.bob.headers), 404)
    assert w.client.get("/api/v1/me", headers=w.alice.headers).status_code == 200


def logout_is_own_device(w: World) -> None:
    w.client.post("/api/v1/auth/logout", headers=w.bob.headers)
    assert w.client.get("/api/v1/me", headers=w.alice.headers).status_code == 200


def my_organisations_are_mine(w: World) -> None:
    assert w.client.get("/api/v1/me/organisations", headers=w.alice.headers).json == []


def outsiders_cannot_read_an_organisation(w: World) -> None:
    _refused(w.client.get("/api/v1/organisations/makerspace-north", headers=w.alice.headers), 404)
    _refused(w.client.get("/api/v1/organisations/makerspace-north", headers=w.other["admin"].headers), 404)


def only_own_admins_edit_an_organisation(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.patch("/api/v1/organisations/makerspace-north", headers=who.headers,
                                json={"name": "Taken over"}), 403, 404)


def only_own_admins_list_members(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.get("/api/v1/organisations/makerspace-north/members", headers=who.headers), 403, 404)


def only_own_admins_add_members(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.post("/api/v1/organisations/makerspace-north/members", headers=who.headers,
                               json={"username": who.username, "role": "admin"}), 403, 404, 409)
    assert w.client.get("/api/v1/me/organisations", headers=w.alice.headers).json == []


def only_own_admins_change_roles(w: World) -> None:
    target = w.org["worker"].account_id
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.patch(f"/api/v1/organisations/makerspace-north/members/{target}", headers=who.headers,
                                json={"role": "admin"}), 403, 404)


def only_own_admins_remove_members(w: World) -> None:
    target = w.org["admin"].account_id
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.delete(f"/api/v1/organisations/makerspace-north/members/{target}", headers=who.headers),
                 403, 404)


SCENARIOS: dict[str, Callable[[World], None]] = {
    "GET /api/v1/me": me_is_self,
    "PATCH /api/v1/me": patch_me_only_changes_self,
    "DELETE /api/v1/me": delete_me_needs_own_password,
    "POST /api/v1/me/password": password_needs_current,
    "GET /api/v1/me/export": export_is_self,
    "GET /api/v1/me/devices": devices_are_self,
    "DELETE /api/v1/me/devices/{device_id}": cannot_revoke_anothers_device,
    "POST /api/v1/auth/logout": logout_is_own_device,
    "GET /api/v1/me/organisations": my_organisations_are_mine,
    "GET /api/v1/organisations/{slug}": outsiders_cannot_read_an_organisation,
    "PATCH /api/v1/organisations/{slug}": only_own_admins_edit_an_organisation,
    "GET /api/v1/organisations/{slug}/members": only_own_admins_list_members,
    "POST /api/v1/organisations/{slug}/members": only_own_admins_add_members,
    "PATCH /api/v1/organisations/{slug}/members/{account_id}": only_own_admins_change_roles,
    "DELETE /api/v1/organisations/{slug}/members/{account_id}": only_own_admins_remove_members,
}


def _operations(client: Any) -> dict[str, dict[str, Any]]:
    spec = client.get("/openapi.json").json
    return {f"{method.upper()} {path}": op for path, item in spec["paths"].items()
            for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}}


def test_every_operation_has_a_scenario(client: Any) -> None:
    operations = set(_operations(client))
    missing = operations - set(SCENARIOS) - PUBLIC
    assert not missing, f"routes without an authorisation scenario: {sorted(missing)}"
    assert not (set(SCENARIOS) - operations), "scenarios for routes that no longer exist"


def test_every_protected_operation_refuses_anonymous_callers(client: Any) -> None:
    for name, op in _operations(client).items():
        if name in PUBLIC:
            continue
        assert op.get("security"), f"{name} is not marked as needing a token"
        method, path = name.split(" ", 1)
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = client.open(url, method=method, json={} if method in {"POST", "PATCH", "PUT", "DELETE"} else None)
        assert response.status_code == 401, (name, response.status_code)
        assert response.json["code"] == "auth.required"


@pytest.mark.parametrize("operation", sorted(SCENARIOS))
def test_the_wrong_principal_is_refused(world: World, operation: str) -> None:
    SCENARIOS[operation](world)
