"""Ed25519 Multikey strings and did:key, against the W3C and did:key method vectors."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from wallet.credentials.multikey import (
    did_key_document,
    did_key_for,
    ed25519_private_key_from_multibase,
    ed25519_private_key_to_multibase,
    ed25519_public_key_from_multibase,
    ed25519_public_key_to_multibase,
    resolve_did_key,
    verification_method_id,
)

VECTORS = Path(__file__).parents[1] / "vectors"
DID_KEY_VECTORS: dict[str, Any] = json.loads((VECTORS / "did-key" / "ed25519-x25519.json").read_text())
VECTOR_KEYS = json.loads((VECTORS / "w3c-vc-di-eddsa" / "keyPair.json").read_text())


def raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def vector_public_bytes(key_pair: dict[str, Any]) -> bytes:
    """The raw key of a did:key vector key pair, written as base58 or (one vector) as a JWK."""
    if "publicKeyBase58" in key_pair:
        return base58.b58decode(key_pair["publicKeyBase58"])
    return base64.urlsafe_b64decode(key_pair["publicKeyJwk"]["x"] + "=")


def test_w3c_key_pair_round_trips() -> None:
    private_key = ed25519_private_key_from_multibase(VECTOR_KEYS["privateKeyMultibase"])

    assert ed25519_private_key_to_multibase(private_key) == VECTOR_KEYS["privateKeyMultibase"]
    assert ed25519_public_key_to_multibase(private_key.public_key()) == VECTOR_KEYS["publicKeyMultibase"]
    assert raw(ed25519_public_key_from_multibase(VECTOR_KEYS["publicKeyMultibase"])) == raw(private_key.public_key())


@pytest.mark.parametrize("did", sorted(DID_KEY_VECTORS))
def test_did_key_vector(did: str) -> None:
    vector = DID_KEY_VECTORS[did]
    private_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["seed"]))
    expected_method = vector["didDocument"]["verificationMethod"][0]

    document = did_key_document(did)
    method = document["verificationMethod"][0]

    assert did_key_for(private_key) == did
    assert verification_method_id(private_key) == expected_method["id"]
    assert raw(resolve_did_key(did)) == vector_public_bytes(vector["verificationKeyPair"])
    assert raw(resolve_did_key(expected_method["id"])) == raw(private_key.public_key())
    assert document["id"] == did
    assert document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert method == {
        "id": expected_method["id"],
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": did.removeprefix("did:key:"),
    }
    for relationship in ("authentication", "assertionMethod", "capabilityDelegation", "capabilityInvocation"):
        assert document[relationship] == vector["didDocument"][relationship]
    assert "keyAgreement" not in document


@pytest.mark.parametrize(
    "value",
    [
        "did:web:example.edu",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",
        "did:key:z0OIl",
        "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp/path",
        "https://example.edu/issuers/1#key-1",
    ],
)
def test_anything_but_an_ed25519_did_key_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        resolve_did_key(value)


def test_private_key_is_not_accepted_as_a_public_key() -> None:
    with pytest.raises(ValueError, match="not an Ed25519 Multikey"):
        ed25519_public_key_from_multibase(VECTOR_KEYS["privateKeyMultibase"])


def test_did_document_is_for_a_did_not_a_did_url() -> None:
    with pytest.raises(ValueError):
        did_key_document(verification_method_id(Ed25519PrivateKey.generate()))


@given(st.binary(min_size=32, max_size=32))
def test_any_key_round_trips_through_did_key(seed: bytes) -> None:
    private_key = Ed25519PrivateKey.from_private_bytes(seed)

    assert raw(resolve_did_key(verification_method_id(private_key))) == raw(private_key.public_key())
    assert did_key_for(private_key).startswith("did:key:z6Mk")
    assert ed25519_private_key_to_multibase(private_key).startswith("z3u2")


@given(st.text(max_size=80))
def test_resolving_arbitrary_text_gives_a_key_or_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert isinstance(resolve_did_key("did:key:" + text), Ed25519PublicKey)
