"""Format sniffing: whatever a learner uploads is recognised, or refused with a reason."""

from __future__ import annotations

import contextlib
import io
import json

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from wallet.credentials.baking import bake_png, bake_svg
from wallet.credentials.jwt import sign_vc_jwt
from wallet.credentials.parse import UnsupportedFormat, sniff

VC = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": "did:example:issuer",
    "credentialSubject": {"id": "did:example:learner"},
}
OB2 = {
    "@context": "https://w3id.org/openbadges/v2",
    "type": "Assertion",
    "id": "https://issuer.example/assertions/1",
    "recipient": {"type": "email", "hashed": False, "identity": "a@example.org"},
    "badge": "https://issuer.example/badge",
}
KEY = ed25519.Ed25519PrivateKey.generate()
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>'


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_credential_json_is_recognised():
    detected = sniff(json.dumps(VC).encode(), content_type="application/json")
    assert (detected.kind, detected.payload) == ("vc-json", VC)


def test_ob2_json_is_recognised():
    assert sniff(json.dumps(OB2).encode(), content_type=None).kind == "ob2-json"


def test_a_vc_jwt_is_recognised_even_with_a_wrong_content_type():
    token = sign_vc_jwt(VC, private_key=KEY, kid=None)
    detected = sniff(token.encode() + b"\n", content_type="application/octet-stream")
    assert (detected.kind, detected.payload) == ("vc-jwt", token)


def test_a_signed_ob2_assertion_is_recognised():
    token = pyjwt.PyJWS().encode(json.dumps(OB2).encode(), KEY, algorithm="EdDSA")
    assert sniff(token.encode(), content_type="text/plain").kind == "ob2-jws"


def test_baked_images_report_what_they_carry():
    detected = sniff(bake_png(png(), json.dumps(VC)), content_type="image/png")
    assert detected.kind == "baked-png"
    assert detected.inner.kind == "vc-json"

    token = sign_vc_jwt(VC, private_key=KEY, kid=None)
    detected = sniff(bake_svg(SVG, token), content_type=None)
    assert (detected.kind, detected.inner.kind) == ("baked-svg", "vc-jwt")

    hosted = sniff(bake_png(png(), OB2["id"], keyword="openbadges"), content_type=None)
    assert (hosted.inner.kind, hosted.inner.payload) == ("ob2-url", OB2["id"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png(), "no baked credential"),
        (SVG, "no baked credential"),
        (b'{"hello": "world"}', "neither"),
        (b"{broken", "does not parse"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "binary"),
        (b"GIF89a\x00\x01", "not JSON, a JWS or a supported image"),
        (b"hello there", "not JSON"),
        (b"https://issuer.example/assertions/1", "bare URL"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "unreadable image"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data, reason):
    with pytest.raises(UnsupportedFormat, match=reason):
        sniff(data, content_type=None)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_either_recognised_or_refused_cleanly(data):
    with contextlib.suppress(UnsupportedFormat):
        sniff(data, content_type=None)
