"""Ed25519 keys as Multikey strings and did:key identifiers.

A Multikey is ``"z"`` + base58btc(multicodec varint header + raw key bytes): header ``0xed01``
(``ed25519-pub``) for a 32-byte public key, giving ``z6Mk…``, and ``0x8026`` (``ed25519-priv``, the
varint of 0x1300) for a 32-byte private key seed, giving ``z3u2…``. A did:key DID is ``did:key:`` + the
public Multikey, and its only verification method is ``did:key:z6Mk…#z6Mk…``. Resolving one needs no
network, which is why the wallet signs with did:key and checks did:key issuers offline.
"""

from __future__ import annotations

from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

_ED25519_PUB = b"\xed\x01"
_ED25519_PRIV = b"\x80\x26"
_DID_KEY_PREFIX = "did:key:"

DID_KEY_CONTEXTS = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")


def _encode(header: bytes, raw: bytes) -> str:
    return "z" + base58.b58encode(header + raw).decode("ascii")


def _decode(value: str, header: bytes, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise ValueError(f"{what} must be a base58btc multibase string starting with 'z'")
    try:
        data = base58.b58decode(value[1:])
    except ValueError as error:
        raise ValueError(f"{what} is not valid base58btc") from error
    if not data.startswith(header) or len(data) != len(header) + 32:
        raise ValueError(f"{what} is not an Ed25519 Multikey")
    return data[len(header) :]


def ed25519_public_key_to_multibase(public_key: Ed25519PublicKey) -> str:
    """``z6Mk…`` for an Ed25519 public key."""
    return _encode(_ED25519_PUB, public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def ed25519_public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """The Ed25519 public key in a ``z6Mk…`` Multikey; ValueError for anything else."""
    return Ed25519PublicKey.from_public_bytes(_decode(value, _ED25519_PUB, "public key"))


def ed25519_private_key_to_multibase(private_key: Ed25519PrivateKey) -> str:
    """``z3u2…`` for an Ed25519 private key (its 32-byte seed)."""
    raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _encode(_ED25519_PRIV, raw)


def ed25519_private_key_from_multibase(value: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in a ``z3u2…`` Multikey; ValueError for anything else."""
    return Ed25519PrivateKey.from_private_bytes(_decode(value, _ED25519_PRIV, "private key"))


def _public(key: Ed25519PublicKey | Ed25519PrivateKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def did_key_for(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``did:key:z6Mk…`` for a key (a private key stands for its public key)."""
    return _DID_KEY_PREFIX + ed25519_public_key_to_multibase(_public(public_key))


def verification_method_id(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """``did:key:z6Mk…#z6Mk…``, the id a proof names as its ``verificationMethod``."""
    multibase = ed25519_public_key_to_multibase(_public(public_key))
    return f"{_DID_KEY_PREFIX}{multibase}#{multibase}"


def _method_specific_id(did_or_vm_url: str) -> str:
    if not isinstance(did_or_vm_url, str) or not did_or_vm_url.startswith(_DID_KEY_PREFIX):
        raise ValueError("not a did:key DID")
    did, _, fragment = did_or_vm_url.partition("#")
    multibase = did[len(_DID_KEY_PREFIX) :]
    if fragment and fragment != multibase:
        raise ValueError("a did:key verification method's fragment must repeat its key")
    if "?" in did or "/" in did:
        raise ValueError("did:key URLs with paths or queries are not supported")
    return multibase


def resolve_did_key(did_or_vm_url: str) -> Ed25519PublicKey:
    """The Ed25519 public key of ``did:key:z6Mk…`` or ``did:key:z6Mk…#z6Mk…``; ValueError otherwise."""
    return ed25519_public_key_from_multibase(_method_specific_id(did_or_vm_url))


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 did:key, with one Multikey verification method.

    Follows the did:key method's document creation algorithm with its defaults (Multikey, no derived
    X25519 key agreement key): the one key serves every verification relationship.
    """
    if "#" in did:
        raise ValueError("a DID document is for a DID, not for a DID URL with a fragment")
    multibase = _method_specific_id(did)
    ed25519_public_key_from_multibase(multibase)
    method_id = f"{did}#{multibase}"
    return {
        "@context": list(DID_KEY_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityDelegation": [method_id],
        "capabilityInvocation": [method_id],
    }
