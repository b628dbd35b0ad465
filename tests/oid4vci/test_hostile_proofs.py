"""Hostile key proofs are ``invalid_proof``, never a 500: every number a JSON ``iat`` can carry, every
malformed header key (``jwk``, ``did:jwk``, ``did:key``) — as classes, not single examples."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.oid4vci.conftest import Room
from wallet.errors import DomainError
from wallet.oid4vci.proofs import verify_key_proof

AUDIENCE = "https://wallet.test"
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
_KEY = ed25519.Ed25519PrivateKey.generate()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk() -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))}


def _signed(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A compact JWS signed by ``_KEY`` whatever the header says (a hostile wallet writes its own JSON)."""
    head = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": _jwk()} if header is None else header
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims, allow_nan=True).encode())}"
    return f"{signing_input}.{_b64(_KEY.sign(signing_input.encode()))}"


def _refusal(token: str) -> DomainError:
    with pytest.raises(DomainError) as refused:
        verify_key_proof(token, audience=AUDIENCE, now=NOW)
    return refused.value


numbers_far_from_now = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(
        lambda x: not (NOW.timestamp() - 400 <= x <= NOW.timestamp() + 120)
    ),
    st.sampled_from([1e20, -1e20, 1e300, -1e300, float("nan"), float("inf"), float("-inf"), 2**70, -(2**70)]),
    st.integers().filter(lambda x: not (NOW.timestamp() - 400 <= x <= NOW.timestamp() + 120)),
)


@settings(max_examples=200, deadline=None)
@given(iat=numbers_far_from_now)
def test_any_iat_far_from_now_or_not_a_number_is_an_invalid_proof(iat: float) -> None:
    assert _refusal(_signed({"aud": AUDIENCE, "iat": iat, "nonce": "n"})).code == "oid4vci.invalid_proof"


@settings(max_examples=50, deadline=None)
@given(
    iat=st.one_of(st.text(), st.none(), st.booleans(), st.lists(st.integers()), st.dictionaries(st.text(), st.text()))
)
def test_an_iat_that_is_no_number_is_an_invalid_proof(iat: Any) -> None:
    assert _refusal(_signed({"aud": AUDIENCE, "iat": iat, "nonce": "n"})).code == "oid4vci.invalid_proof"


def _did_jwk(jwk: dict[str, Any]) -> str:
    return "did:jwk:" + _b64(json.dumps(jwk).encode())


OFF_CURVE_P256 = {"kty": "EC", "crv": "P-256", "x": _b64(b"\x01" * 32), "y": _b64(b"\x02" * 32)}
FIVE_BYTE_ED25519 = {"kty": "OKP", "crv": "Ed25519", "x": _b64(b"12345")}

malformed_jwks = st.one_of(
    st.sampled_from([OFF_CURVE_P256, FIVE_BYTE_ED25519]),
    st.builds(
        lambda raw: {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)},
        st.binary(max_size=64).filter(lambda b: len(b) != 32),
    ),
    st.builds(
        lambda x, y: {"kty": "EC", "crv": "P-256", "x": _b64(x), "y": _b64(y)},
        st.binary(min_size=0, max_size=40),
        st.binary(min_size=0, max_size=40),
    ),
    st.dictionaries(
        st.sampled_from(["kty", "crv", "x", "y", "d", "n", "e"]),
        st.one_of(st.text(max_size=20), st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
    ),
)


def _header_naming(style: str, jwk: dict[str, Any], alg: str) -> dict[str, Any]:
    base = {"typ": "openid4vci-proof+jwt", "alg": alg}
    if style == "jwk":
        return {**base, "jwk": jwk}
    return {**base, "kid": f"{_did_jwk(jwk)}#0"}


@settings(max_examples=200, deadline=None)
@given(jwk=malformed_jwks, style=st.sampled_from(["jwk", "did:jwk"]), alg=st.sampled_from(["EdDSA", "ES256"]))
def test_a_malformed_header_key_is_an_invalid_proof(jwk: dict[str, Any], style: str, alg: str) -> None:
    token = _signed({"aud": AUDIENCE, "iat": int(NOW.timestamp()), "nonce": "n"}, _header_naming(style, jwk, alg))
    assert _refusal(token).code == "oid4vci.invalid_proof"


@settings(max_examples=100, deadline=None)
@given(tail=st.one_of(st.text(max_size=60), st.binary(max_size=40).map(lambda b: "z" + base64.b32encode(b).decode())))
def test_a_malformed_did_key_is_an_invalid_proof(tail: str) -> None:
    header = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": f"did:key:{tail}"}
    token = _signed({"aud": AUDIENCE, "iat": int(NOW.timestamp()), "nonce": "n"}, header)
    assert _refusal(token).code == "oid4vci.invalid_proof"


@pytest.mark.parametrize(
    ("iat", "header"),
    [
        (1e20, None),
        (-1e20, None),
        (1e300, None),
        (float("nan"), None),
        (None, {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": OFF_CURVE_P256}),
        (None, {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": f"{_did_jwk(FIVE_BYTE_ED25519)}#0"}),
    ],
)
def test_the_credential_endpoint_answers_hostile_proofs_with_invalid_proof(
    room: Room, iat: float | None, header: dict[str, Any] | None
) -> None:
    holder = room.holder()
    offer = holder.read_offer(room.offer(room.open(), by="value")["offer"])
    metadata = holder.issuer_metadata(offer["credential_issuer"])
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    access = holder.token(holder.token_endpoint(metadata), code, None)["access_token"]
    claims = {
        "aud": metadata["credential_issuer"],
        "iat": int(room.running.clock.now.timestamp()) if iat is None else iat,
        "nonce": holder.nonce(metadata),
    }
    response = room.http.post(
        metadata["credential_endpoint"],
        headers={"Authorization": f"Bearer {access}"},
        json={
            "credential_configuration_id": next(iter(offer["credential_configuration_ids"])),
            "proofs": {"jwt": [_signed(claims, header)]},
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_proof" and response.json()["code"] == "oid4vci.invalid_proof"
