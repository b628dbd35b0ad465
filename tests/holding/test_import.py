"""Importing every format a learner may bring, and refusing what a wallet should not keep."""

from __future__ import annotations

import json
from typing import Any

from tests.holding.factories import (
    ISSUER_KEY,
    METHOD,
    VC2_CONTEXT,
    badge,
    json_reply,
    signed,
    signed_bytes,
    status_list_credential,
    tamper,
)
from wallet.credentials.baking import OB2_PNG_KEYWORD, bake_png, bake_svg
from wallet.credentials.jwt import sign_vc_jwt
from wallet.holding.exporting import generated_png, generated_svg


def post_import(client: Any, who: Any, body: bytes, content_type: str = "application/json") -> Any:
    return client.post("/api/v1/credentials/import", data=body, headers={**who.headers, "Content-Type": content_type})


def held_count(client: Any, who: Any) -> int:
    return json.loads(client.get("/api/v1/credentials", headers=who.headers).headers["X-Pagination"])["total"]


def raw_of(client: Any, who: Any, credential_id: str) -> bytes:
    return client.get(f"/api/v1/credentials/{credential_id}/raw", headers=who.headers).data


def test_a_vc_jwt_is_imported_as_issued(client, sign_up):
    sam = sign_up()
    token = sign_vc_jwt(badge(name="Robotics"), private_key=ISSUER_KEY, kid=METHOD)
    response = post_import(client, sam, token.encode(), "application/jwt")
    assert response.status_code == 201, response.json
    assert response.json["format"] == "vc-jwt"
    assert response.json["achievement_name"] == "Robotics"
    assert response.json["outcome"] == "valid"
    assert raw_of(client, sam, response.json["id"]) == token.encode()


def test_a_jcs_signed_credential_pasted_as_text_is_imported(client, sign_up):
    sam = sign_up()
    body = json.dumps(signed(badge(), cryptosuite="eddsa-jcs-2022")).encode()
    response = post_import(client, sam, body, "text/plain")
    assert response.status_code == 201, response.json
    assert response.json["media_type"] == "application/json"


def test_baked_png_and_svg_badges_are_unbaked_and_held_as_the_credential(client, sign_up):
    sam = sign_up()
    text = json.dumps(signed(badge(name="Baked PNG")), indent=2)
    png = post_import(client, sam, bake_png(generated_png("Baked PNG"), text), "image/png")
    assert png.status_code == 201, png.json
    assert png.json["achievement_name"] == "Baked PNG"
    assert raw_of(client, sam, png.json["id"]) == text.encode()
    token = sign_vc_jwt(badge(name="Baked SVG"), private_key=ISSUER_KEY, kid=METHOD)
    svg = post_import(client, sam, bake_svg(generated_svg("Baked SVG"), token), "image/svg+xml")
    assert svg.status_code == 201, svg.json
    assert svg.json["format"] == "vc-jwt"
    assert raw_of(client, sam, svg.json["id"]) == token.encode()


def test_a_hosted_ob2_assertion_is_held_as_the_issuer_serves_it(client, sign_up, ob2_issuer):
    sam = sign_up()
    served = ob2_issuer.host("/assertions/1")
    response = client.post(
        "/api/v1/credentials/import-url", headers=sam.headers, json={"url": ob2_issuer.server.url("/assertions/1")}
    )
    assert response.status_code == 201, response.json
    held = response.json
    assert held["format"] == "ob2"
    assert held["achievement_name"] == "Laser Cutter Safety"
    assert held["issuer_name"] == "Harbour Maker Space"
    assert held["outcome"] == "valid"
    assert held["verification"]["verificationType"] == "hosted"
    assert raw_of(client, sam, held["id"]) == served


def test_a_hosted_ob2_json_file_and_an_ob2_baked_png_are_imported(client, sign_up, ob2_issuer):
    sam = sign_up()
    served = ob2_issuer.host("/assertions/2")
    response = post_import(client, sam, json.dumps(json.loads(served)).encode())
    assert response.status_code == 201, response.json
    ob2_issuer.host("/assertions/3")
    png = bake_png(generated_png("Old badge"), ob2_issuer.server.url("/assertions/3"), keyword=OB2_PNG_KEYWORD)
    baked = post_import(client, sam, png, "image/png")
    assert baked.status_code == 201, baked.json
    assert baked.json["credential_id"] == ob2_issuer.server.url("/assertions/3")


def test_a_signed_ob2_assertion_is_imported(client, sign_up, ob2_issuer):
    sam = sign_up()
    token = ob2_issuer.sign("/assertions/signed-1")
    response = post_import(client, sam, token.encode(), "text/plain")
    assert response.status_code == 201, response.json
    assert response.json["verification"]["verificationType"] == "signed"
    assert response.json["outcome"] == "valid"
    assert raw_of(client, sam, response.json["id"]) == token.encode()


def test_a_tampered_credential_is_refused_naming_the_proof_and_nothing_is_stored(client, sign_up):
    sam = sign_up()
    response = post_import(client, sam, json.dumps(tamper(signed(badge()))).encode())
    assert response.status_code == 422
    assert response.json["code"] == "credential.invalid"
    assert response.json["failed_checks"] == ["proof"]
    assert "proof" in response.json["detail"]
    assert held_count(client, sam) == 0


def test_importing_twice_or_in_another_encoding_is_a_duplicate(client, sign_up):
    sam = sign_up()
    document = signed(badge())
    first = post_import(client, sam, json.dumps(document).encode())
    assert first.status_code == 201
    for body in (json.dumps(document).encode(), json.dumps(document, indent=3, sort_keys=True).encode()):
        again = post_import(client, sam, body)
        assert again.status_code == 409
        assert again.json["code"] == "credential.duplicate"
        assert again.json["existing_id"] == first.json["id"]
    assert held_count(client, sam) == 1


def test_unsupported_formats_are_refused(client, sign_up):
    sam = sign_up()
    for body, content_type in (
        (b'{"hello": "world"}', "application/json"),
        (b"just some words", "text/plain"),
        (generated_png("no credential inside"), "image/png"),
    ):
        response = post_import(client, sam, body, content_type)
        assert response.status_code == 415, response.json
        assert response.json["code"] == "credential.unsupported_format"
    wrong_type = post_import(client, sam, signed_bytes(), "application/pdf")
    assert wrong_type.status_code == 415
    assert held_count(client, sam) == 0


def test_an_unknown_json_ld_context_is_refused(client, sign_up):
    sam = sign_up()
    document = badge()
    document["@context"] = [VC2_CONTEXT, "https://contexts.example/unheard-of/v9"]
    response = post_import(client, sam, json.dumps(document).encode())
    assert response.status_code == 422
    assert response.json["code"] == "credential.unknown_context"
    assert held_count(client, sam) == 0


def test_an_expired_credential_is_kept_and_shown_as_expired(client, sign_up):
    sam = sign_up()
    response = post_import(
        client, sam, signed_bytes(valid_from="2024-01-01T00:00:00Z", validUntil="2025-01-01T00:00:00Z")
    )
    assert response.status_code == 201, response.json
    assert response.json["expired"] is True
    validity = next(c for c in response.json["verification"]["checks"] if c["name"] == "validity")
    assert validity["outcome"] == "failed"


def test_a_credential_whose_status_list_is_down_is_kept_as_indeterminate_never_valid(client, sign_up, server):
    sam = sign_up()
    server.routes["/status/1"] = (503, {"Content-Type": "text/plain"}, b"down for maintenance")
    body = signed_bytes(status_url=server.url("/status/1"))
    response = post_import(client, sam, body)
    assert response.status_code == 201, response.json
    assert response.json["outcome"] == "indeterminate"
    status = next(c for c in response.json["verification"]["checks"] if c["name"] == "status")
    assert status["outcome"] == "indeterminate"

    server.routes["/status/1"] = json_reply(status_list_credential(server.url("/status/1"), revoked=False))
    again = client.post(f"/api/v1/credentials/{response.json['id']}/verify", headers=sam.headers)
    assert again.status_code == 200
    assert again.json["outcome"] == "valid"

    server.routes["/status/1"] = json_reply(status_list_credential(server.url("/status/1"), revoked=True))
    revoked = client.post(f"/api/v1/credentials/{response.json['id']}/verify", headers=sam.headers)
    assert revoked.json["outcome"] == "invalid"
    assert client.get(f"/api/v1/credentials/{response.json['id']}", headers=sam.headers).json["outcome"] == "invalid"


def test_a_revoked_credential_is_refused(client, sign_up, server):
    sam = sign_up()
    server.routes["/status/2"] = json_reply(status_list_credential(server.url("/status/2"), revoked=True))
    response = post_import(client, sam, signed_bytes(status_url=server.url("/status/2")))
    assert response.status_code == 422
    assert response.json["failed_checks"] == ["status"]


def test_import_url_refuses_what_cannot_be_fetched(client, sign_up, server):
    sam = sign_up()
    response = client.post(
        "/api/v1/credentials/import-url", headers=sam.headers, json={"url": server.url("/nothing-here")}
    )
    assert response.status_code == 422
    assert response.json["code"] == "credential.fetch_failed"


def test_pasted_credentials_are_verified_without_being_kept(client, sign_up):
    sam = sign_up()
    good = client.post(
        "/api/v1/verify", data=signed_bytes(name="Pasted"), headers={**sam.headers, "Content-Type": "application/json"}
    )
    assert good.status_code == 200, good.json
    assert good.json["outcome"] == "valid"
    assert good.json["credential"]["achievement_name"] == "Pasted"
    bad = client.post(
        "/api/v1/verify",
        data=json.dumps(tamper(signed(badge()))).encode(),
        headers={**sam.headers, "Content-Type": "application/json"},
    )
    assert bad.status_code == 200
    assert bad.json["outcome"] == "invalid"
    assert {c["name"]: c["outcome"] for c in bad.json["checks"]}["proof"] == "failed"
    assert held_count(client, sam) == 0
