"""Ed25519, P-256 and P-384 keys as Multikey strings and did:key identifiers.

A Multikey is ``"z"`` + base58btc(multicodec varint header + raw key bytes): header ``0xed01``
(``ed25519-pub``) for a 32-byte public key, giving ``z6Mk…``, and ``0x8026`` (``ed25519-priv``, the
varint of 0x1300) for a 32-byte private key seed, giving ``z3u2…``. A did:key DID is ``did:key:`` + the
public Multikey, and its only verification method is ``did:key:z6Mk…#z6Mk…``. Resolving one needs no
network, which is why the wallet signs with did:key and checks did:key issuers offline.

The ECDSA suites (``ecdsa-rdfc-2019``, ``ecdsa-jcs-2019``) use P-256 and P-384 Multikeys: header
``0x8024`` (``p256-pub``, giving ``zDna…``) or ``0x8124`` (``p384-pub``, giving ``z82L…``) followed by the
SEC1 *compressed* point; secret keys use ``0x8626`` / ``0x8726`` and the raw scalar.
:func:`public_key_from_multibase` and :func:`public_key_from_did_key` read any of the three;
:func:`resolve_did_key` stays Ed25519-only for callers that can only use Ed25519.

Errors: :class:`InvalidKey` (a ValueError) when an identifier or key is malformed — a 5-byte key, a point
off its curve — which is evidence against whatever it signed; :class:`UnsupportedKey` (a LookupError)
for a well-formed key of a type we do not implement, which only means "could not check".
"""

from __future__ import annotations

from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

_ED25519_PUB = b"\xed\x01"
_ED25519_PRIV = b"\x80\x26"
_DID_KEY_PREFIX = "did:key:"
_EC_PUB = {b"\x80\x24": ec.SECP256R1(), b"\x81\x24": ec.SECP384R1()}
_EC_PRIV = {b"\x86\x26": ec.SECP256R1(), b"\x87\x26": ec.SECP384R1()}
_EC_SIZES = {"secp256r1": 32, "secp384r1": 48}

MultikeyPublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


class InvalidKey(ValueError):
    """A key or key identifier that is malformed: it cannot be anybody's key."""


class UnsupportedKey(LookupError):
    """A well-formed key (or DID method) of a kind this wallet does not implement."""


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
    """The DID document of a did:key (Ed25519, P-256 or P-384), with one Multikey verification method.

    Follows the did:key method's document creation algorithm with its defaults (Multikey, no derived
    X25519 key agreement key): the one key serves every verification relationship.
    """
    if "#" in did:
        raise ValueError("a DID document is for a DID, not for a DID URL with a fragment")
    multibase = _method_specific_id(did)
    public_key_from_multibase(multibase)
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


def _raw_multibase(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidKey(f"{what} must be a base58btc multibase string starting with 'z'")
    try:
        return base58.b58decode(value[1:])
    except ValueError as error:
        raise InvalidKey(f"{what} is not valid base58btc") from error


def public_key_from_multibase(value: Any) -> MultikeyPublicKey:
    """The Ed25519, P-256 or P-384 public key in a Multikey string.

    Raises :class:`InvalidKey` for a malformed key (wrong length, a point not on its curve) and
    :class:`UnsupportedKey` for another key type (secp256k1, BLS, X25519 …).
    """
    data = _raw_multibase(value, "public key")
    header, body = data[:2], data[2:]
    if header == _ED25519_PUB:
        if len(body) != 32:
            raise InvalidKey("an Ed25519 Multikey must carry 32 bytes")
        return Ed25519PublicKey.from_public_bytes(body)
    curve = _EC_PUB.get(header)
    if curve is None:
        raise UnsupportedKey(f"Multikey type 0x{header.hex()} is not supported (Ed25519, P-256, P-384 are)")
    if len(body) != _EC_SIZES[curve.name] + 1 or body[0] not in (2, 3):
        raise InvalidKey(f"a {curve.name} Multikey must carry a compressed point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, body)
    except ValueError as error:
        raise InvalidKey(f"the {curve.name} point is not on the curve") from error


def ec_public_key_to_multibase(public_key: ec.EllipticCurvePublicKey) -> str:
    """``zDna…`` (P-256) or ``z82L…`` (P-384) for an EC public key."""
    header = next((h for h, curve in _EC_PUB.items() if curve.name == public_key.curve.name), None)
    if header is None:
        raise ValueError(f"unsupported curve {public_key.curve.name}")
    return _encode(header, public_key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))


def ec_private_key_from_multibase(value: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 or P-384 private key in a secret Multikey (as the W3C vc-di-ecdsa key pairs give)."""
    data = _raw_multibase(value, "private key")
    curve = _EC_PRIV.get(data[:2])
    if curve is None or len(data) != 2 + _EC_SIZES[curve.name]:
        raise InvalidKey("not a P-256 or P-384 secret Multikey")
    return ec.derive_private_key(int.from_bytes(data[2:], "big"), curve)


def public_key_to_multibase(public_key: MultikeyPublicKey) -> str:
    """The Multikey of an Ed25519, P-256 or P-384 public key."""
    if isinstance(public_key, Ed25519PublicKey):
        return ed25519_public_key_to_multibase(public_key)
    return ec_public_key_to_multibase(public_key)


def did_key_for_public_key(public_key: MultikeyPublicKey) -> str:
    """``did:key:…`` for an Ed25519, P-256 or P-384 public key."""
    return _DID_KEY_PREFIX + public_key_to_multibase(public_key)


def public_key_from_did_key(did_or_vm_url: str) -> MultikeyPublicKey:
    """The public key of any supported did:key (or its verification method); see :func:`public_key_from_multibase`."""
    try:
        multibase = _method_specific_id(did_or_vm_url)
    except ValueError as error:
        raise InvalidKey(str(error)) from error
    return public_key_from_multibase(multibase)
