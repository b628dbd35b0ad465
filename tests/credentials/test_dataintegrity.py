"""Data Integrity EdDSA proofs: the W3C and 1EdTech vectors, round trips, tampering, hostile input."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallet.credentials.dataintegrity import (
    CRYPTOSUITES,
    ProofCheck,
    _ProofConfigTemplates,
    canonical_proof_config,
    hash_data,
    sign,
    transform,
    verify,
)
from wallet.credentials.jsonld import DataLossError, NonPortableTermError
from wallet.credentials.multikey import (
    ed25519_private_key_from_multibase,
    ed25519_public_key_from_multibase,
    resolve_did_key,
    verification_method_id,
)
from wallet.credentials.reasons import Reason

VECTORS = Path(__file__).parents[1] / "vectors"
EDDSA = VECTORS / "w3c-vc-di-eddsa"
OB = VECTORS / "1edtech-ob-v3p0"
CREATED = "2024-05-01T12:00:00Z"
ISSUER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def token(path: Path) -> str:
    """A one-line vector value (hex or base58), without the file's line ending."""
    return text(path).strip()


def vector_key() -> Ed25519PrivateKey:
    return ed25519_private_key_from_multibase(load(EDDSA / "keyPair.json")["privateKeyMultibase"])


def open_badge(subject: dict[str, Any] | None = None) -> dict[str, Any]:
    """A typical OB 3.0 OpenBadgeCredential issued by a did:key issuer."""
    issuer = verification_method_id(ISSUER_KEY).split("#")[0]
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:0b3d4c1e-7f0a-4a51-9a57-9b8d6f2f0c11",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Example University"},
        "validFrom": "2024-05-01T00:00:00Z",
        "name": "Teamwork",
        "credentialSubject": subject
        or {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.edu/achievements/teamwork",
                "type": ["Achievement"],
                "name": "Teamwork",
                "description": "Works well in a team.",
                "criteria": {"narrative": "Nominated by peers."},
            },
        },
        "credentialStatus": {
            "id": "https://example.edu/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://example.edu/status/1",
        },
    }


def signed_badge(cryptosuite: str = "eddsa-rdfc-2022", subject: dict[str, Any] | None = None) -> dict[str, Any]:
    return sign(
        open_badge(subject),
        private_key=ISSUER_KEY,
        verification_method=verification_method_id(ISSUER_KEY),
        created=CREATED,
        cryptosuite=cryptosuite,
    )


# W3C vc-di-eddsa vectors


@pytest.mark.parametrize(
    ("cryptosuite", "folder", "suffix"),
    [("eddsa-rdfc-2022", "eddsa-rdfc-2022", "DataInt"), ("eddsa-jcs-2022", "eddsa-jcs-2022", "JCS")],
)
def test_signing_reproduces_every_step_of_the_w3c_vector(cryptosuite: str, folder: str, suffix: str) -> None:
    vector = EDDSA / folder
    unsigned = load(EDDSA / "unsigned.json")
    proof_config = load(vector / f"proofConfig{suffix}.json")

    canonical_document = transform(unsigned, cryptosuite=cryptosuite)
    canonical_config = canonical_proof_config(
        proof_config, document_context=unsigned["@context"], cryptosuite=cryptosuite
    )
    combined = hash_data(canonical_config, canonical_document)
    signature = vector_key().sign(combined)
    signed = sign(
        unsigned,
        private_key=vector_key(),
        verification_method=proof_config["verificationMethod"],
        created=proof_config["created"],
        cryptosuite=cryptosuite,
    )

    assert canonical_document == text(vector / f"canonDoc{suffix}.txt")
    assert canonical_config == text(vector / f"proofCanon{suffix}.txt")
    assert hashlib.sha256(canonical_document.encode()).hexdigest() == token(vector / f"docHash{suffix}.txt")
    assert hashlib.sha256(canonical_config.encode()).hexdigest() == token(vector / f"proofHash{suffix}.txt")
    assert combined.hex() == token(vector / f"combinedHash{suffix}.txt")
    assert signature.hex() == token(vector / f"sigHex{suffix}.txt")
    assert signed["proof"]["proofValue"] == token(vector / f"sigBTC58{suffix}.txt")
    assert signed == load(vector / f"signed{suffix}.json")
    assert verify(signed, resolve_key=resolve_did_key) == ProofCheck(
        True, proof_config["verificationMethod"], cryptosuite, None
    )


def test_legacy_ed25519_signature_2020_vector_verifies() -> None:
    vector = EDDSA / "Ed25519Signature2020"
    signed = load(vector / "signedEdSig.json")
    proof_config = load(vector / "proofConfigEdSig.json")

    canonical_config = canonical_proof_config(
        proof_config, document_context=signed["@context"], cryptosuite="Ed25519Signature2020"
    )
    check = verify(signed, resolve_key=resolve_did_key)

    assert canonical_config == text(vector / "proofCanonEdSig.txt")
    assert hashlib.sha256(canonical_config.encode()).hexdigest() == token(vector / "proofHashEdSig.txt")
    assert check.ok and check.cryptosuite == "Ed25519Signature2020"


def test_w3c_proof_set_verifies_and_fails_when_one_proof_is_broken() -> None:
    signed = load(EDDSA / "proof-set-chain" / "signedProofSet2.json")
    broken = copy.deepcopy(signed)
    broken["proof"][1]["created"] = "2023-02-24T23:36:39Z"

    assert verify(signed, resolve_key=resolve_did_key).ok
    assert verify(broken, resolve_key=resolve_did_key).reason == "signature does not match"


def test_1edtech_implementation_guide_credential_verifies() -> None:
    signed = load(OB / "ob30-impl-guide-ldp-signed-credential.json")
    issuer_keys = {
        "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi": (
            ed25519_public_key_from_multibase("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi")
        )
    }
    proof = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    unsigned = {k: v for k, v in signed.items() if k != "proof"}

    check = verify(signed, resolve_key=issuer_keys.__getitem__)
    combined = hash_data(
        canonical_proof_config(proof, document_context=signed["@context"], cryptosuite="eddsa-rdfc-2022"),
        transform(unsigned, cryptosuite="eddsa-rdfc-2022"),
    )

    assert check.ok, check
    assert combined.hex() == (
        hashlib.sha256((OB / "proof-canon.txt").read_bytes()).hexdigest()
        + hashlib.sha256((OB / "document-canon.txt").read_bytes()).hexdigest()
    )


# Round trips and tampering

names = st.text(min_size=1, max_size=30)
subjects = st.fixed_dictionaries(
    {
        "type": st.just(["AchievementSubject"]),
        "achievement": st.fixed_dictionaries(
            {
                "id": st.from_regex(r"https://example\.edu/a/[a-z0-9]{1,12}", fullmatch=True),
                "type": st.just(["Achievement"]),
                "name": names,
                "description": names,
                "criteria": st.fixed_dictionaries({"narrative": names}),
            }
        ),
    },
    optional={
        "id": st.from_regex(r"did:example:[a-zA-Z0-9]{1,20}", fullmatch=True),
        "creditsEarned": st.floats(min_value=0, max_value=1000, allow_nan=False),
        "narrative": names,
    },
)


@settings(max_examples=25, deadline=None)
@given(subject=subjects, cryptosuite=st.sampled_from(CRYPTOSUITES))
def test_signed_credential_verifies(subject: dict[str, Any], cryptosuite: str) -> None:
    signed = signed_badge(cryptosuite, subject)

    check = verify(signed, resolve_key=resolve_did_key)

    assert check == ProofCheck(True, verification_method_id(ISSUER_KEY), cryptosuite, None)


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, child in value.items() for p in leaf_paths(child, (*path, key))]
    if isinstance(value, list):
        return [p for index, child in enumerate(value) for p in leaf_paths(child, (*path, index))]
    return [path]


SIGNED = {suite: signed_badge(suite) for suite in CRYPTOSUITES}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), cryptosuite=st.sampled_from(CRYPTOSUITES))
def test_changing_any_value_of_a_signed_credential_breaks_it(data: st.DataObject, cryptosuite: str) -> None:
    tampered = copy.deepcopy(SIGNED[cryptosuite])
    path = data.draw(st.sampled_from(leaf_paths(tampered)))
    parent = tampered
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    parent[path[-1]] = data.draw(st.text(max_size=40).filter(lambda new: new != old))

    assert not verify(tampered, resolve_key=resolve_did_key).ok


@given(byte=st.integers(0, 63), bit=st.integers(0, 7), cryptosuite=st.sampled_from(CRYPTOSUITES))
def test_flipping_any_signature_bit_breaks_it(byte: int, bit: int, cryptosuite: str) -> None:
    tampered = copy.deepcopy(SIGNED[cryptosuite])
    signature = bytearray(base58.b58decode(tampered["proof"]["proofValue"][1:]))
    signature[byte] ^= 1 << bit
    tampered["proof"]["proofValue"] = "z" + base58.b58encode(bytes(signature)).decode()

    check = verify(tampered, resolve_key=resolve_did_key)

    assert not check.ok
    assert check.reason == "signature does not match"


# What verify says, and what it never does


def test_reasons_are_short_and_specific() -> None:
    signed = SIGNED["eddsa-rdfc-2022"]
    without_proof = {k: v for k, v in signed.items() if k != "proof"}
    other_suite = copy.deepcopy(signed) | {"proof": signed["proof"] | {"cryptosuite": "ecdsa-sd-2023"}}
    ecdsa_with_ed25519_key = copy.deepcopy(signed) | {"proof": signed["proof"] | {"cryptosuite": "ecdsa-rdfc-2019"}}
    unknown_context = copy.deepcopy(signed)
    unknown_context["@context"].append("https://evil.example/ctx")
    undefined_term = copy.deepcopy(signed)
    undefined_term["credentialSubject"]["shoeSize"] = 44
    other_purpose = copy.deepcopy(signed) | {"proof": signed["proof"] | {"proofPurpose": "authentication"}}

    def said(document: dict) -> tuple[str | None, Reason, bool]:
        check = verify(document, resolve_key=resolve_did_key)
        return check.reason, check.code, check.indeterminate

    assert said(without_proof) == ("proof missing", Reason.PROOF_MISSING, False)
    assert said(other_suite) == (
        "cryptosuite ecdsa-sd-2023 is not implemented here",
        Reason.PROOF_CRYPTOSUITE_UNSUPPORTED,
        True,
    )
    assert said(ecdsa_with_ed25519_key)[1:] == (Reason.PROOF_KEY_TYPE_MISMATCH, False)
    assert verify(unknown_context, resolve_key=resolve_did_key) == ProofCheck(
        False,
        verification_method_id(ISSUER_KEY),
        "eddsa-rdfc-2022",
        "unknown context https://evil.example/ctx",
        True,
        Reason.PROOF_CONTEXT_UNKNOWN,
    )
    assert verify(undefined_term, resolve_key=resolve_did_key) == ProofCheck(
        False,
        verification_method_id(ISSUER_KEY),
        "eddsa-rdfc-2022",
        "undefined term shoeSize",
        False,
        Reason.PROOF_UNDEFINED_TERMS,
    )
    assert said(other_purpose) == ("proof purpose is not assertionMethod", Reason.PROOF_PURPOSE_MISMATCH, False)


def test_key_that_cannot_be_resolved_is_indeterminate_not_invalid() -> None:
    def offline(method: str) -> Ed25519PublicKey:
        raise ConnectionError("did:web host unreachable")

    check = verify(SIGNED["eddsa-rdfc-2022"], resolve_key=offline)

    assert not check.ok and check.indeterminate
    assert check.reason == "cannot resolve verification method: did:web host unreachable"
    assert check.code == Reason.PROOF_KEY_UNRESOLVABLE


def test_signature_by_another_key_does_not_match() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()

    check = verify(SIGNED["eddsa-jcs-2022"], resolve_key=lambda method: other)

    assert (check.ok, check.indeterminate, check.reason) == (False, False, "signature does not match")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
proofs = json_values | st.fixed_dictionaries(
    {"type": st.sampled_from(["DataIntegrityProof", "Ed25519Signature2020", "x"])},
    optional={
        "cryptosuite": st.sampled_from([*CRYPTOSUITES, "x"]),
        "verificationMethod": st.just(verification_method_id(ISSUER_KEY)) | json_values,
        "proofPurpose": st.just("assertionMethod") | json_values,
        "proofValue": st.just(SIGNED["eddsa-rdfc-2022"]["proof"]["proofValue"]) | json_values,
        "created": st.just(CREATED) | json_values,
        "@context": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=12), json_values, max_size=5),
    context=st.sampled_from([None, SIGNED["eddsa-rdfc-2022"]["@context"], "https://evil.example/", 7]),
    proof=proofs,
)
def test_verify_never_raises_on_hostile_input(document: dict[str, Any], context: Any, proof: Any) -> None:
    if context is not None:
        document["@context"] = context
    document["proof"] = proof

    check = verify(document, resolve_key=resolve_did_key)

    assert check.ok is False and check.reason


def test_verify_answers_for_a_document_that_is_not_an_object() -> None:
    not_an_object: Any = ["not", "a", "credential"]

    assert verify(not_an_object, resolve_key=resolve_did_key).reason == "document is not a JSON object"


# What sign refuses


def test_sign_refuses_terms_the_ob_context_copies_disagree_on() -> None:
    badge = open_badge()
    badge["awardedDate"] = "2024-05-01T00:00:00Z"

    with pytest.raises(NonPortableTermError):
        sign(badge, private_key=ISSUER_KEY, verification_method=verification_method_id(ISSUER_KEY), created=CREATED)


def test_sign_refuses_a_term_no_context_defines() -> None:
    badge = open_badge()
    badge["credentialSubject"]["shoeSize"] = 44

    with pytest.raises(DataLossError, match="undefined term shoeSize"):
        sign(badge, private_key=ISSUER_KEY, verification_method=verification_method_id(ISSUER_KEY), created=CREATED)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "unsupported cryptosuite"),
        ({"created": "yesterday"}, "dateTimeStamp"),
        ({"created": "2024-05-01T12:00:00"}, "dateTimeStamp"),
        ({"document": SIGNED["eddsa-rdfc-2022"]}, "already has a proof"),
    ],
)
def test_sign_refuses_bad_arguments(changes: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "document": open_badge(),
        "private_key": ISSUER_KEY,
        "verification_method": verification_method_id(ISSUER_KEY),
        "created": CREATED,
    } | changes

    with pytest.raises(ValueError, match=message):
        sign(**arguments)


# Signing remembers each issuer's canonical proof configuration but the time; it must change no byte


def _config_canonicalised_by_template(templates: Any, proof_config: dict[str, Any], context: Any, suite: str) -> str:
    return templates.canonical(
        {k: v for k, v in proof_config.items() if k != "proofValue"} | {"@context": context}, cryptosuite=suite
    )


def test_signing_again_with_the_same_options_still_reproduces_the_w3c_vector() -> None:
    unsigned = load(EDDSA / "unsigned.json")
    proof_config = load(EDDSA / "eddsa-rdfc-2022" / "proofConfigDataInt.json")
    options = {
        "private_key": vector_key(),
        "verification_method": proof_config["verificationMethod"],
        "cryptosuite": "eddsa-rdfc-2022",
    }

    first = sign(unsigned, created=proof_config["created"], **options)
    later = sign(unsigned, created="2030-01-01T00:00:00Z", **options)
    again = sign(unsigned, created=proof_config["created"], **options)

    assert first == again == load(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json")
    assert verify(later, resolve_key=resolve_did_key).ok


@pytest.mark.parametrize(
    ("config", "context", "canonical"),
    [
        (
            EDDSA / "eddsa-rdfc-2022" / "proofConfigDataInt.json",
            EDDSA / "unsigned.json",
            EDDSA / "eddsa-rdfc-2022" / "proofCanonDataInt.txt",
        ),
        (
            VECTORS / "w3c-vc-di-ecdsa" / "ecdsa-rdfc-2019-p256" / "proofConfigECDSAP256.json",
            VECTORS / "w3c-vc-di-ecdsa" / "unsigned.json",
            VECTORS / "w3c-vc-di-ecdsa" / "ecdsa-rdfc-2019-p256" / "proofCanonECDSAP256.txt",
        ),
        (
            VECTORS / "w3c-vc-di-ecdsa" / "ecdsa-rdfc-2019-p384" / "proofConfigECDSAP384.json",
            VECTORS / "w3c-vc-di-ecdsa" / "unsigned.json",
            VECTORS / "w3c-vc-di-ecdsa" / "ecdsa-rdfc-2019-p384" / "proofCanonECDSAP384.txt",
        ),
        (OB / "ob30-impl-guide-ldp-signed-credential.json", None, OB / "proof-canon.txt"),
    ],
)
def test_a_remembered_proof_configuration_gives_each_vector_byte_for_byte(
    config: Path, context: Path | None, canonical: Path
) -> None:
    document = load(config)
    proof_config = document.pop("proof") if context is None else document
    document_context = load(context)["@context"] if context is not None else document["@context"]
    suite = proof_config.get("cryptosuite", "eddsa-rdfc-2022")
    templates = _ProofConfigTemplates()

    texts = [_config_canonicalised_by_template(templates, proof_config, document_context, suite) for _ in range(3)]

    assert texts == [text(canonical)] * 3
    assert len(templates._templates) == 1 and None not in templates._templates.values()


stamps = st.builds(
    lambda moment, digits, zone: moment.isoformat(timespec=digits).replace("+00:00", "Z") + zone,
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
    st.sampled_from(["Z", "+00:00", "-05:30", "+14:00", "-12:00"]),
)
methods = st.one_of(
    st.from_regex(r"did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{20,44}#z6Mk[1-9A-HJ-NP-Za-km-z]{20,44}", fullmatch=True),
    st.from_regex(
        r"did:web:[a-z0-9.-]{1,20}(%3A[0-9]{2,5})?(:[a-z0-9-]{1,10}){0,3}#z[1-9A-Za-z]{8,20}", fullmatch=True
    ),
    st.builds(
        lambda path, key: f"https://example.org/{path}#{key}",
        st.text("abcé/ü-_~", max_size=12),
        st.text(st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=12),
    ),
)
contexts = st.sampled_from(
    [
        "https://www.w3.org/ns/credentials/v2",
        ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/security/data-integrity/v2"],
        ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/data-integrity/v2"],
        [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ],
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=methods,
    context=contexts,
    purpose=st.sampled_from(["assertionMethod", "authentication", "capabilityInvocation"]),
    suite=st.sampled_from(["eddsa-rdfc-2022", "ecdsa-rdfc-2019"]),
    times=st.lists(stamps, min_size=2, max_size=6),
)
def test_a_remembered_proof_configuration_is_the_canonical_one_for_any_time(
    method: str, context: Any, purpose: str, suite: str, times: list[str]
) -> None:
    templates = _ProofConfigTemplates()
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": suite,
        "verificationMethod": method,
        "proofPurpose": purpose,
    }

    for created in times:
        remembered = _config_canonicalised_by_template(templates, options | {"created": created}, context, suite)
        assert remembered == canonical_proof_config(
            options | {"created": created}, document_context=context, cryptosuite=suite
        )
    assert None not in templates._templates.values()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=subjects, times=st.lists(stamps, min_size=2, max_size=4))
def test_credentials_signed_one_after_another_verify(subject: dict[str, Any], times: list[str]) -> None:
    method = verification_method_id(ISSUER_KEY)
    for created in times:
        signed = sign(open_badge(subject), private_key=ISSUER_KEY, verification_method=method, created=created)

        assert signed["proof"]["created"] == created
        assert verify(signed, resolve_key=resolve_did_key).ok
