"""The verification pipeline, as a wallet user sees it: valid, invalid (and why), or indeterminate."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.credential_factories import ISSUER, ISSUER_KEY, METHOD, LocalServer, json_reply, ob3_badge, sign_as
from wallet.credentials import dataintegrity, multikey
from wallet.credentials.fetcher import GuardedFetcher
from wallet.credentials.jwt import sign_vc_jwt
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential, set_bit
from wallet.credentials.verify import CHECK_NAMES, check_validity, did_web_url, verify_credential

VECTORS = Path(__file__).parents[1] / "vectors"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
STATUS_INDEX = 4242


def badge(*, status_url: str | None = None, **changes) -> dict:
    credential = ob3_badge(
        credential_id="urn:uuid:2b0e9a1c-5d4f-4c1e-9a7b-3f1d2c4b5a69",
        issuer_name="Riverside Community College",
        valid_from="2025-01-15T09:00:00Z",
        name="Introduction to Welding",
        achievement_id="https://riverside.example/achievements/welding-101",
        achievement_name="Welding 101",
        description="Completed 40 hours of supervised MIG welding practice.",
        narrative="Pass the practical assessment.",
        status_url=status_url,
        status_index=STATUS_INDEX,
    )
    credential.update(changes)
    return credential


def signed(document: dict, key: ed25519.Ed25519PrivateKey = ISSUER_KEY) -> dict:
    return sign_as(document, key=key, created="2025-01-15T09:00:00Z")


def status_list(*, revoked: bool) -> dict:
    bits = bytearray(MIN_BITS // 8)
    if revoked:
        set_bit(bits, STATUS_INDEX)
    return signed(
        build_status_list_credential(
            list_id="urn:example:status-list",
            issuer=ISSUER,
            purpose="revocation",
            bits=bits,
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        )
    )


@pytest.fixture
def server():
    with LocalServer() as running:
        running.routes["/status/1"] = json_reply(status_list(revoked=False))
        yield running


def fetch_json(url: str):
    return GuardedFetcher(allow_private=True, timeout=2.0).get_json(url)


def outcomes(report) -> dict[str, str]:
    return {check.name: check.outcome for check in report.checks}


def test_a_signed_open_badge_with_a_did_key_issuer_is_valid(server):
    credential = signed(badge(status_url=server.url("/status/1")))
    report = verify_credential(credential, now=NOW, fetch_json=fetch_json)
    assert report.outcome == "valid", report.to_dict()
    assert outcomes(report) == dict.fromkeys(CHECK_NAMES, "passed")
    assert json.loads(json.dumps(report.to_dict()))["outcome"] == "valid"


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("@context", "proof"):
                yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


SIGNED = signed(badge(status_url="http://127.0.0.1:9/status/1"))


@pytest.mark.parametrize("path", list(_leaves(SIGNED)), ids=lambda p: ".".join(map(str, p)))
def test_changing_any_signed_value_makes_the_credential_invalid_at_proof(path):
    tampered = copy.deepcopy(SIGNED)
    holder = tampered
    for step in path[:-1]:
        holder = holder[step]
    original = holder[path[-1]]
    holder[path[-1]] = original + "x" if isinstance(original, str) else "tampered"
    report = verify_credential(tampered, now=NOW, fetch_json=None)
    assert report.outcome == "invalid"
    assert report.check("proof").outcome == "failed"


def test_an_expired_credential_is_invalid_at_validity(server):
    credential = signed(badge(validUntil="2025-03-01T00:00:00Z"))
    report = verify_credential(credential, now=NOW, fetch_json=fetch_json)
    assert report.outcome == "invalid"
    assert outcomes(report) == {
        "proof": "passed",
        "issuer_key": "passed",
        "validity": "failed",
        "status": "skipped",
        "shape": "passed",
    }
    assert "expired" in report.check("validity").detail


def test_a_credential_not_yet_valid_is_invalid_at_validity():
    report = verify_credential(signed(badge(validFrom="2026-01-01T00:00:00Z")), now=NOW, fetch_json=None)
    assert report.check("validity").outcome == "failed"


def test_a_revoked_credential_is_invalid_at_status(server):
    server.routes["/status/1"] = json_reply(status_list(revoked=True))
    report = verify_credential(signed(badge(status_url=server.url("/status/1"))), now=NOW, fetch_json=fetch_json)
    assert report.outcome == "invalid"
    assert report.check("status").outcome == "failed"
    assert "revoked" in report.check("status").detail


def test_when_the_status_server_is_down_the_result_is_indeterminate_never_valid(server):
    credential = signed(badge(status_url=server.url("/status/1")))
    server.routes["/status/1"] = json_reply({"error": "maintenance"}, status=503)
    report = verify_credential(credential, now=NOW, fetch_json=fetch_json)
    assert report.outcome == "indeterminate"
    assert report.check("status").outcome == "indeterminate"

    with LocalServer() as stopped:
        gone = stopped.url("/status/1")
    report = verify_credential(signed(badge(status_url=gone)), now=NOW, fetch_json=fetch_json)
    assert report.outcome == "indeterminate"


def test_a_status_list_changed_after_signing_is_not_trusted(server):
    altered = status_list(revoked=False)
    altered["validFrom"] = "2025-01-02T00:00:00Z"
    server.routes["/status/1"] = json_reply(altered)
    report = verify_credential(signed(badge(status_url=server.url("/status/1"))), now=NOW, fetch_json=fetch_json)
    assert report.outcome == "indeterminate"
    assert "proof" in report.check("status").detail


def test_a_signature_by_a_key_that_is_not_the_issuers_is_invalid_at_issuer_key():
    stranger = ed25519.Ed25519PrivateKey.generate()
    report = verify_credential(signed(badge(), key=stranger), now=NOW, fetch_json=None)
    assert report.check("proof").outcome == "passed"
    assert report.check("issuer_key").outcome == "failed"
    assert report.outcome == "invalid"


def test_the_1edtech_implementation_guide_example_verifies_against_its_issuer_profile():
    credential = json.loads((VECTORS / "1edtech-ob-v3p0" / "ob30-impl-guide-ldp-signed-credential.json").read_text())
    method = credential["proof"]["verificationMethod"]
    profile = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "https://example.edu/issuers/565049",
        "type": ["Profile"],
        "name": "Example Corp",
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": "https://example.edu/issuers/565049",
                "publicKeyMultibase": method.split("#", 1)[1],
            }
        ],
    }
    requested: list[str] = []

    def fetch(url: str):
        requested.append(url)
        if url == "https://example.edu/issuers/565049":
            return profile
        raise ConnectionError(url)

    report = verify_credential(credential, now=NOW, fetch_json=fetch)
    assert report.outcome == "valid", report.to_dict()
    assert requested == ["https://example.edu/issuers/565049"]

    profile["verificationMethod"] = []
    assert verify_credential(credential, now=NOW, fetch_json=fetch).outcome == "invalid"

    offline = verify_credential(credential, now=NOW, fetch_json=None)
    assert offline.outcome == "indeterminate"
    assert offline.check("proof").outcome == "indeterminate"


def test_a_legacy_ed25519_signature_2020_credential_verifies():
    credential = json.loads((VECTORS / "w3c-vc-di-eddsa" / "Ed25519Signature2020" / "signedEdSig.json").read_text())
    method = credential["proof"]["verificationMethod"]
    profile = {"id": credential["issuer"], "assertionMethod": [method]}
    report = verify_credential(credential, now=NOW, fetch_json=lambda url: profile)
    assert outcomes(report) == {
        "proof": "passed",
        "issuer_key": "passed",
        "validity": "passed",
        "status": "skipped",
        "shape": "passed",
    }


def test_a_vc_1_1_open_badge_uses_issuance_and_expiration_dates():
    document = badge(
        issuanceDate="2025-01-15T09:00:00Z",
        expirationDate="2026-01-15T09:00:00Z",
    )
    document["@context"] = [
        "https://www.w3.org/2018/credentials/v1",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://w3id.org/security/data-integrity/v2",
    ]
    del document["validFrom"]
    report = verify_credential(signed(document), now=NOW, fetch_json=None)
    assert report.outcome == "valid", report.to_dict()
    later = verify_credential(signed(document), now=datetime(2026, 2, 1, tzinfo=UTC), fetch_json=None)
    assert later.check("validity").outcome == "failed"


def test_a_vc_jwt_open_badge_is_verified_the_same_way():
    credential = badge()
    credential["@context"] = ["https://www.w3.org/2018/credentials/v1", credential["@context"][1]]
    credential["issuanceDate"] = credential.pop("validFrom")
    token = sign_vc_jwt(credential, private_key=ISSUER_KEY, kid=METHOD)
    report = verify_credential(token, now=NOW, fetch_json=None)
    assert report.outcome == "valid", report.to_dict()
    assert report.proof_format == "vc-jwt"
    assert report.credential["issuer"]["id"] == ISSUER

    header, payload, signature = token.split(".")
    assert verify_credential(f"{header}.{payload}.{signature[:-4]}AAAA", now=NOW, fetch_json=None).outcome == "invalid"


def test_a_did_web_issuer_must_list_the_key_as_an_assertion_method():
    did = "did:web:college.example"
    vm = f"{did}#key-1"
    public = multikey.ed25519_public_key_to_multibase(ISSUER_KEY.public_key())
    document = badge()
    document["issuer"] = {"id": did, "type": ["Profile"], "name": "College"}
    credential = dataintegrity.sign(
        document, private_key=ISSUER_KEY, verification_method=vm, created="2025-01-15T09:00:00Z"
    )
    did_document = {
        "id": did,
        "verificationMethod": [{"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": public}],
        "assertionMethod": [vm],
    }
    assert (
        verify_credential(credential, now=NOW, fetch_json=None, resolve_did_web=lambda d: did_document).outcome
        == "valid"
    )

    did_document["assertionMethod"] = []
    report = verify_credential(credential, now=NOW, fetch_json=None, resolve_did_web=lambda d: did_document)
    assert report.check("issuer_key").outcome == "failed"

    def down(did: str):
        raise ConnectionError("no route")

    assert verify_credential(credential, now=NOW, fetch_json=None, resolve_did_web=down).outcome == "indeterminate"


def test_an_open_badge_missing_required_properties_is_invalid_at_shape():
    document = badge()
    del document["credentialSubject"]["achievement"]["criteria"]
    document["issuer"] = ISSUER
    report = verify_credential(signed(document), now=NOW, fetch_json=None)
    assert report.check("shape").outcome == "failed"
    assert "criteria" in report.check("shape").detail
    assert "Profile" in report.check("shape").detail


@pytest.mark.parametrize("data", ["", "{not json", "a.b.c", 42])
def test_unreadable_input_is_invalid_not_an_exception(data):
    report = verify_credential(data, now=NOW, fetch_json=None)
    assert report.outcome == "invalid"
    assert report.check("proof").outcome == "failed"


def test_validity_accepts_credentials_without_an_expiry():
    assert check_validity({"validFrom": "2020-01-01T00:00:00Z"}, now=NOW).outcome == "passed"
    assert check_validity({"validFrom": "yesterday"}, now=NOW).outcome == "failed"


def test_did_web_urls_follow_the_did_web_method():
    assert did_web_url("did:web:example.com") == "https://example.com/.well-known/did.json"
    assert did_web_url("did:web:example.com%3A8443:users:alice") == "https://example.com:8443/users/alice/did.json"
    with pytest.raises(ValueError):
        did_web_url("did:web:evil.example%2Fpath")
