"""Organisation admins manage their members; youth workers and outsiders cannot."""

from __future__ import annotations

from typing import Any


def test_members_see_their_organisations_with_their_role(client: Any, organisation: Any) -> None:
    org = organisation()

    mine = client.get("/api/v1/me/organisations", headers=org["worker"].headers).json

    assert [(o["slug"], o["role"]) for o in mine] == [("makerspace-north", "youth_worker")]
    assert client.get("/api/v1/organisations/makerspace-north", headers=org["worker"].headers).status_code == 200


def test_an_admin_adds_a_youth_worker_changes_roles_and_removes_members(
    client: Any, organisation: Any, sign_up: Any
) -> None:
    org = organisation()
    newcomer = sign_up("newcomer")
    admin = org["admin"].headers

    invited = client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=admin,
        json={"username": "newcomer", "role": "youth_worker"},
    )
    assert invited.status_code == 202
    assert (invited.json["role"], invited.json["status"]) == ("youth_worker", "invited")
    [offer] = client.get("/api/v1/me/invitations", headers=newcomer.headers).json
    accepted = client.post(f"/api/v1/me/invitations/{offer['id']}/accept", headers=newcomer.headers)
    assert (accepted.status_code, accepted.json["role"]) == (200, "youth_worker")
    twice = client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=admin,
        json={"username": "newcomer", "role": "youth_worker"},
    )
    assert twice.json["code"] == "organisation.already_member"

    promoted = client.patch(
        f"/api/v1/organisations/makerspace-north/members/{newcomer.account_id}", headers=admin, json={"role": "admin"}
    )
    assert promoted.json["role"] == "admin"
    members = client.get("/api/v1/organisations/makerspace-north/members", headers=admin).json
    assert sorted((m["username"], m["role"]) for m in members) == sorted(
        [(org["admin"].username, "admin"), (org["worker"].username, "youth_worker"), ("newcomer", "admin")]
    )

    removed = client.delete(f"/api/v1/organisations/makerspace-north/members/{newcomer.account_id}", headers=admin)
    assert removed.status_code == 204
    assert client.get("/api/v1/me/organisations", headers=newcomer.headers).json == []


def test_the_last_admin_cannot_leave_or_be_demoted(client: Any, organisation: Any) -> None:
    org = organisation()
    admin = org["admin"]

    demote = client.patch(
        f"/api/v1/organisations/makerspace-north/members/{admin.account_id}",
        headers=admin.headers,
        json={"role": "youth_worker"},
    )
    leave = client.delete(f"/api/v1/organisations/makerspace-north/members/{admin.account_id}", headers=admin.headers)

    assert demote.status_code == leave.status_code == 409
    assert demote.json["code"] == leave.json["code"] == "organisation.last_admin"


def test_admins_edit_the_organisation_profile_and_youth_workers_cannot(client: Any, organisation: Any) -> None:
    org = organisation()

    by_worker = client.patch(
        "/api/v1/organisations/makerspace-north", headers=org["worker"].headers, json={"name": "Hijacked"}
    )
    by_admin = client.patch(
        "/api/v1/organisations/makerspace-north",
        headers=org["admin"].headers,
        json={"name": "Makerspace North CIC", "url": "https://makerspace.example"},
    )

    assert by_worker.status_code == 403
    assert by_worker.json["code"] == "auth.forbidden"
    assert by_admin.json["name"] == "Makerspace North CIC"
    assert by_admin.json["url"] == "https://makerspace.example"


def test_adding_an_unknown_username_is_a_clear_404(client: Any, organisation: Any) -> None:
    org = organisation()
    response = client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=org["admin"].headers,
        json={"username": "ghost", "role": "admin"},
    )
    assert response.status_code == 404
    assert response.json["code"] == "account.not_found"


def test_nobody_becomes_staff_without_saying_yes(client: Any, organisation: Any, sign_up: Any) -> None:
    org = organisation()
    learner = sign_up("learner-consent")
    admin = org["admin"].headers

    invited = client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=admin,
        json={"username": learner.username, "role": "admin"},
    )
    assert invited.status_code == 202
    # Invited is not a member: no organisation, no staff powers, not listed among members.
    assert client.get("/api/v1/me/organisations", headers=learner.headers).json == []
    assert client.get("/api/v1/organisations/makerspace-north/members", headers=learner.headers).status_code in (
        403,
        404,
    )
    members = client.get("/api/v1/organisations/makerspace-north/members", headers=admin).json
    assert learner.username not in [m["username"] for m in members]
    pending = client.get("/api/v1/organisations/makerspace-north/invitations", headers=admin).json
    assert [(p["username"], p["role"]) for p in pending] == [(learner.username, "admin")]

    [offer] = client.get("/api/v1/me/invitations", headers=learner.headers).json
    assert offer["organisation"]["slug"] == "makerspace-north"
    assert client.post(f"/api/v1/me/invitations/{offer['id']}/decline", headers=learner.headers).status_code == 204
    assert client.get("/api/v1/me/invitations", headers=learner.headers).json == []
    assert client.get("/api/v1/organisations/makerspace-north/invitations", headers=admin).json == []
    assert client.get("/api/v1/me/organisations", headers=learner.headers).json == []


def test_only_the_invited_account_can_answer_and_admins_can_withdraw(
    client: Any, organisation: Any, sign_up: Any
) -> None:
    org = organisation()
    learner, other = sign_up("learner-asked"), sign_up("learner-other")
    admin = org["admin"].headers
    client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=admin,
        json={"username": learner.username, "role": "youth_worker"},
    )
    [offer] = client.get("/api/v1/organisations/makerspace-north/invitations", headers=admin).json

    stolen = client.post(f"/api/v1/me/invitations/{offer['id']}/accept", headers=other.headers)
    assert (stolen.status_code, stolen.json["code"]) == (404, "invitation.not_found")
    by_worker = client.delete(
        f"/api/v1/organisations/makerspace-north/invitations/{offer['id']}", headers=org["worker"].headers
    )
    assert by_worker.status_code in (403, 404)

    assert (
        client.delete(f"/api/v1/organisations/makerspace-north/invitations/{offer['id']}", headers=admin).status_code
        == 204
    )
    late = client.post(f"/api/v1/me/invitations/{offer['id']}/accept", headers=learner.headers)
    assert late.status_code == 404
    assert client.get("/api/v1/me/organisations", headers=learner.headers).json == []
