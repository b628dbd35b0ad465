"""Taking credentials elsewhere: baked badges that unbake to the same credential, and the whole wallet."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from PIL import Image

from tests.holding.factories import ISSUER_KEY, METHOD, badge, signed, signed_bytes
from wallet.credentials.baking import extract_baked, unbake_png, unbake_svg
from wallet.credentials.jwt import sign_vc_jwt


def held(client: Any, who: Any, body: bytes, content_type: str = "application/json") -> str:
    response = client.post(
        "/api/v1/credentials/import", data=body, headers={**who.headers, "Content-Type": content_type}
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_baked_export_unbakes_to_the_same_credential_and_imports_elsewhere(client, sign_up, fmt):
    sam, alex = sign_up(), sign_up()
    body = json.dumps(signed(badge(name="Soldering")), indent=2).encode()
    credential_id = held(client, sam, body)
    exported = client.get(f"/api/v1/credentials/{credential_id}/export?format={fmt}", headers=sam.headers)
    assert exported.status_code == 200
    assert exported.mimetype == ("image/png" if fmt == "png" else "image/svg+xml")
    assert "soldering" in exported.headers["Content-Disposition"]
    text = unbake_png(exported.data) if fmt == "png" else unbake_svg(exported.data)
    assert json.loads(text) == json.loads(body)
    if fmt == "png":
        assert Image.open(io.BytesIO(exported.data)).size == (400, 400)
    elsewhere = held(client, alex, exported.data, exported.mimetype)
    assert client.get(f"/api/v1/credentials/{elsewhere}", headers=alex.headers).json["outcome"] == "valid"


def test_a_vc_jwt_exports_as_issued_and_baked(client, sign_up):
    sam = sign_up()
    token = sign_vc_jwt(badge(), private_key=ISSUER_KEY, kid=METHOD)
    credential_id = held(client, sam, token.encode(), "application/jwt")
    as_issued = client.get(f"/api/v1/credentials/{credential_id}/export?format=json", headers=sam.headers)
    assert as_issued.data == token.encode()
    assert as_issued.mimetype == "application/jwt"
    svg = client.get(f"/api/v1/credentials/{credential_id}/export?format=svg", headers=sam.headers)
    assert extract_baked(svg.data).text == token


def test_an_unknown_export_format_is_refused(client, sign_up):
    sam = sign_up()
    credential_id = held(client, sam, signed_bytes())
    assert client.get(f"/api/v1/credentials/{credential_id}/export?format=gif", headers=sam.headers).status_code == 422


def test_the_wallet_zip_holds_every_credential_and_a_manifest(client, sign_up):
    sam = sign_up()
    bodies = {held(client, sam, signed_bytes(name=name)): None for name in ("One", "Two")}
    token = sign_vc_jwt(badge(name="Three"), private_key=ISSUER_KEY, kid=METHOD)
    bodies[held(client, sam, token.encode(), "application/jwt")] = None
    for credential_id in bodies:
        bodies[credential_id] = client.get(f"/api/v1/credentials/{credential_id}/raw", headers=sam.headers).data
    response = client.get("/api/v1/credentials/export.zip", headers=sam.headers)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("manifest.json"))
    assert {entry["id"] for entry in manifest["credentials"]} == set(bodies)
    for entry in manifest["credentials"]:
        assert archive.read(entry["file"]) == bodies[entry["id"]]
        assert entry["verification"]["outcome"] == "valid"
    assert sorted(entry["achievement_name"] for entry in manifest["credentials"]) == ["One", "Three", "Two"]
