"""Every route refuses the wrong principal.

``SCENARIOS`` holds, for every operation in the OpenAPI document, a story in which someone who should
not be able to act tries anyway; ``test_every_operation_has_a_scenario`` fails when a new route is added
without one. Anonymous callers are tried on every protected operation.
"""

from __future__ import annotations

import json
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
    "POST /api/v1/auth/password-reset",  # the recovery or reset code is the credential
    "GET /issuers/{slug}",  # issuer profile and keys: verifiers anywhere must read it
    "GET /issuers/{slug}/did.json",  # the issuer's did:web DID document, likewise
    "GET /achievements/{achievement_id}",  # the achievement a credential names
    "GET /achievements/{achievement_id}/image",  # badge images shown by any wallet or verifier
    "GET /status/{slug}/revocation/{list_no}",  # revocation lists: verifiers anywhere must read them
    "GET /api/v1/frameworks",  # a place's language of skills is published for every partner to read
    "GET /api/v1/frameworks/{slug}",
    "GET /api/v1/frameworks/{slug}/v{version}/items/{identifier}",
    "GET /api/v1/pathways",  # pathways are published as OB 3.0 Achievements for other systems
    "GET /api/v1/pathways/{pathway_id}",
    "GET /endorsements/{endorsement_id}",  # a signed endorsement: verifiers anywhere must read it
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
    return World(client, sign_up("alice"), sign_up("bob"), organisation(), organisation("museum-east", "Museum East"))


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
    _refused(
        w.client.post(
            "/api/v1/me/password",
            headers=w.bob.headers,
            json={"current_password": "guess guess guess", "new_password": "a new long secret"},
        ),
        401,
    )


def new_recovery_codes_need_own_password(w: World) -> None:
    _refused(
        w.client.post("/api/v1/me/recovery-codes", headers=w.bob.headers, json={"password": w.alice.password + "x"}),
        401,
    )


def reset_codes_only_for_learners_staff_have_met(w: World) -> None:
    """Nobody met alice: neither another learner nor either organisation's staff may reset her."""
    for headers in (w.bob.headers, w.org["worker"].headers, w.org["admin"].headers, w.other["admin"].headers):
        _refused(w.client.post("/api/v1/accounts/alice/reset-code", headers=headers), 403)
    _refused(
        w.client.post(f"/api/v1/accounts/{w.org['admin'].username}/reset-code", headers=w.org["worker"].headers), 403
    )
    _refused(
        w.client.post(f"/api/v1/accounts/{w.org['worker'].username}/reset-code", headers=w.other["admin"].headers), 403
    )
    assert (
        w.client.post(
            f"/api/v1/accounts/{w.org['worker'].username}/reset-code", headers=w.org["admin"].headers
        ).status_code
        == 201
    )


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
        _refused(
            w.client.patch("/api/v1/organisations/makerspace-north", headers=who.headers, json={"name": "Taken over"}),
            403,
            404,
        )


def only_own_admins_list_members(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.get("/api/v1/organisations/makerspace-north/members", headers=who.headers), 403, 404)


def only_own_admins_add_members(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                "/api/v1/organisations/makerspace-north/members",
                headers=who.headers,
                json={"username": who.username, "role": "admin"},
            ),
            403,
            404,
            409,
        )
    assert w.client.get("/api/v1/me/organisations", headers=w.alice.headers).json == []


def _invite_alice(w: World) -> str:
    invited = w.client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=w.org["admin"].headers,
        json={"username": w.alice.username, "role": "youth_worker"},
    )
    assert invited.status_code == 202, invited.json
    return str(invited.json["id"])


def my_invitations_are_mine(w: World) -> None:
    _invite_alice(w)
    for who in (w.org["worker"], w.other["admin"]):
        assert w.client.get("/api/v1/me/invitations", headers=who.headers).json == []
    assert w.client.get("/api/v1/me/invitations").status_code == 401


def only_the_invited_accept(w: World) -> None:
    invitation = _invite_alice(w)
    for who in (w.org["worker"], w.other["admin"], w.org["admin"]):
        _refused(w.client.post(f"/api/v1/me/invitations/{invitation}/accept", headers=who.headers), 404)
    assert w.client.get("/api/v1/me/organisations", headers=w.alice.headers).json == []


def only_the_invited_decline(w: World) -> None:
    invitation = _invite_alice(w)
    for who in (w.org["worker"], w.other["admin"], w.org["admin"]):
        _refused(w.client.post(f"/api/v1/me/invitations/{invitation}/decline", headers=who.headers), 404)
    assert len(w.client.get("/api/v1/me/invitations", headers=w.alice.headers).json) == 1


def only_own_admins_list_invitations(w: World) -> None:
    _invite_alice(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.get("/api/v1/organisations/makerspace-north/invitations", headers=who.headers), 403, 404)


def only_own_admins_withdraw_invitations(w: World) -> None:
    invitation = _invite_alice(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.delete(f"/api/v1/organisations/makerspace-north/invitations/{invitation}", headers=who.headers),
            403,
            404,
        )
    assert len(w.client.get("/api/v1/me/invitations", headers=w.alice.headers).json) == 1


def only_own_admins_change_roles(w: World) -> None:
    target = w.org["worker"].account_id
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.patch(
                f"/api/v1/organisations/makerspace-north/members/{target}", headers=who.headers, json={"role": "admin"}
            ),
            403,
            404,
        )


def only_own_admins_remove_members(w: World) -> None:
    target = w.org["admin"].account_id
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.delete(f"/api/v1/organisations/makerspace-north/members/{target}", headers=who.headers), 403, 404
        )


def _alices_credential(w: World) -> str:
    from tests.holding.factories import signed_bytes

    response = w.client.post(
        "/api/v1/credentials/import",
        data=signed_bytes(),
        headers={**w.alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def credentials_list_is_own(w: World) -> None:
    _alices_credential(w)
    assert w.client.get("/api/v1/credentials", headers=w.bob.headers).json == []


def imports_land_in_own_wallet(w: World) -> None:
    from tests.holding.factories import signed_bytes

    w.client.post(
        "/api/v1/credentials/import", data=signed_bytes(), headers={**w.bob.headers, "Content-Type": "application/json"}
    )
    assert w.client.get("/api/v1/credentials", headers=w.alice.headers).json == []


def import_url_refuses_private_addresses_and_lands_in_own_wallet(w: World) -> None:
    import dataclasses

    state = w.client.application.extensions["wallet"]
    state.settings = dataclasses.replace(state.settings, fetch_allow_private=False)
    _refused(
        w.client.post(
            "/api/v1/credentials/import-url", headers=w.bob.headers, json={"url": "http://127.0.0.1:9/assertion"}
        ),
        422,
    )
    assert w.client.get("/api/v1/credentials", headers=w.alice.headers).json == []


def wallet_zip_is_own(w: World) -> None:
    import io
    import json
    import zipfile

    _alices_credential(w)
    archive = zipfile.ZipFile(io.BytesIO(w.client.get("/api/v1/credentials/export.zip", headers=w.bob.headers).data))
    assert json.loads(archive.read("manifest.json"))["credentials"] == []


def cannot_read_anothers_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    _refused(w.client.get(f"/api/v1/credentials/{credential_id}", headers=w.bob.headers), 404)


def cannot_tag_anothers_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    _refused(
        w.client.patch(f"/api/v1/credentials/{credential_id}", headers=w.bob.headers, json={"tags": ["mine now"]}), 404
    )
    assert w.client.get(f"/api/v1/credentials/{credential_id}", headers=w.alice.headers).json["tags"] == []


def cannot_delete_anothers_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    _refused(w.client.delete(f"/api/v1/credentials/{credential_id}", headers=w.bob.headers), 404)
    assert w.client.get(f"/api/v1/credentials/{credential_id}", headers=w.alice.headers).status_code == 200


def cannot_read_anothers_raw_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    _refused(w.client.get(f"/api/v1/credentials/{credential_id}/raw", headers=w.bob.headers), 404)


def cannot_verify_anothers_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    _refused(w.client.post(f"/api/v1/credentials/{credential_id}/verify", headers=w.bob.headers), 404)


def cannot_see_or_bind_anothers_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    _refused(w.client.get(f"/api/v1/credentials/{credential_id}/binding", headers=w.bob.headers), 404)
    _refused(
        w.client.post(f"/api/v1/credentials/{credential_id}/binding", headers=w.bob.headers, json={"proof": "a.b.c"}),
        404,
    )


def cannot_export_anothers_credential(w: World) -> None:
    credential_id = _alices_credential(w)
    for fmt in ("json", "png", "svg"):
        _refused(w.client.get(f"/api/v1/credentials/{credential_id}/export?format={fmt}", headers=w.bob.headers), 404)


def pasted_verification_keeps_nothing(w: World) -> None:
    from tests.holding.factories import signed_bytes

    response = w.client.post(
        "/api/v1/verify", data=signed_bytes(), headers={**w.bob.headers, "Content-Type": "application/json"}
    )
    assert response.json["outcome"] == "valid"
    assert w.client.get("/api/v1/credentials", headers=w.bob.headers).json == []


def _achievement(w: World) -> str:
    response = w.client.post(
        "/api/v1/organisations/makerspace-north/achievements",
        headers=w.org["admin"].headers,
        json={"name": "Welding", "description": "Welded", "criteria_narrative": "Weld"},
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def _issued(w: World) -> str:
    achievement = _achievement(w)
    response = w.client.post(
        f"/api/v1/organisations/makerspace-north/achievements/{achievement}/awards",
        headers=w.org["admin"].headers,
        json={"username": "alice"},
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def only_members_list_achievements(w: World) -> None:
    _achievement(w)
    for who in (w.alice, w.other["admin"]):
        _refused(w.client.get("/api/v1/organisations/makerspace-north/achievements", headers=who.headers), 404)
    assert (
        len(w.client.get("/api/v1/organisations/makerspace-north/achievements", headers=w.org["worker"].headers).json)
        == 1
    )


def only_own_admins_create_achievements(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                "/api/v1/organisations/makerspace-north/achievements",
                headers=who.headers,
                json={"name": "Fake", "description": "Fake", "criteria_narrative": "None"},
            ),
            403,
            404,
        )


def only_members_read_an_achievement(w: World) -> None:
    achievement = _achievement(w)
    for who in (w.alice, w.other["admin"]):
        _refused(
            w.client.get(f"/api/v1/organisations/makerspace-north/achievements/{achievement}", headers=who.headers), 404
        )
    _refused(
        w.client.get(f"/api/v1/organisations/museum-east/achievements/{achievement}", headers=w.other["admin"].headers),
        404,
    )


def only_own_admins_edit_achievements(w: World) -> None:
    achievement = _achievement(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.patch(
                f"/api/v1/organisations/makerspace-north/achievements/{achievement}",
                headers=who.headers,
                json={"name": "Taken"},
            ),
            403,
            404,
        )
    _refused(
        w.client.patch(
            f"/api/v1/organisations/museum-east/achievements/{achievement}",
            headers=w.other["admin"].headers,
            json={"name": "Taken"},
        ),
        404,
    )


def only_own_admins_archive_achievements(w: World) -> None:
    achievement = _achievement(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                f"/api/v1/organisations/makerspace-north/achievements/{achievement}/archive", headers=who.headers
            ),
            403,
            404,
        )
    _refused(
        w.client.post(
            f"/api/v1/organisations/museum-east/achievements/{achievement}/archive", headers=w.other["admin"].headers
        ),
        404,
    )


def only_own_admins_upload_images(w: World) -> None:
    achievement = _achievement(w)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.put(
                f"/api/v1/organisations/makerspace-north/achievements/{achievement}/image",
                headers=who.headers,
                data=svg,
                content_type="image/svg+xml",
            ),
            403,
            404,
        )
    _refused(
        w.client.put(
            f"/api/v1/organisations/museum-east/achievements/{achievement}/image",
            headers=w.other["admin"].headers,
            data=svg,
            content_type="image/svg+xml",
        ),
        404,
    )


def only_own_admins_award(w: World) -> None:
    achievement = _achievement(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                f"/api/v1/organisations/makerspace-north/achievements/{achievement}/awards",
                headers=who.headers,
                json={"username": who.username},
            ),
            403,
            404,
        )
    _refused(
        w.client.post(
            f"/api/v1/organisations/museum-east/achievements/{achievement}/awards",
            headers=w.other["admin"].headers,
            json={"username": "bob"},
        ),
        404,
    )


def only_own_admins_list_awards(w: World) -> None:
    _issued(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.get("/api/v1/organisations/makerspace-north/awards", headers=who.headers), 403, 404)
    assert w.client.get("/api/v1/organisations/museum-east/awards", headers=w.other["admin"].headers).json == []


def only_own_admins_revoke(w: World) -> None:
    issued = _issued(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                f"/api/v1/organisations/makerspace-north/awards/{issued}/revoke",
                headers=who.headers,
                json={"reason": "spite"},
            ),
            403,
            404,
        )
    _refused(
        w.client.post(
            f"/api/v1/organisations/museum-east/awards/{issued}/revoke",
            headers=w.other["admin"].headers,
            json={"reason": "spite"},
        ),
        404,
    )
    listed = w.client.get("/api/v1/organisations/makerspace-north/awards", headers=w.org["admin"].headers).json
    assert listed[0]["revoked_at"] is None


def _alices_link(w: World) -> dict[str, Any]:
    """Alice holds a credential and shares it; the stories below are Bob trying to reach her link."""
    import json as json_module

    from wallet.holding.services import add_credential

    state = w.client.application.extensions["wallet"]
    raw = json_module.dumps(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:" + str(uuid.uuid4()),
            "type": ["VerifiableCredential"],
            "issuer": "did:example:issuer",
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:a"},
        }
    )
    with state.session_factory() as session:
        held = add_credential(
            session,
            account_id=uuid.UUID(w.alice.account_id),
            raw=raw.encode(),
            media_type="application/json",
            source="import",
            now=state.clock(),
        )
        session.commit()
        held_id = str(held.id)
    response = w.client.post("/api/v1/shares", headers=w.alice.headers, json={"credential_id": held_id})
    assert response.status_code == 201, response.json
    return response.json


def shares_list_is_own(w: World) -> None:
    _alices_link(w)
    assert w.client.get("/api/v1/shares", headers=w.bob.headers).json == []


def cannot_share_anothers_credential(w: World) -> None:
    link = _alices_link(w)
    _refused(w.client.post("/api/v1/shares", headers=w.bob.headers, json={"credential_id": link["target_id"]}), 404)


def cannot_read_anothers_share(w: World) -> None:
    link = _alices_link(w)
    _refused(w.client.get(f"/api/v1/shares/{link['id']}", headers=w.bob.headers), 404)


def cannot_change_anothers_share(w: World) -> None:
    link = _alices_link(w)
    _refused(w.client.patch(f"/api/v1/shares/{link['id']}", headers=w.bob.headers, json={"allow_indexing": True}), 404)
    assert w.client.get(f"/api/v1/shares/{link['id']}", headers=w.alice.headers).json["allow_indexing"] is False


def cannot_revoke_anothers_share(w: World) -> None:
    link = _alices_link(w)
    _refused(w.client.post(f"/api/v1/shares/{link['id']}/revoke", headers=w.bob.headers), 404)
    assert w.client.get(f"/api/v1/shares/{link['id']}", headers=w.alice.headers).json["state"] == "active"


def _claim_session(w: World, **extra: Any) -> dict[str, Any]:
    """A shared session of makerspace-north (opened by its youth worker), and one claim in it by alice."""
    import datetime as dt

    from wallet.issuing.achievements import create_achievement

    db = w.client.application.extensions["wallet"].session_factory()
    now = w.client.application.extensions["wallet"].clock()
    achievement = create_achievement(
        db,
        slug="makerspace-north",
        actor=uuid.UUID(w.org["admin"].account_id),
        name="Soldering",
        description="Soldered a kit.",
        criteria_narrative="Do it.",
        now=now,
    )
    db.commit()
    body = {
        "achievement_id": str(achievement.id),
        "title": "Workshop",
        "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
        "cap": 10,
        **extra,
    }
    session = w.client.post(
        "/api/v1/organisations/makerspace-north/claim-sessions", headers=w.org["worker"].headers, json=body
    ).json
    if session["mode"] == "shared":
        url = w.client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=w.org["worker"].headers).json["url"]
        session["claim"] = w.client.post("/api/v1/claims/redeem", headers=w.alice.headers, json={"code": url}).json
    return session


def _claim_outsiders(w: World) -> list[Any]:
    return [w.alice, w.other["worker"], w.other["admin"]]


def only_members_list_claim_sessions(w: World) -> None:
    _claim_session(w)
    for who in _claim_outsiders(w):
        _refused(w.client.get("/api/v1/organisations/makerspace-north/claim-sessions", headers=who.headers), 403, 404)


def only_members_open_claim_sessions(w: World) -> None:
    session = _claim_session(w)
    for who in _claim_outsiders(w):
        _refused(
            w.client.post(
                "/api/v1/organisations/makerspace-north/claim-sessions",
                headers=who.headers,
                json={
                    "achievement_id": session["achievement_id"],
                    "title": "Mine",
                    "starts_at": session["starts_at"],
                    "ends_at": session["ends_at"],
                    "cap": 5,
                },
            ),
            403,
            404,
        )
    mine = w.client.get("/api/v1/organisations/makerspace-north/claim-sessions", headers=w.org["worker"].headers)
    assert [s["title"] for s in mine.json] == ["Workshop"]


def _for_each_outsider(w: World, method: str, suffix: str, **kwargs: Any) -> dict[str, Any]:
    session = _claim_session(w, **kwargs.pop("session", {}))
    for who in _claim_outsiders(w):
        _refused(
            w.client.open(
                f"/api/v1/claim-sessions/{session['id']}{suffix}", method=method, headers=who.headers, **kwargs
            ),
            404,
        )
    return session


def outsiders_cannot_read_a_claim_session(w: World) -> None:
    _for_each_outsider(w, "GET", "")


def outsiders_cannot_pause_a_claim_session(w: World) -> None:
    session = _for_each_outsider(w, "PATCH", "", json={"state": "closed"})
    assert (
        w.client.get(f"/api/v1/claim-sessions/{session['id']}", headers=w.org["admin"].headers).json["state"] == "open"
    )


def outsiders_cannot_read_the_qr(w: World) -> None:
    _for_each_outsider(w, "GET", "/qr")


def outsiders_cannot_draw_the_qr_png(w: World) -> None:
    _for_each_outsider(w, "GET", "/qr.png")


def outsiders_cannot_draw_the_qr_svg(w: World) -> None:
    _for_each_outsider(w, "GET", "/qr.svg")


def outsiders_cannot_print_the_cards(w: World) -> None:
    _for_each_outsider(w, "GET", "/cards.pdf", session={"mode": "single_use", "codes": 3, "cap": 3})


def outsiders_cannot_list_claimants(w: World) -> None:
    _for_each_outsider(w, "GET", "/claims")


def outsiders_cannot_export_claimants(w: World) -> None:
    _for_each_outsider(w, "GET", "/claims.csv")


def outsiders_cannot_decide_claims(w: World) -> None:
    session = _claim_session(w)
    for who in _claim_outsiders(w):
        _refused(
            w.client.post(
                f"/api/v1/claim-sessions/{session['id']}/claims/{session['claim']['claim_id']}/decision",
                headers=who.headers,
                json={"decision": "revoke"},
            ),
            404,
        )
    claims = w.client.get(f"/api/v1/claim-sessions/{session['id']}/claims", headers=w.org["worker"].headers).json
    assert [c["status"] for c in claims] == ["issued"]


def outsiders_cannot_read_the_count(w: World) -> None:
    _for_each_outsider(w, "GET", "/count")


def outsiders_cannot_make_display_links(w: World) -> None:
    _for_each_outsider(w, "POST", "/display-link")


def redeeming_claims_for_oneself_only(w: World) -> None:
    session = _claim_session(w)
    url = w.client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=w.org["worker"].headers).json["url"]
    bobs = w.client.post("/api/v1/claims/redeem", headers=w.bob.headers, json={"code": url}).json
    assert bobs["claim_id"] != session["claim"]["claim_id"]
    assert bobs["credential"]["id"] != session["claim"]["credential"]["id"]


def my_claims_are_mine(w: World) -> None:
    _claim_session(w)
    assert w.client.get("/api/v1/me/claims", headers=w.bob.headers).json == []
    assert len(w.client.get("/api/v1/me/claims", headers=w.alice.headers).json) == 1


def _sync_client(w: World, who: Any) -> str:
    return w.client.post("/api/v1/sync/clients", headers=who.headers, json={}).json["client_id"]


def sync_clients_cannot_take_anothers_id(w: World) -> None:
    alices = _sync_client(w, w.alice)
    _refused(w.client.post("/api/v1/sync/clients", headers=w.bob.headers, json={"client_id": alices}), 409)


def sync_refuses_anothers_client(w: World) -> None:
    alices = _sync_client(w, w.alice)
    _refused(
        w.client.post(
            "/api/v1/sync", headers=w.bob.headers, json={"protocol": 1, "client_id": alices, "cursor": None, "ops": []}
        ),
        404,
    )


def sync_blobs_are_the_holders_only(w: World) -> None:
    import base64

    from tests.holding.factories import signed_bytes
    from wallet.holding.summary import content_hash

    raw = signed_bytes(name="Alice's badge")
    cred = content_hash(raw)
    alices = _sync_client(w, w.alice)
    w.client.post(
        "/api/v1/sync",
        headers=w.alice.headers,
        json={
            "protocol": 1,
            "client_id": alices,
            "cursor": None,
            "blobs": {cred: base64.b64encode(raw).decode()},
            "ops": [
                {
                    "type": "entry.add",
                    "op_seq": 1,
                    "hlc": f"1795428000000-0000-{alices}",
                    "cred": cred,
                    "dot": [alices, 1],
                }
            ],
        },
    )
    assert w.client.get(f"/api/v1/sync/blobs/{cred}", headers=w.alice.headers).status_code == 200
    _refused(w.client.get(f"/api/v1/sync/blobs/{cred}", headers=w.bob.headers), 404)


def sync_blob_batches_are_the_holders_only(w: World) -> None:
    import base64

    from tests.holding.factories import signed_bytes
    from wallet.holding.summary import content_hash

    raw = signed_bytes(name="Alice's badge")
    cred = content_hash(raw)
    alices = _sync_client(w, w.alice)
    w.client.post(
        "/api/v1/sync",
        headers=w.alice.headers,
        json={
            "protocol": 1,
            "client_id": alices,
            "cursor": None,
            "blobs": {cred: base64.b64encode(raw).decode()},
            "ops": [
                {
                    "type": "entry.add",
                    "op_seq": 1,
                    "hlc": f"1795428000000-0000-{alices}",
                    "cred": cred,
                    "dot": [alices, 1],
                }
            ],
        },
    )
    assert w.client.post("/api/v1/sync/blobs", headers=w.alice.headers, json={"creds": [cred]}).json == {
        "blobs": {cred: base64.b64encode(raw).decode()},
        "missing": [],
    }
    asked_by_bob = w.client.post("/api/v1/sync/blobs", headers=w.bob.headers, json={"creds": [cred]})
    assert asked_by_bob.status_code == 200
    assert asked_by_bob.json == {"blobs": {}, "missing": [cred]}


def outsiders_cannot_make_oid4vci_offers(w: World) -> None:
    session = _for_each_outsider(w, "POST", "/oid4vci-offer", json={"by": "value"})
    made = w.client.post(
        f"/api/v1/claim-sessions/{session['id']}/oid4vci-offer", headers=w.org["worker"].headers, json={"by": "value"}
    )
    assert made.status_code == 201, made.json


_CASE = {
    "CFDocument": {"identifier": "doc-1", "title": "City skills"},
    "CFItems": [{"identifier": "item-1", "fullStatement": "Listens", "humanCodingScheme": "L-1"}],
}


def _framework(w: World) -> None:
    response = w.client.post(
        "/api/v1/frameworks/city/versions?organisation=makerspace-north",
        headers={**w.org["admin"].headers, "Content-Type": "application/json"},
        data=json.dumps(_CASE),
    )
    assert response.status_code == 201, response.json


def _pathway(w: World) -> str:
    response = w.client.post(
        "/api/v1/organisations/makerspace-north/pathways",
        headers=w.org["admin"].headers,
        json={"name": "Path", "steps": [{"kind": "badge", "achievement": _achievement(w)}]},
    )
    assert response.status_code == 201, response.json
    return response.json["definition"]["id"]


def frameworks_are_public_reading(w: World) -> None:
    _framework(w)
    assert w.client.get("/api/v1/frameworks").json[0]["slug"] == "city"
    assert w.client.get("/api/v1/frameworks/city").status_code == 200
    assert w.client.get("/api/v1/frameworks/city/v1/items/item-1").status_code == 200


def only_the_owners_admins_import_versions(w: World) -> None:
    _framework(w)
    changed = {**_CASE, "CFDocument": {"identifier": "doc-1", "title": "Taken over"}}
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                "/api/v1/frameworks/city/versions",
                headers={**who.headers, "Content-Type": "application/json"},
                data=json.dumps(changed),
            ),
            403,
            404,
        )
    assert w.client.get("/api/v1/frameworks/city").json["title"] == "City skills"


def _alignments_url(w: World) -> str:
    return f"/api/v1/organisations/makerspace-north/achievements/{_achievement(w)}/alignments"


def only_members_read_alignments(w: World) -> None:
    url = _alignments_url(w)
    for who in (w.alice, w.other["admin"]):
        _refused(w.client.get(url, headers=who.headers), 404)


def only_own_admins_align(w: World) -> None:
    _framework(w)
    url = _alignments_url(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.post(url, headers=who.headers, json={"framework": "city", "item": "item-1"}), 403, 404)


def only_own_admins_remove_alignments(w: World) -> None:
    url = _alignments_url(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.delete(url, headers=who.headers, json={"targetUrl": "https://x.test/a"}), 403, 404)


def pathways_are_public_reading(w: World) -> None:
    pathway_id = _pathway(w)
    assert w.client.get("/api/v1/pathways").json[0]["name"] == "Path"
    assert w.client.get(f"/api/v1/pathways/{pathway_id}").status_code == 200


def only_own_admins_create_pathways(w: World) -> None:
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(
            w.client.post(
                "/api/v1/organisations/makerspace-north/pathways",
                headers=who.headers,
                json={"name": "Fake", "steps": [{"kind": "badge", "achievement": "https://x.test/a"}]},
            ),
            403,
            404,
        )


def only_owner_or_partner_admins_change_pathways(w: World) -> None:
    pathway_id = _pathway(w)
    for who in (w.alice, w.org["worker"], w.other["admin"]):
        _refused(w.client.patch(f"/api/v1/pathways/{pathway_id}", headers=who.headers, json={"name": "Taken"}), 403)
    assert w.client.get(f"/api/v1/pathways/{pathway_id}").json["name"] == "Path"


def my_pathways_are_mine(w: World) -> None:
    pathway_id = _pathway(w)
    assert w.client.get("/api/v1/me/pathways", headers=w.bob.headers).json["pathways"] == []
    assert w.client.get(f"/api/v1/me/pathways/{pathway_id}", headers=w.bob.headers).json["steps_done"] == 0


def my_skills_are_mine(w: World) -> None:
    assert w.client.get("/api/v1/me/skills", headers=w.bob.headers).json == []


def records_hold_only_own_badges(w: World) -> None:
    issued = _issued(w)
    theirs = w.client.get("/api/v1/credentials", headers=w.alice.headers).json
    items = theirs["items"] if isinstance(theirs, dict) else theirs
    assert items, issued
    _refused(w.client.post("/api/v1/me/records", headers=w.bob.headers, json={"credentials": [items[0]["id"]]}), 404)


# --- badge requests and endorsements (#16; the full matrix is tests/requests/test_authorisation.py) ---

ORG_REQUESTS = "/api/v1/organisations/makerspace-north/badge-requests"
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0"
    "00000301010018dd8db00000000049454e44ae426082"
)


def _requestable(w: World) -> str:
    achievement = _achievement(w)
    made = w.client.put(
        f"/api/v1/organisations/makerspace-north/achievements/{achievement}/requestable",
        headers=w.org["admin"].headers,
        json={},
    )
    assert made.status_code == 200, made.json
    return achievement


def _alices_request(w: World, *, with_file: bool = False) -> tuple[str, str | None]:
    body = {"achievement_id": _requestable(w), "narrative": "I welded a gate."}
    made = w.client.post("/api/v1/me/badge-requests", headers=w.alice.headers, json=body)
    assert made.status_code == 201, made.json
    file_id = None
    if with_file:
        stored = w.client.post(
            f"/api/v1/me/badge-requests/{made.json['id']}/files",
            headers={**w.alice.headers, "Content-Type": "image/png"},
            data=PNG_1PX,
        )
        assert stored.status_code == 201, stored.json
        file_id = stored.json["id"]
    return made.json["id"], file_id


def _alices_request_is_untouched(w: World, request_id: str) -> None:
    mine = w.client.get(f"/api/v1/me/badge-requests/{request_id}", headers=w.alice.headers).json
    assert mine["status"] == "submitted" and len(mine["thread"]) == 1


def requestable_badges_need_sign_in(w: World) -> None:
    _requestable(w)
    assert len(w.client.get("/api/v1/requestable-badges", headers=w.bob.headers).json) == 1
    _refused(w.client.get("/api/v1/requestable-badges"), 401)


def only_admins_make_badges_requestable(w: World) -> None:
    achievement = _achievement(w)
    path = f"/api/v1/organisations/makerspace-north/achievements/{achievement}/requestable"
    _refused(w.client.put(path, headers=w.org["worker"].headers, json={}), 403)
    _refused(w.client.put(path, headers=w.other["admin"].headers, json={}), 404)
    assert w.client.get("/api/v1/requestable-badges", headers=w.bob.headers).json == []


def only_admins_stop_requests(w: World) -> None:
    achievement = _requestable(w)
    path = f"/api/v1/organisations/makerspace-north/achievements/{achievement}/requestable"
    _refused(w.client.delete(path, headers=w.org["worker"].headers), 403)
    _refused(w.client.delete(path, headers=w.bob.headers), 404)
    assert len(w.client.get("/api/v1/requestable-badges", headers=w.bob.headers).json) == 1


def my_requests_are_mine(w: World) -> None:
    _alices_request(w)
    assert w.client.get("/api/v1/me/badge-requests", headers=w.bob.headers).json == []


def a_request_is_made_for_oneself(w: World) -> None:
    request_id, _ = _alices_request(w)
    assert [r["id"] for r in w.client.get("/api/v1/me/badge-requests", headers=w.alice.headers).json] == [request_id]
    assert w.client.get("/api/v1/me/badge-requests", headers=w.bob.headers).json == []


def others_cannot_read_my_request(w: World) -> None:
    request_id, _ = _alices_request(w)
    _refused(w.client.get(f"/api/v1/me/badge-requests/{request_id}", headers=w.bob.headers), 404)


def others_cannot_attach_to_my_request(w: World) -> None:
    request_id, _ = _alices_request(w)
    path = f"/api/v1/me/badge-requests/{request_id}/files"
    _refused(w.client.post(path, headers={**w.bob.headers, "Content-Type": "image/png"}, data=PNG_1PX), 404)
    assert w.client.get(f"/api/v1/me/badge-requests/{request_id}", headers=w.alice.headers).json["files"] == []


def others_cannot_read_my_evidence(w: World) -> None:
    request_id, file_id = _alices_request(w, with_file=True)
    path = f"/api/v1/me/badge-requests/{request_id}/files/{file_id}"
    _refused(w.client.get(path, headers=w.bob.headers), 404)
    _refused(w.client.get(path, headers=w.org["worker"].headers), 404)


def others_cannot_remove_my_evidence(w: World) -> None:
    request_id, file_id = _alices_request(w, with_file=True)
    _refused(w.client.delete(f"/api/v1/me/badge-requests/{request_id}/files/{file_id}", headers=w.bob.headers), 404)
    assert len(w.client.get(f"/api/v1/me/badge-requests/{request_id}", headers=w.alice.headers).json["files"]) == 1


def others_cannot_answer_for_me(w: World) -> None:
    request_id, _ = _alices_request(w)
    path = f"/api/v1/me/badge-requests/{request_id}/replies"
    _refused(w.client.post(path, headers=w.bob.headers, json={"body": "hi"}), 404)
    _alices_request_is_untouched(w, request_id)


def others_cannot_withdraw_my_request(w: World) -> None:
    request_id, _ = _alices_request(w)
    _refused(w.client.post(f"/api/v1/me/badge-requests/{request_id}/withdraw", headers=w.bob.headers), 404)
    _alices_request_is_untouched(w, request_id)


def only_the_organisation_lists_its_requests(w: World) -> None:
    _alices_request(w)
    _refused(w.client.get(ORG_REQUESTS, headers=w.alice.headers), 404)
    _refused(w.client.get(ORG_REQUESTS, headers=w.other["admin"].headers), 404)
    assert len(w.client.get(ORG_REQUESTS, headers=w.org["worker"].headers).json) == 1


def only_reviewers_read_a_request(w: World) -> None:
    request_id, _ = _alices_request(w)
    _refused(w.client.get(f"{ORG_REQUESTS}/{request_id}", headers=w.other["admin"].headers), 404)
    _refused(w.client.get(f"{ORG_REQUESTS}/{request_id}", headers=w.bob.headers), 404)


def only_reviewers_read_evidence(w: World) -> None:
    request_id, file_id = _alices_request(w, with_file=True)
    path = f"{ORG_REQUESTS}/{request_id}/files/{file_id}"
    _refused(w.client.get(path, headers=w.other["admin"].headers), 404)
    _refused(w.client.get(path, headers=w.alice.headers), 404)
    assert w.client.get(path, headers=w.org["worker"].headers).status_code == 200


def _only_reviewers_decide(w: World, action: str, body: dict[str, Any]) -> None:
    request_id, _ = _alices_request(w)
    for who in (w.alice, w.bob, w.other["admin"]):
        _refused(w.client.post(f"{ORG_REQUESTS}/{request_id}/{action}", headers=who.headers, json=body), 404)
    _alices_request_is_untouched(w, request_id)


def only_reviewers_approve(w: World) -> None:
    _only_reviewers_decide(w, "approve", {})


def only_reviewers_reject(w: World) -> None:
    _only_reviewers_decide(w, "reject", {"reason": "no"})


def only_reviewers_ask_for_more(w: World) -> None:
    _only_reviewers_decide(w, "ask", {"question": "more?"})


ENDORSE = "/api/v1/organisations/museum-east/endorsements"


def only_admins_endorse(w: World) -> None:
    body = {"issuer": "makerspace-north", "comment": "Good."}
    _refused(w.client.post(ENDORSE, headers=w.other["worker"].headers, json=body), 403)
    _refused(w.client.post(ENDORSE, headers=w.org["admin"].headers, json=body), 404)
    assert w.client.get(ENDORSE, headers=w.other["admin"].headers).json == []


def endorsements_given_are_the_members(w: World) -> None:
    w.client.post(ENDORSE, headers=w.other["admin"].headers, json={"issuer": "makerspace-north", "comment": "Good."})
    _refused(w.client.get(ENDORSE, headers=w.alice.headers), 404)
    assert len(w.client.get(ENDORSE, headers=w.other["worker"].headers).json) == 1


def only_the_endorsers_admins_withdraw(w: World) -> None:
    made = w.client.post(
        ENDORSE, headers=w.other["admin"].headers, json={"issuer": "makerspace-north", "comment": "Good."}
    ).json
    _refused(w.client.post(f"{ENDORSE}/{made['id']}/withdraw", headers=w.other["worker"].headers), 403)
    _refused(w.client.post(f"{ENDORSE}/{made['id']}/withdraw", headers=w.org["admin"].headers), 404)
    assert w.client.get(f"/endorsements/{made['id']}").status_code == 200


SCENARIOS: dict[str, Callable[[World], None]] = {
    "GET /api/v1/me": me_is_self,
    "GET /api/v1/requestable-badges": requestable_badges_need_sign_in,
    "PUT /api/v1/organisations/{slug}/achievements/{achievement_id}/requestable": only_admins_make_badges_requestable,
    "DELETE /api/v1/organisations/{slug}/achievements/{achievement_id}/requestable": only_admins_stop_requests,
    "GET /api/v1/me/badge-requests": my_requests_are_mine,
    "POST /api/v1/me/badge-requests": a_request_is_made_for_oneself,
    "GET /api/v1/me/badge-requests/{request_id}": others_cannot_read_my_request,
    "POST /api/v1/me/badge-requests/{request_id}/files": others_cannot_attach_to_my_request,
    "GET /api/v1/me/badge-requests/{request_id}/files/{file_id}": others_cannot_read_my_evidence,
    "DELETE /api/v1/me/badge-requests/{request_id}/files/{file_id}": others_cannot_remove_my_evidence,
    "POST /api/v1/me/badge-requests/{request_id}/replies": others_cannot_answer_for_me,
    "POST /api/v1/me/badge-requests/{request_id}/withdraw": others_cannot_withdraw_my_request,
    "GET /api/v1/organisations/{slug}/badge-requests": only_the_organisation_lists_its_requests,
    "GET /api/v1/organisations/{slug}/badge-requests/{request_id}": only_reviewers_read_a_request,
    "GET /api/v1/organisations/{slug}/badge-requests/{request_id}/files/{file_id}": only_reviewers_read_evidence,
    "POST /api/v1/organisations/{slug}/badge-requests/{request_id}/approve": only_reviewers_approve,
    "POST /api/v1/organisations/{slug}/badge-requests/{request_id}/reject": only_reviewers_reject,
    "POST /api/v1/organisations/{slug}/badge-requests/{request_id}/ask": only_reviewers_ask_for_more,
    "POST /api/v1/organisations/{slug}/endorsements": only_admins_endorse,
    "GET /api/v1/organisations/{slug}/endorsements": endorsements_given_are_the_members,
    "POST /api/v1/organisations/{slug}/endorsements/{endorsement_id}/withdraw": only_the_endorsers_admins_withdraw,
    "PATCH /api/v1/me": patch_me_only_changes_self,
    "DELETE /api/v1/me": delete_me_needs_own_password,
    "POST /api/v1/me/password": password_needs_current,
    "POST /api/v1/me/recovery-codes": new_recovery_codes_need_own_password,
    "POST /api/v1/accounts/{username}/reset-code": reset_codes_only_for_learners_staff_have_met,
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
    "GET /api/v1/me/invitations": my_invitations_are_mine,
    "POST /api/v1/me/invitations/{invitation_id}/accept": only_the_invited_accept,
    "POST /api/v1/me/invitations/{invitation_id}/decline": only_the_invited_decline,
    "GET /api/v1/organisations/{slug}/invitations": only_own_admins_list_invitations,
    "DELETE /api/v1/organisations/{slug}/invitations/{invitation_id}": only_own_admins_withdraw_invitations,
    "DELETE /api/v1/organisations/{slug}/members/{account_id}": only_own_admins_remove_members,
    "GET /api/v1/credentials": credentials_list_is_own,
    "POST /api/v1/credentials/import": imports_land_in_own_wallet,
    "POST /api/v1/credentials/import-url": import_url_refuses_private_addresses_and_lands_in_own_wallet,
    "GET /api/v1/credentials/export.zip": wallet_zip_is_own,
    "GET /api/v1/credentials/{credential_id}": cannot_read_anothers_credential,
    "PATCH /api/v1/credentials/{credential_id}": cannot_tag_anothers_credential,
    "DELETE /api/v1/credentials/{credential_id}": cannot_delete_anothers_credential,
    "GET /api/v1/credentials/{credential_id}/raw": cannot_read_anothers_raw_credential,
    "POST /api/v1/credentials/{credential_id}/verify": cannot_verify_anothers_credential,
    "GET /api/v1/credentials/{credential_id}/export": cannot_export_anothers_credential,
    "GET /api/v1/credentials/{credential_id}/binding": cannot_see_or_bind_anothers_credential,
    "POST /api/v1/credentials/{credential_id}/binding": cannot_see_or_bind_anothers_credential,
    "POST /api/v1/verify": pasted_verification_keeps_nothing,
    "GET /api/v1/organisations/{slug}/achievements": only_members_list_achievements,
    "POST /api/v1/organisations/{slug}/achievements": only_own_admins_create_achievements,
    "GET /api/v1/organisations/{slug}/achievements/{achievement_id}": only_members_read_an_achievement,
    "PATCH /api/v1/organisations/{slug}/achievements/{achievement_id}": only_own_admins_edit_achievements,
    "POST /api/v1/organisations/{slug}/achievements/{achievement_id}/archive": only_own_admins_archive_achievements,
    "PUT /api/v1/organisations/{slug}/achievements/{achievement_id}/image": only_own_admins_upload_images,
    "POST /api/v1/organisations/{slug}/achievements/{achievement_id}/awards": only_own_admins_award,
    "GET /api/v1/organisations/{slug}/awards": only_own_admins_list_awards,
    "POST /api/v1/organisations/{slug}/awards/{issued_id}/revoke": only_own_admins_revoke,
    "GET /api/v1/shares": shares_list_is_own,
    "POST /api/v1/shares": cannot_share_anothers_credential,
    "GET /api/v1/shares/{share_id}": cannot_read_anothers_share,
    "PATCH /api/v1/shares/{share_id}": cannot_change_anothers_share,
    "POST /api/v1/shares/{share_id}/revoke": cannot_revoke_anothers_share,
    "GET /api/v1/organisations/{slug}/claim-sessions": only_members_list_claim_sessions,
    "POST /api/v1/organisations/{slug}/claim-sessions": only_members_open_claim_sessions,
    "GET /api/v1/claim-sessions/{session_id}": outsiders_cannot_read_a_claim_session,
    "PATCH /api/v1/claim-sessions/{session_id}": outsiders_cannot_pause_a_claim_session,
    "GET /api/v1/claim-sessions/{session_id}/qr": outsiders_cannot_read_the_qr,
    "GET /api/v1/claim-sessions/{session_id}/qr.png": outsiders_cannot_draw_the_qr_png,
    "GET /api/v1/claim-sessions/{session_id}/qr.svg": outsiders_cannot_draw_the_qr_svg,
    "GET /api/v1/claim-sessions/{session_id}/cards.pdf": outsiders_cannot_print_the_cards,
    "GET /api/v1/claim-sessions/{session_id}/claims": outsiders_cannot_list_claimants,
    "GET /api/v1/claim-sessions/{session_id}/claims.csv": outsiders_cannot_export_claimants,
    "POST /api/v1/claim-sessions/{session_id}/claims/{claim_id}/decision": outsiders_cannot_decide_claims,
    "GET /api/v1/claim-sessions/{session_id}/count": outsiders_cannot_read_the_count,
    "POST /api/v1/claim-sessions/{session_id}/display-link": outsiders_cannot_make_display_links,
    "POST /api/v1/claims/redeem": redeeming_claims_for_oneself_only,
    "GET /api/v1/me/claims": my_claims_are_mine,
    "POST /api/v1/sync/clients": sync_clients_cannot_take_anothers_id,
    "POST /api/v1/sync": sync_refuses_anothers_client,
    "GET /api/v1/sync/blobs/{cred}": sync_blobs_are_the_holders_only,
    "POST /api/v1/claim-sessions/{session_id}/oid4vci-offer": outsiders_cannot_make_oid4vci_offers,
    "POST /api/v1/sync/blobs": sync_blob_batches_are_the_holders_only,
    "GET /api/v1/frameworks": frameworks_are_public_reading,
    "GET /api/v1/frameworks/{slug}": frameworks_are_public_reading,
    "GET /api/v1/frameworks/{slug}/v{version}/items/{identifier}": frameworks_are_public_reading,
    "POST /api/v1/frameworks/{slug}/versions": only_the_owners_admins_import_versions,
    "GET /api/v1/organisations/{slug}/achievements/{achievement_id}/alignments": only_members_read_alignments,
    "POST /api/v1/organisations/{slug}/achievements/{achievement_id}/alignments": only_own_admins_align,
    "DELETE /api/v1/organisations/{slug}/achievements/{achievement_id}/alignments": only_own_admins_remove_alignments,
    "GET /api/v1/pathways": pathways_are_public_reading,
    "GET /api/v1/pathways/{pathway_id}": pathways_are_public_reading,
    "POST /api/v1/organisations/{slug}/pathways": only_own_admins_create_pathways,
    "PATCH /api/v1/pathways/{pathway_id}": only_owner_or_partner_admins_change_pathways,
    "GET /api/v1/me/pathways": my_pathways_are_mine,
    "GET /api/v1/me/pathways/{pathway_id}": my_pathways_are_mine,
    "GET /api/v1/me/skills": my_skills_are_mine,
    "POST /api/v1/me/records": records_hold_only_own_badges,
}


def _covered_by_the_request_matrix() -> set[str]:
    """Operations on one badge request and its files, covered by tests/requests/test_authorisation.py
    (the asker's, another learner's, another organisation's reviewer's and an anonymous caller's view)."""
    from tests.requests.test_authorisation import LEARNER_OPS, REVIEW_OPS

    names = set()
    for method, path, _ in [*LEARNER_OPS, *REVIEW_OPS]:
        template = path.split("?", 1)[0].replace("{rid}", "{request_id}").replace("{fid}", "{file_id}")
        names.add(f"{method} {template}")
    return names


def _operations(client: Any) -> dict[str, dict[str, Any]]:
    spec = client.get("/openapi.json").json
    return {
        f"{method.upper()} {path}": op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_operation_has_a_scenario(client: Any) -> None:
    operations = set(_operations(client))
    missing = operations - set(SCENARIOS) - PUBLIC - _covered_by_the_request_matrix()
    assert not missing, f"routes without an authorisation scenario: {sorted(missing)}"
    assert _covered_by_the_request_matrix() <= operations, "the request matrix names routes that do not exist"
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
