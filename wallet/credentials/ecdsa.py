"""The ECDSA parts of W3C Data Integrity ECDSA Cryptosuites v1.0 (``ecdsa-rdfc-2019``, ``ecdsa-jcs-2019``).

The suites share the Data Integrity pipeline of :mod:`wallet.credentials.dataintegrity` (RDFC-1.0 or JCS
transformation, proof configuration in the document's context) and differ from the EdDSA suites in
three places, all here:

- the hash is SHA-256 for a P-256 key and SHA-384 for a P-384 key (hash of the proof configuration
  followed by hash of the document, 64 or 96 bytes);
- the signature is ECDSA over those bytes with the same hash, written in the IEEE P1363 form
  ``r || s`` (64 or 96 bytes), not DER;
- only P-256 and P-384 keys are allowed.

``ecdsa-sd-2023`` (selective disclosure) is not implemented: its proofs are reported as
``proof.cryptosuite_unsupported`` (could not check), never as invalid.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

CRYPTOSUITES = ("ecdsa-rdfc-2019", "ecdsa-jcs-2019")
_SIZES = {"secp256r1": 32, "secp384r1": 48}


def is_suitable(key: object) -> bool:
    """Whether ``key`` is a P-256 or P-384 key (public or private), the only curves the suites allow."""
    return isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and key.curve.name in _SIZES


def _hash(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> hashes.HashAlgorithm:
    return hashes.SHA256() if key.curve.name == "secp256r1" else hashes.SHA384()


def hash_data(
    key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey, canonical_proof_config: str, transformed: str
) -> bytes:
    """hash(proof configuration) followed by hash(transformed document), with the curve's hash."""
    name = "sha256" if key.curve.name == "secp256r1" else "sha384"
    return (
        hashlib.new(name, canonical_proof_config.encode("utf-8")).digest()
        + hashlib.new(name, transformed.encode("utf-8")).digest()
    )


def signature_size(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> int:
    """The length of an ``r || s`` signature for ``key``'s curve (64 for P-256, 96 for P-384)."""
    return 2 * _SIZES[key.curve.name]


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """An ``r || s`` ECDSA signature of ``data``."""
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(_hash(private_key))))
    size = _SIZES[private_key.curve.name]
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` (``r || s``) is ``public_key``'s signature of ``data``."""
    size = _SIZES[public_key.curve.name]
    if len(signature) != 2 * size:
        return False
    r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_hash(public_key)))
    except InvalidSignature:
        return False
    return True
