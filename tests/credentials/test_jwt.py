"""VC-JWT: a signed token verifies and decodes to its credential; any change or wrong key fails."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from wallet.credentials import multikey
from wallet.credentials.jwt import (
    did_jwk_for,
    merge_vc_claims,
    sign_vc_jwt,
    verify_vc_jwt,
)
from wallet.credentials.reasons import Reason

ED_KEY = ed25519.Ed25519PrivateKey.generate()
ISSUER = multikey.did_key_for(ED_KEY.public_key())


def credential_v1(**changes) -> dict:
    document = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:3c3e6d2a-2f6b-4d0e-9f0a-1b2c3d4e5f60",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": ISSUER, "type": ["Profile"], "name": "Example College"},
        "issuanceDate": "2024-01-01T00:00:00Z",
        "name": "Teamwork",
        "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"]},
    }
    document.update(changes)
    return document


def b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_an_eddsa_token_with_a_did_key_kid_verifies_and_decodes():
    token = sign_vc_jwt(credential_v1(), private_key=ED_KEY, kid=multikey.verification_method_id(ED_KEY.public_key()))
    result = verify_vc_jwt(token)
    assert result.check.ok, result.check.reason
    assert result.check.verification_method == multikey.verification_method_id(ED_KEY.public_key())
    assert result.credential == credential_v1()
    assert result.claims["iss"] == ISSUER
    assert result.claims["nbf"] == 1704067200


def test_an_es256_token_with_a_did_jwk_kid_verifies():
    key = ec.generate_private_key(ec.SECP256R1())
    did = did_jwk_for(key.public_key())
    token = sign_vc_jwt(credential_v1(issuer=did), private_key=key, kid=f"{did}#0")
    result = verify_vc_jwt(token)
    assert result.check.ok, result.check.reason
    assert result.check.cryptosuite == "jwt:ES256"


def test_an_rs256_token_with_an_embedded_jwk_verifies():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign_vc_jwt(credential_v1(), private_key=key, kid=None)
    result = verify_vc_jwt(token)
    assert result.check.ok, result.check.reason
    assert "d" not in result.header["jwk"]


def test_an_https_kid_is_resolved_by_the_caller():
    key = ec.generate_private_key(ec.SECP256R1())
    token = sign_vc_jwt(credential_v1(), private_key=key, kid="https://issuer.example/keys/1")
    assert verify_vc_jwt(token, resolve_key=lambda kid: key.public_key()).check.ok

    def unreachable(kid: str):
        raise ConnectionError("down")

    down = verify_vc_jwt(token, resolve_key=unreachable).check
    assert (down.ok, down.indeterminate) == (False, True)
    assert verify_vc_jwt(token).check.indeterminate


def test_a_changed_payload_does_not_verify():
    token = sign_vc_jwt(credential_v1(), private_key=ED_KEY, kid=multikey.verification_method_id(ED_KEY.public_key()))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["vc"]["name"] = "Leadership"
    forged = f"{header}.{b64(claims)}.{signature}"
    check = verify_vc_jwt(forged).check
    assert not check.ok and not check.indeterminate
    assert "signature" in check.reason


def test_a_token_signed_by_another_key_does_not_verify():
    other = ed25519.Ed25519PrivateKey.generate()
    token = sign_vc_jwt(credential_v1(), private_key=other, kid=multikey.verification_method_id(ED_KEY.public_key()))
    assert not verify_vc_jwt(token).check.ok


@pytest.mark.parametrize(
    ("alg", "code", "indeterminate"),
    [
        ("none", Reason.PROOF_ALGORITHM_FORBIDDEN, False),
        ("HS256", Reason.PROOF_ALGORITHM_FORBIDDEN, False),
        ("ES512", Reason.PROOF_ALGORITHM_UNSUPPORTED, True),
    ],
)
def test_unaccepted_algorithms_are_refused(alg, code, indeterminate):
    header = {"alg": alg, "kid": multikey.verification_method_id(ED_KEY.public_key())}
    token = f"{b64(header)}.{b64({'vc': credential_v1()})}.c2ln"
    check = verify_vc_jwt(token).check
    assert not check.ok
    assert (check.code, check.indeterminate) == (code, indeterminate)


def test_an_algorithm_that_does_not_suit_the_key_is_refused():
    token = sign_vc_jwt(credential_v1(), private_key=ED_KEY, kid=multikey.verification_method_id(ED_KEY.public_key()))
    _, payload, signature = token.split(".")
    header = {"alg": "ES256", "kid": multikey.verification_method_id(ED_KEY.public_key())}
    assert not verify_vc_jwt(f"{b64(header)}.{payload}.{signature}").check.ok


def test_an_embedded_private_jwk_is_refused():
    header = {"alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "d": "BBBB"}}
    check = verify_vc_jwt(f"{b64(header)}.{b64({'vc': credential_v1()})}.c2ln").check
    assert not check.ok
    assert "private" in check.reason


def test_an_iss_claim_contradicting_the_issuer_fails_even_with_a_good_signature():
    token = sign_vc_jwt(credential_v1(), private_key=ED_KEY, kid=multikey.verification_method_id(ED_KEY.public_key()))
    header, payload, _ = token.split(".")
    import jwt as pyjwt

    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = "did:example:impostor"
    resigned = pyjwt.encode(
        claims, ED_KEY, algorithm="EdDSA", headers=json.loads(base64.urlsafe_b64decode(header + "=="))
    )
    check = verify_vc_jwt(resigned).check
    assert not check.ok
    assert "iss" in check.reason


def test_registered_claims_fill_in_missing_properties():
    claims = {
        "iss": ISSUER,
        "jti": "urn:uuid:1",
        "sub": "did:example:learner",
        "nbf": 1704067200,
        "exp": 1735689600,
        "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {},
        },
    }
    merged = merge_vc_claims(claims)
    assert merged["issuer"] == ISSUER
    assert merged["id"] == "urn:uuid:1"
    assert merged["credentialSubject"]["id"] == "did:example:learner"
    assert merged["issuanceDate"] == "2024-01-01T00:00:00Z"
    assert merged["expirationDate"] == "2025-01-01T00:00:00Z"

    claims["vc"]["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    merged = merge_vc_claims(claims)
    assert (merged["validFrom"], merged["validUntil"]) == ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")


def test_an_expired_token_still_has_a_valid_signature():
    token = sign_vc_jwt(
        credential_v1(expirationDate="2020-01-01T00:00:00Z"),
        private_key=ED_KEY,
        kid=multikey.verification_method_id(ED_KEY.public_key()),
    )
    result = verify_vc_jwt(token)
    assert result.check.ok
    assert result.claims["exp"] == 1577836800


@pytest.mark.parametrize("token", ["", "a.b", "not.a.jwt", "!!.??.**"])
def test_garbage_is_reported_not_raised(token):
    result = verify_vc_jwt(token)
    assert not result.check.ok
    assert result.credential is None
