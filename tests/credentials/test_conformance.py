"""Conformance: the W3C and 1EdTech vectors, and one credential per verdict rule — verdict AND reason code.

The rules (docs/credentials.md, "Verdicts"): invalid only with evidence against the credential; could
not check whenever we cannot decide; warnings for what 1EdTech's schema does not require.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import base58
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.credential_factories import ISSUER_KEY, ob3_badge, sign_as
from wallet.credentials import dataintegrity, ecdsa, multikey
from wallet.credentials.jwt import did_jwk_for, sign_vc_jwt
from wallet.credentials.reasons import OUTCOME_OF, Reason
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential, set_bit
from wallet.credentials.verify import verify_credential

VECTORS = Path(__file__).parents[1] / "vectors"
ECDSA = VECTORS / "w3c-vc-di-ecdsa"
OB3 = VECTORS / "1edtech-ob-v3p0"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PROFILE_URL = "https://college.example/issuers/1"


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def verdict(report) -> tuple[str, dict[str, str]]:
    return report.outcome, {check.name: check.reason.value for check in report.checks}


def offline(url: str) -> Any:
    raise LookupError(f"{url}: offline")


def served(documents: dict[str, Any]):
    def fetch_json(url: str) -> Any:
        if url not in documents:
            raise LookupError(f"{url}: 404")
        return copy.deepcopy(documents[url])

    return fetch_json


def badge(issuer_id: str, **changes) -> dict:
    credential = ob3_badge(
        credential_id="urn:uuid:0c7f3a57-3d43-4b61-9d5e-3f4c3b0e8a21",
        issuer_name="Harbour College",
        valid_from="2025-01-15T09:00:00Z",
        name="Boat building",
        achievement_id="https://college.example/achievements/boats",
        achievement_name="Boat building",
        description="Built a clinker dinghy.",
        narrative="Launch it.",
    )
    credential["issuer"]["id"] = issuer_id
    credential.update(changes)
    return credential


def did_key_badge(key=ISSUER_KEY, **changes) -> dict:
    return badge(multikey.did_key_for_public_key(key.public_key()), **changes)


def sign(document: dict, key=ISSUER_KEY) -> dict:
    return sign_as(document, key=key, created="2025-01-15T09:00:00Z")


def test_report_codes_always_match_their_outcomes() -> None:
    report = verify_credential(sign(did_key_badge(), key=ISSUER_KEY), now=NOW, fetch_json=None)
    for check in report.checks:
        assert OUTCOME_OF[check.reason] == check.outcome
    wire = report.to_dict()
    assert wire["outcome"] == "valid" and wire["reasons"] == [] and wire["warnings"] == []
    assert [check["reason"] for check in wire["checks"]] == [
        "proof.verified",
        "issuer_key.is_issuer_did",
        "validity.current",
        "status.none",
        "shape.conforms",
    ]


# --- W3C vc-di-ecdsa -----------------------------------------------------------------------------


ECDSA_VECTORS = [
    "ecdsa-rdfc-2019-p256/signedECDSAP256.json",
    "ecdsa-rdfc-2019-p384/signedECDSAP384.json",
    "ecdsa-jcs-2019-p256/signedJCSECDSAP256.json",
    "ecdsa-jcs-2019-p384/signedJCSECDSAP384.json",
]


@pytest.mark.parametrize("vector", ECDSA_VECTORS)
def test_w3c_ecdsa_vectors_verify(vector: str) -> None:
    check = dataintegrity.verify(load(ECDSA / vector), resolve_key=multikey.public_key_from_did_key)
    assert (check.ok, check.code) == (True, Reason.PROOF_VERIFIED)


@pytest.mark.parametrize("vector", ECDSA_VECTORS)
def test_w3c_ecdsa_vectors_tampered_are_signature_mismatch(vector: str) -> None:
    document = load(ECDSA / vector)
    document["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    check = dataintegrity.verify(document, resolve_key=multikey.public_key_from_did_key)
    assert (check.ok, check.indeterminate, check.code) == (False, False, Reason.PROOF_SIGNATURE_MISMATCH)


@pytest.mark.parametrize("vector", ECDSA_VECTORS)
def test_w3c_ecdsa_vector_hashes_are_the_ones_we_compute(vector: str) -> None:
    document = load(ECDSA / vector)
    folder = (ECDSA / vector).parent
    suite = document["proof"]["cryptosuite"]
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in document["proof"].items() if key != "proofValue"}
    canon_doc = next(folder.glob("canonDoc*.txt")).read_text()
    assert dataintegrity.transform(unsecured, cryptosuite=suite) == canon_doc
    key = multikey.public_key_from_did_key(options["verificationMethod"])
    config = dataintegrity.canonical_proof_config(options, document_context=unsecured["@context"], cryptosuite=suite)
    combined = next(folder.glob("combinedHash*.txt")).read_text().strip()
    assert ecdsa.hash_data(key, config, canon_doc).hex() == combined


@pytest.mark.parametrize(
    ("pair", "suite"), [(p, s) for p in ("p256", "p384") for s in dataintegrity.ECDSA_CRYPTOSUITES]
)
def test_we_sign_with_the_ecdsa_suites_and_verify_what_we_sign(pair: str, suite: str) -> None:
    private = multikey.ec_private_key_from_multibase(load(ECDSA / f"{pair}KeyPair.json")["secretKeyMultibase"])
    did = multikey.did_key_for_public_key(private.public_key())
    method = f"{did}#{did.removeprefix('did:key:')}"
    credential = badge(did)
    signed = dataintegrity.sign(
        credential, private_key=private, verification_method=method, created="2025-01-01T00:00:00Z", cryptosuite=suite
    )
    assert verdict(verify_credential(signed, now=NOW, fetch_json=None))[0] == "valid"


def test_an_ecdsa_sd_2023_derived_proof_is_could_not_check_not_invalid() -> None:
    document = load(ECDSA / "ecdsa-sd-2023" / "derivedRevealDocument.json")
    report = verify_credential(document, now=NOW, fetch_json=None)
    assert report.check("proof").outcome == "indeterminate"
    assert report.check("proof").reason == Reason.PROOF_CRYPTOSUITE_UNSUPPORTED
    # The W3C vector's issuer is another did:key than the proof's base key: provably not the issuer's.
    assert (report.outcome, report.check("issuer_key").reason) == ("invalid", Reason.ISSUER_KEY_OTHER_DID)

    document["issuer"]["id"] = document["proof"]["verificationMethod"].split("#")[0]
    report = verify_credential(document, now=NOW, fetch_json=None)
    assert (report.outcome, report.reasons) == ("indeterminate", ["proof.cryptosuite_unsupported"])


# --- W3C vc-di-eddsa under its draft name ------------------------------------------------------------


def test_eddsa_2022_is_verified_as_eddsa_rdfc_2022_with_a_warning() -> None:
    unsigned = did_key_badge()
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-2022",
        "created": "2025-01-01T00:00:00Z",
        "verificationMethod": f"{unsigned['issuer']['id']}#{unsigned['issuer']['id'].removeprefix('did:key:')}",
        "proofPurpose": "assertionMethod",
    }
    data = dataintegrity.hash_data(
        dataintegrity.canonical_proof_config(
            options, document_context=unsigned["@context"], cryptosuite="eddsa-rdfc-2022"
        ),
        dataintegrity.transform(unsigned, cryptosuite="eddsa-rdfc-2022"),
    )
    proof = options | {"proofValue": "z" + base58.b58encode(ISSUER_KEY.sign(data)).decode()}
    report = verify_credential(unsigned | {"proof": proof}, now=NOW, fetch_json=None)
    assert verdict(report)[0] == "valid"
    assert report.to_dict()["warnings"] == [
        {
            "check": "proof",
            "reason": "proof.cryptosuite_alias",
            "detail": "eddsa-2022 is the draft name of eddsa-rdfc-2022; verified as that suite",
        }
    ]


# --- OB 3.0 spec examples ------------------------------------------------------------------------------


SPEC_EXAMPLES = sorted((OB3 / "spec-examples-unsigned").glob("*.json"))


@pytest.mark.parametrize("example", SPEC_EXAMPLES, ids=lambda path: path.stem)
def test_ob3_spec_examples_signed_by_a_key_of_their_https_issuer_verify(example: Path) -> None:
    credential = load(example)
    credential.pop("credentialStatus", None)
    issuer_id = credential["issuer"]["id"]
    signed = sign(credential, key=ISSUER_KEY)
    method = signed["proof"]["verificationMethod"]
    profile = {"id": issuer_id, "type": "Profile", "assertionMethod": [method]}

    report = verify_credential(signed, now=NOW, fetch_json=served({issuer_id: profile}))
    assert verdict(report)[0] == "valid", report.to_dict()
    assert report.check("issuer_key").reason == Reason.ISSUER_KEY_LISTED

    unreachable = verify_credential(signed, now=NOW, fetch_json=offline)
    assert verdict(unreachable)[0] == "indeterminate"
    assert unreachable.check("issuer_key").reason == Reason.ISSUER_KEY_ISSUER_UNRESOLVABLE

    elsewhere = verify_credential(signed, now=NOW, fetch_json=served({issuer_id: {"id": issuer_id}}))
    assert verdict(elsewhere)[0] == "invalid"
    assert elsewhere.check("issuer_key").reason == Reason.ISSUER_KEY_NOT_LISTED


def _schema() -> dict:
    return load(OB3 / "json-schemas" / "ob_v3p0_achievementcredential_schema_draft4.json")


def test_what_1edtechs_schema_requires_of_a_subject_is_what_we_require() -> None:
    required = set(_schema()["$defs"]["AchievementSubject"]["required"])
    assert required == {"type", "achievement"}
    full = load(OB3 / "spec-examples-unsigned" / "fullOpenBadge.json")
    for optional in set(full["credentialSubject"]) - required:
        credential = copy.deepcopy(full)
        del credential["credentialSubject"][optional]
        credential = sign(credential | {"issuer": did_key_badge()["issuer"], "credentialStatus": []}, key=ISSUER_KEY)
        assert verify_credential(credential, now=NOW, fetch_json=None).check("shape").outcome == "passed", optional


def test_what_1edtechs_schema_requires_of_an_achievement_is_still_required() -> None:
    required = set(_schema()["$defs"]["Achievement"]["required"]) - {"type"}
    for missing in sorted(required):
        credential = did_key_badge()
        del credential["credentialSubject"]["achievement"][missing]
        report = verify_credential(sign(credential, key=ISSUER_KEY), now=NOW, fetch_json=None)
        assert verdict(report)[0] == "invalid"
        assert report.check("shape").reason == Reason.SHAPE_NOT_AN_OPEN_BADGE


# --- No genuine credential called invalid ---------------------------------------------------------------


def test_a_subject_with_neither_id_nor_identifier_is_valid_with_a_warning() -> None:
    credential = did_key_badge()
    del credential["credentialSubject"]["id"]
    report = verify_credential(sign(credential, key=ISSUER_KEY), now=NOW, fetch_json=None)
    assert verdict(report)[0] == "valid"
    assert [warning["reason"] for warning in report.to_dict()["warnings"]] == ["shape.subject_unidentified"]


def test_a_urn_uuid_issuer_with_a_did_key_proof_is_could_not_check_the_issuer_link() -> None:
    credential = did_key_badge()
    credential["issuer"]["id"] = "urn:uuid:6d2b3b1e-0d4a-4f0e-8a55-2f6f0c1d9e11"
    report = verify_credential(sign(credential, key=ISSUER_KEY), now=NOW, fetch_json=offline)
    assert verdict(report) == (
        "indeterminate",
        {
            "proof": "proof.verified",
            "issuer_key": "issuer_key.issuer_not_dereferenceable",
            "validity": "validity.current",
            "status": "status.none",
            "shape": "shape.conforms",
        },
    )
    assert report.to_dict()["reasons"] == ["issuer_key.issuer_not_dereferenceable"]


def test_a_did_key_issuer_signed_by_another_did_key_is_invalid() -> None:
    credential = did_key_badge()
    other = ed25519.Ed25519PrivateKey.generate()
    report = verify_credential(sign(credential, key=other), now=NOW, fetch_json=None)
    assert verdict(report)[0] == "invalid"
    assert report.check("issuer_key").reason == Reason.ISSUER_KEY_OTHER_DID


def test_an_issuer_did_method_we_do_not_implement_is_could_not_check() -> None:
    credential = did_key_badge()
    credential["issuer"]["id"] = "did:ion:EiClkZMDxPKqC9c-umQfTkR8vvZ9JPhl_xLDI9Nfk38w5w"
    report = verify_credential(sign(credential, key=ISSUER_KEY), now=NOW, fetch_json=None)
    assert verdict(report)[0] == "indeterminate"
    assert report.check("issuer_key").reason == Reason.ISSUER_KEY_DID_METHOD_UNSUPPORTED


def test_a_verification_method_of_a_did_method_we_do_not_implement_is_could_not_check() -> None:
    credential = sign(did_key_badge(), key=ISSUER_KEY)
    credential["proof"]["verificationMethod"] = "did:ion:abc#key-1"
    report = verify_credential(credential, now=NOW, fetch_json=None)
    assert report.check("proof").reason == Reason.PROOF_DID_METHOD_UNSUPPORTED
    assert report.check("proof").outcome == "indeterminate"


@pytest.mark.parametrize(
    ("proof_type", "suite", "code"),
    [
        ("DataIntegrityProof", "bbs-2023", Reason.PROOF_CRYPTOSUITE_UNSUPPORTED),
        ("DataIntegrityProof", "ecdsa-sd-2023", Reason.PROOF_CRYPTOSUITE_UNSUPPORTED),
        ("JsonWebSignature2020", None, Reason.PROOF_TYPE_UNSUPPORTED),
    ],
)
def test_a_suite_we_do_not_implement_is_could_not_check(proof_type: str, suite: str | None, code: Reason) -> None:
    credential = sign(did_key_badge(), key=ISSUER_KEY)
    credential["proof"]["type"] = proof_type
    if suite:
        credential["proof"]["cryptosuite"] = suite
    else:
        del credential["proof"]["cryptosuite"]
    report = verify_credential(credential, now=NOW, fetch_json=None)
    assert (report.outcome, report.check("proof").reason) == ("indeterminate", code)


@pytest.mark.parametrize(
    ("change", "check", "code"),
    [
        ({"validUntil": "2025-02-01T00:00:00Z"}, "validity", Reason.VALIDITY_EXPIRED),
        ({"validFrom": "2026-01-01T00:00:00Z"}, "validity", Reason.VALIDITY_NOT_YET_VALID),
        ({"validFrom": "last tuesday"}, "validity", Reason.VALIDITY_MALFORMED_DATE),
    ],
)
def test_evidence_against_the_credential_is_invalid_with_its_code(change: dict, check: str, code: Reason) -> None:
    credential = sign(did_key_badge(**change), key=ISSUER_KEY)
    report = verify_credential(credential, now=NOW, fetch_json=None)
    assert (report.outcome, report.check(check).reason) == ("invalid", code)
    assert code.value in report.to_dict()["reasons"]


def test_something_that_is_not_a_verifiable_credential_is_invalid_at_shape() -> None:
    credential = sign(did_key_badge(), key=ISSUER_KEY) | {"type": ["OpenBadgeCredential"]}
    report = verify_credential(credential, now=NOW, fetch_json=None)
    assert (report.outcome, report.check("shape").reason) == ("invalid", Reason.SHAPE_NOT_A_CREDENTIAL)


def test_a_tampered_credential_is_signature_mismatch() -> None:
    credential = sign(did_key_badge(), key=ISSUER_KEY)
    credential["name"] = "Master Welder"
    report = verify_credential(credential, now=NOW, fetch_json=None)
    assert (report.outcome, report.check("proof").reason) == ("invalid", Reason.PROOF_SIGNATURE_MISMATCH)


def test_json_that_is_not_a_credential_is_unreadable() -> None:
    report = verify_credential("{not json", now=NOW, fetch_json=None)
    assert verdict(report) == (
        "invalid",
        {
            "proof": "credential.unreadable",
            "issuer_key": "issuer_key.not_checked",
            "validity": "validity.not_checked",
            "status": "status.not_checked",
            "shape": "shape.not_checked",
        },
    )


# --- VC-JWT per OB 3.0 §8.2 -------------------------------------------------------------------------------


def jwt_badge(issuer_id: str) -> dict:
    credential = badge(issuer_id)
    credential["@context"] = ["https://www.w3.org/2018/credentials/v1", *credential["@context"][1:]]
    credential["issuanceDate"] = credential.pop("validFrom")
    return credential


@pytest.mark.parametrize("key", [ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())])
def test_a_vc_jwt_with_the_issuers_key_in_a_jwk_header_verifies_against_the_profile(key) -> None:
    public_jwk = json.loads(json.dumps(_jwk(key)))
    profile = {
        "id": PROFILE_URL,
        "type": "Profile",
        "verificationMethod": [{"id": f"{PROFILE_URL}#k", "publicKeyJwk": public_jwk}],
    }
    token = sign_vc_jwt(jwt_badge(PROFILE_URL), private_key=key, kid=None)
    report = verify_credential(token, now=NOW, fetch_json=served({PROFILE_URL: profile}))
    assert verdict(report)[0] == "valid", report.to_dict()
    assert report.check("issuer_key").reason == Reason.ISSUER_KEY_LISTED

    stranger = verify_credential(token, now=NOW, fetch_json=served({PROFILE_URL: {"id": PROFILE_URL}}))
    assert (stranger.outcome, stranger.check("issuer_key").reason) == ("invalid", Reason.ISSUER_KEY_NOT_LISTED)


def test_a_vc_jwt_with_a_did_jwk_issuer_and_its_key_in_the_header_is_valid() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    token = sign_vc_jwt(jwt_badge(did_jwk_for(key.public_key())), private_key=key, kid=None)
    report = verify_credential(token, now=NOW, fetch_json=None)
    assert verdict(report)[0] == "valid"
    assert report.check("issuer_key").reason == Reason.ISSUER_KEY_IS_ISSUER_DID


def test_a_vc_jwt_with_neither_kid_nor_jwk_uses_the_issuer_profiles_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    other = ed25519.Ed25519PrivateKey.generate()
    methods = [
        {
            "id": f"{PROFILE_URL}#old",
            "publicKeyMultibase": multikey.ed25519_public_key_to_multibase(other.public_key()),
        },
        {"id": f"{PROFILE_URL}#new", "publicKeyMultibase": multikey.ed25519_public_key_to_multibase(key.public_key())},
    ]
    profile = {"id": PROFILE_URL, "type": "Profile", "verificationMethod": methods}
    token = sign_vc_jwt(jwt_badge(PROFILE_URL), private_key=key, kid=None, embed_jwk=False)

    report = verify_credential(token, now=NOW, fetch_json=served({PROFILE_URL: profile}))
    assert verdict(report)[0] == "valid", report.to_dict()
    assert report.verification_method == f"{PROFILE_URL}#new"

    unreachable = verify_credential(token, now=NOW, fetch_json=offline)
    assert (unreachable.outcome, unreachable.check("proof").reason) == ("indeterminate", Reason.PROOF_KEY_UNRESOLVABLE)

    forged = sign_vc_jwt(
        jwt_badge(PROFILE_URL), private_key=ed25519.Ed25519PrivateKey.generate(), kid=None, embed_jwk=False
    )
    refused = verify_credential(forged, now=NOW, fetch_json=served({PROFILE_URL: profile}))
    assert (refused.outcome, refused.check("proof").reason) == ("invalid", Reason.PROOF_SIGNATURE_MISMATCH)


def _jwk(key) -> dict:
    alg = "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256"
    return pyjwt.get_algorithm_by_name(alg).to_jwk(key.public_key(), as_dict=True)


# --- Status lists with wide entries --------------------------------------------------------------------


LIST_URL = "https://college.example/status/messages"


def _message_list(values: dict[int, int], *, size: int, purpose: str) -> dict:
    bits = bytearray(MIN_BITS * size // 8)
    for index, value in values.items():
        for offset in range(size):
            if value >> (size - 1 - offset) & 1:
                set_bit(bits, index * size + offset)
    return sign(
        build_status_list_credential(
            list_id=LIST_URL,
            issuer=did_key_badge()["issuer"]["id"],
            purpose=purpose,
            bits=bits,
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
        ),
        key=ISSUER_KEY,
    )


def _with_status(index: int, *, size: int, purpose: str) -> dict:
    entry = {
        "id": f"{LIST_URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": LIST_URL,
        "statusSize": size,
        "statusMessage": [{"status": f"0x{value:x}", "message": f"step {value}"} for value in range(2**size)],
    }
    return sign(did_key_badge(credentialStatus=entry), key=ISSUER_KEY)


@pytest.mark.parametrize(("index", "value"), [(7, 0), (8, 1), (9, 2), (10, 3)])
def test_a_two_bit_message_entry_reports_its_message(index: int, value: int) -> None:
    status_list = _message_list({8: 1, 9: 2, 10: 3}, size=2, purpose="message")
    report = verify_credential(
        _with_status(index, size=2, purpose="message"), now=NOW, fetch_json=served({LIST_URL: status_list})
    )
    status = report.check("status")
    assert report.outcome == "valid"
    if value:
        assert status.reason == Reason.STATUS_MESSAGE and f"step {value}" in status.detail
    else:
        assert status.reason == Reason.STATUS_ACTIVE


def test_a_two_bit_revocation_entry_with_a_non_zero_value_is_revoked() -> None:
    status_list = _message_list({5: 2}, size=2, purpose="revocation")
    report = verify_credential(
        _with_status(5, size=2, purpose="revocation"), now=NOW, fetch_json=served({LIST_URL: status_list})
    )
    assert (report.outcome, report.check("status").reason) == ("invalid", Reason.STATUS_REVOKED)


def test_a_suspended_credential_says_suspended_in_its_code() -> None:
    status_list = _message_list({5: 1}, size=1, purpose="suspension")
    entry = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "5",
        "statusListCredential": LIST_URL,
    }
    report = verify_credential(
        sign(did_key_badge(credentialStatus=entry), key=ISSUER_KEY),
        now=NOW,
        fetch_json=served({LIST_URL: status_list}),
    )
    assert (report.outcome, report.check("status").reason) == ("invalid", Reason.STATUS_SUSPENDED)
    assert report.to_dict()["reasons"] == ["status.suspended"]


def test_a_status_list_we_cannot_fetch_is_could_not_check() -> None:
    report = verify_credential(_with_status(5, size=2, purpose="message"), now=NOW, fetch_json=offline)
    assert (report.outcome, report.check("status").reason) == ("indeterminate", Reason.STATUS_UNREACHABLE)
