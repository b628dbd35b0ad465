"""Hostile VC-JWTs, by class: every numeric date at its extremes, every key malformed — a clean verdict with
a reason at library level, and a 4xx problem or a 200 report (never a 500) at the API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.credential_factories import ob3_badge
from wallet.credentials import multikey
from wallet.credentials.jwt import did_jwk_for
from wallet.credentials.reasons import Reason
from wallet.credentials.verify import verify_credential

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
KEY = ed25519.Ed25519PrivateKey.generate()
DID = multikey.did_key_for(KEY)
KID = multikey.verification_method_id(KEY)

HOSTILE_NUMBERS: list[Any] = [1e300, -1e300, 1e20, -1e20, "soon", "1700000000", True, None, [], {}, 2**80]
NON_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity"]
DATE_CLAIMS = ("nbf", "exp")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def credential(**changes: Any) -> dict[str, Any]:
    vc = ob3_badge(
        credential_id="urn:uuid:5a0a4f6e-1f7b-4d8e-9a61-0f0b6c2d7e90",
        issuer_name="Harbour College",
        valid_from="2025-01-15T09:00:00Z",
        name="Knots",
        achievement_id="https://college.example/achievements/knots",
        achievement_name="Knots",
        description="Tied twelve knots.",
        narrative="Tie them blindfolded.",
    )
    vc["issuer"]["id"] = DID
    vc.update(changes)
    return vc


def token(claims: dict[str, Any] | str, *, header: dict[str, Any] | None = None, key: Any = KEY) -> str:
    """A genuinely signed compact JWS over ``claims`` (a dict, or raw JSON text that may not be JSON)."""
    payload = claims if isinstance(claims, str) else json.dumps(claims)
    head = header or {"alg": "EdDSA", "kid": KID, "typ": "JWT"}
    return pyjwt.PyJWS().encode(payload.encode(), key, algorithm=head["alg"], headers=head)


def base_claims() -> dict[str, Any]:
    return {"vc": credential(), "iss": DID, "jti": credential()["id"]}


def test_the_well_formed_token_these_tests_spoil_is_valid() -> None:
    assert verify_credential(token(base_claims()), now=NOW, fetch_json=None).outcome == "valid"


@pytest.mark.parametrize("claim", DATE_CLAIMS)
@pytest.mark.parametrize("value", HOSTILE_NUMBERS, ids=repr)
def test_a_date_claim_that_is_no_numeric_date_is_invalid_with_a_reason(claim: str, value: Any) -> None:
    report = verify_credential(token(base_claims() | {claim: value}), now=NOW, fetch_json=None)
    assert report.outcome == "invalid"
    assert report.check("proof").reason in {Reason.PROOF_JWT_MALFORMED, Reason.PROOF_JWT_CLAIM_MISMATCH}


@pytest.mark.parametrize("claim", (*DATE_CLAIMS, "iat"))
@pytest.mark.parametrize("literal", NON_JSON_NUMBERS)
def test_a_date_claim_that_is_not_json_makes_the_token_unreadable(claim: str, literal: str) -> None:
    text = json.dumps(base_claims())[:-1] + f', "{claim}": {literal}}}'
    report = verify_credential(token(text), now=NOW, fetch_json=None)
    assert (report.outcome, report.check("proof").reason) == ("invalid", Reason.CREDENTIAL_UNREADABLE)


@pytest.mark.parametrize("value", HOSTILE_NUMBERS, ids=repr)
def test_an_iat_we_do_not_use_never_breaks_verification(value: Any) -> None:
    report = verify_credential(token(base_claims() | {"iat": value}), now=NOW, fetch_json=None)
    assert report.outcome == "valid"


def test_nbf_contradicting_valid_from_is_a_claim_mismatch() -> None:
    claims = base_claims() | {"nbf": int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())}
    report = verify_credential(token(claims), now=NOW, fetch_json=None)
    assert (report.outcome, report.check("proof").reason) == ("invalid", Reason.PROOF_JWT_CLAIM_MISMATCH)


@pytest.mark.parametrize("name", ["validFrom", "validUntil"])
@pytest.mark.parametrize("value", [1e300, "9999-99-99", "+275760-09-13T00:00:00Z", "soon"])
def test_a_credential_date_that_is_no_date_is_invalid_at_validity(name: str, value: Any) -> None:
    claims = {"vc": credential(**{name: value}), "iss": DID}
    report = verify_credential(token(claims), now=NOW, fetch_json=None)
    assert report.outcome == "invalid"
    assert Reason.VALIDITY_MALFORMED_DATE.value in report.reasons or report.check("proof").outcome == "failed"


def _b64_int(size: int) -> str:
    return b64(b"\x07" * size)


OFF_CURVE_P256 = {"kty": "EC", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)}
MALFORMED_KEYS: list[Any] = [
    OFF_CURVE_P256,
    {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x01" * 5)},
    {"kty": "OKP", "crv": "Ed25519", "x": "not base64 !!"},
    {"kty": "OKP", "crv": "Ed25519", "x": 12345},
    {"kty": "OKP", "crv": "Ed25519"},
    {"kty": "EC", "crv": "P-256", "x": b64(b"\x01" * 5), "y": b64(b"\x01" * 5)},
    {"kty": "EC", "crv": "P-256", "x": _b64_int(32)},
    {"kty": "RSA", "n": b64(b"\x01" * 5), "e": "AQAB"},
    {"kty": "RSA", "n": "", "e": ""},
    {"kty": "oct", "k": b64(b"secret")},
    {"kty": "OKP", "crv": "Ed25519", "x": b64(b"\x01" * 32), "d": b64(b"\x01" * 32)},
    "a string",
    [],
]


def _did_jwk(jwk: Any) -> str:
    return "did:jwk:" + b64(json.dumps(jwk).encode())


@pytest.mark.parametrize("jwk", MALFORMED_KEYS, ids=lambda key: str(key)[:40])
@pytest.mark.parametrize("where", ["jwk-header", "did-jwk-kid"])
def test_a_malformed_key_is_invalid_with_key_invalid(jwk: Any, where: str) -> None:
    header = {"alg": "EdDSA", "typ": "JWT"} | ({"jwk": jwk} if where == "jwk-header" else {"kid": _did_jwk(jwk) + "#0"})
    report = verify_credential(token(base_claims(), header=header), now=NOW, fetch_json=None)
    assert (report.outcome, report.check("proof").reason) == ("invalid", Reason.PROOF_KEY_INVALID), report.to_dict()


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "secp256k1", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)},
        {"kty": "OKP", "crv": "X25519", "x": b64(b"\x01" * 32)},
        {"kty": "PQC", "alg": "ML-DSA-44"},
    ],
)
def test_a_key_type_we_do_not_implement_is_could_not_check(jwk: dict) -> None:
    header = {"alg": "EdDSA", "typ": "JWT", "jwk": jwk}
    report = verify_credential(token(base_claims(), header=header), now=NOW, fetch_json=None)
    assert report.outcome == "indeterminate"
    assert report.check("proof").outcome == "indeterminate"


def test_a_did_jwk_issuer_whose_did_is_malformed_is_invalid() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = did_jwk_for(key.public_key())
    claims = {"vc": credential() | {"issuer": {"id": issuer, "type": ["Profile"], "name": "X"}}, "iss": issuer}
    header = {"alg": "ES256", "typ": "JWT", "kid": _did_jwk(OFF_CURVE_P256) + "#0"}
    report = verify_credential(token(claims, header=header, key=key), now=NOW, fetch_json=None)
    assert (report.outcome, report.check("proof").reason) == ("invalid", Reason.PROOF_KEY_INVALID)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.binary(max_size=80).map(b64),
)
jwks = st.dictionaries(
    st.sampled_from(["kty", "crv", "x", "y", "n", "e", "d", "k", "alg"]),
    json_scalars | st.sampled_from(["OKP", "EC", "RSA", "Ed25519", "P-256", "P-384", "P-521"]),
    max_size=6,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(jwk=jwks, where=st.sampled_from(["jwk-header", "did-jwk-kid"]), alg=st.sampled_from(["EdDSA", "ES256"]))
def test_any_key_in_the_header_gives_a_verdict_never_an_exception_and_never_valid(jwk, where, alg) -> None:
    header = {"alg": alg, "typ": "JWT"} | ({"jwk": jwk} if where == "jwk-header" else {"kid": _did_jwk(jwk)})
    signer = KEY if alg == "EdDSA" else ec.generate_private_key(ec.SECP256R1())
    report = verify_credential(token(base_claims(), header=header, key=signer), now=NOW, fetch_json=None)
    assert report.outcome in ("invalid", "indeterminate")
    assert report.check("proof").outcome in ("failed", "indeterminate")


@settings(max_examples=150)
@given(claim=st.sampled_from([*DATE_CLAIMS, "iat"]), value=json_scalars | st.floats() | st.lists(json_scalars))
def test_any_value_in_any_date_claim_gives_a_verdict_never_an_exception(claim, value) -> None:
    text = json.dumps(base_claims() | {claim: value})
    report = verify_credential(token(text), now=NOW, fetch_json=None)
    assert report.outcome in ("valid", "invalid", "indeterminate")
    for check in report.checks:
        assert check.reason.value.startswith((check.name, "credential."))


# --- at the HTTP edge ---------------------------------------------------------------------------------------


HOSTILE_TOKENS = {
    **{
        f"{claim}={value!r}": token(base_claims() | {claim: value})
        for claim in DATE_CLAIMS
        for value in HOSTILE_NUMBERS
    },
    **{
        f"{claim}={literal}": token(json.dumps(base_claims())[:-1] + f', "{claim}": {literal}}}')
        for claim in (*DATE_CLAIMS, "iat")
        for literal in NON_JSON_NUMBERS
    },
    "nbf-contradicts-validFrom": token(base_claims() | {"nbf": 1}),
    **{
        f"jwk={str(jwk)[:30]}": token(base_claims(), header={"alg": "EdDSA", "typ": "JWT", "jwk": jwk})
        for jwk in MALFORMED_KEYS
    },
    **{
        f"did:jwk={str(jwk)[:30]}": token(base_claims(), header={"alg": "EdDSA", "typ": "JWT", "kid": _did_jwk(jwk)})
        for jwk in MALFORMED_KEYS
    },
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TOKENS))
def test_hostile_tokens_get_a_report_or_a_problem_never_a_500(client, sign_up, name: str) -> None:
    who = sign_up()
    body = HOSTILE_TOKENS[name].encode()
    headers = {**who.headers, "Content-Type": "application/jwt"}
    verified = client.post("/api/v1/verify", data=body, headers=headers)
    assert verified.status_code < 500, verified.data
    if verified.status_code == 200:
        assert verified.json["outcome"] in ("invalid", "indeterminate")
        assert verified.json["reasons"]
    else:
        assert verified.content_type == "application/problem+json"
    imported = client.post("/api/v1/credentials/import", data=body, headers=headers)
    assert 400 <= imported.status_code < 500, imported.data
    assert imported.content_type == "application/problem+json"
