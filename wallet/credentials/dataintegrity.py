"""W3C Data Integrity EdDSA proofs: ``eddsa-rdfc-2022`` and ``eddsa-jcs-2022``, plus legacy checks.

The algorithms are those of Data Integrity EdDSA Cryptosuites v1.0 (W3C vc-di-eddsa):

- transformation: the unsecured document (no ``proof``) as RDFC-1.0 canonical N-Quads (``rdfc``) or as
  RFC 8785 JCS (``jcs``);
- proof configuration: the proof options without ``proofValue``, with ``@context`` set to the document's
  ``@context``, transformed the same way;
- hashing: SHA-256(proof configuration) followed by SHA-256(transformed document), 64 bytes;
- serialisation: an Ed25519 signature over those bytes, written as base58btc multibase (``z…``).

``Ed25519Signature2020`` proofs (the suite OB 3.0 issuers used before Data Integrity 1.0) are verified
with the same RDFC hashing but are never created.

:func:`verify` never raises for hostile input: it returns a :class:`ProofCheck`, whose ``indeterminate``
flag tells "could not be checked here" (unknown context, key that cannot be resolved) from "checked and
invalid".
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wallet.credentials.jsonld import (
    CanonicalisationLimitError,
    DataLossError,
    InvalidJsonLdError,
    UnknownContextError,
    assert_portable,
    canonize,
)

CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
LEGACY_PROOF_TYPES = ("Ed25519Signature2020",)

_DATA_INTEGRITY_PROOF = "DataIntegrityProof"
_DATETIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking one document's proof.

    ``ok`` is True only for a signature that was checked and matches. When ``ok`` is False, ``reason``
    says why in a few words, and ``indeterminate`` is True when the proof could not be checked here at
    all (the caller may retry or ask elsewhere) rather than being found invalid.
    """

    ok: bool
    verification_method: str | None
    cryptosuite: str | None
    reason: str | None
    indeterminate: bool = False


def _is_datetime_stamp(value: object) -> bool:
    if not isinstance(value, str) or _DATETIME_STAMP.match(value) is None:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _uses_rdf(cryptosuite: str) -> bool:
    return cryptosuite != "eddsa-jcs-2022"


def transform(unsecured_document: Mapping[str, Any], *, cryptosuite: str) -> str:
    """The transformed document the suite hashes: canonical N-Quads, or JCS for ``eddsa-jcs-2022``."""
    if _uses_rdf(cryptosuite):
        return canonize(unsecured_document)
    return rfc8785.dumps(unsecured_document).decode("utf-8")


def canonical_proof_config(proof_options: Mapping[str, Any], *, document_context: Any, cryptosuite: str) -> str:
    """The canonical proof configuration: the options without ``proofValue``, in the document's context."""
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    if document_context is not None:
        config["@context"] = document_context
    elif _uses_rdf(cryptosuite):
        config.pop("@context", None)
    return transform(config, cryptosuite=cryptosuite)


def hash_data(canonical_proof_config_text: str, transformed_document: str) -> bytes:
    """SHA-256 of the proof configuration followed by SHA-256 of the document (64 bytes)."""
    return (
        hashlib.sha256(canonical_proof_config_text.encode("utf-8")).digest()
        + hashlib.sha256(transformed_document.encode("utf-8")).digest()
    )


def _hash_for(unsecured: Mapping[str, Any], proof_options: Mapping[str, Any], cryptosuite: str) -> bytes:
    config = canonical_proof_config(proof_options, document_context=unsecured.get("@context"), cryptosuite=cryptosuite)
    return hash_data(config, transform(unsecured, cryptosuite=cryptosuite))


def sign(
    document: Mapping[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: str,
    cryptosuite: str = "eddsa-rdfc-2022",
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of ``document`` with a ``DataIntegrityProof`` added.

    ``created`` is an XML Schema dateTimeStamp such as ``2024-05-01T12:00:00Z`` (the caller owns the
    clock). For ``eddsa-rdfc-2022`` the document must canonicalise without data loss and must avoid
    the terms that OB 3.0.3 context copies disagree on (:func:`~wallet.credentials.jsonld.assert_portable`),
    so that every verifier computes the same N-Quads. For ``eddsa-jcs-2022`` the proof also carries the
    document's ``@context``, as the suite specifies.

    Raises ValueError for a bad suite, timestamp or an already signed document, and the errors of
    :func:`~wallet.credentials.jsonld.canonize`.
    """
    if cryptosuite not in CRYPTOSUITES:
        raise ValueError(f"unsupported cryptosuite {cryptosuite}")
    if not _is_datetime_stamp(created):
        raise ValueError("created must be an XML Schema dateTimeStamp, e.g. 2024-05-01T12:00:00Z")
    if "proof" in document:
        raise ValueError("document already has a proof")
    unsecured = copy.deepcopy(dict(document))
    if _uses_rdf(cryptosuite):
        assert_portable(unsecured)
    proof: dict[str, Any] = {
        "type": _DATA_INTEGRITY_PROOF,
        "cryptosuite": cryptosuite,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if not _uses_rdf(cryptosuite) and "@context" in unsecured:
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    signature = private_key.sign(_hash_for(unsecured, proof, cryptosuite))
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": proof}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _context_starts_with(document_context: Any, proof_context: Any) -> bool:
    document_list, proof_list = _as_list(document_context), _as_list(proof_context)
    return document_list[: len(proof_list)] == proof_list


def _verify_proof(
    document: Mapping[str, Any],
    proof: Any,
    resolve_key: Callable[[str], Ed25519PublicKey],
    proof_purpose: str,
) -> ProofCheck:
    if not isinstance(proof, Mapping):
        return ProofCheck(False, None, None, "proof is not an object")
    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else None
    proof_type = proof.get("type")
    if proof_type == _DATA_INTEGRITY_PROOF:
        suite = proof.get("cryptosuite")
        if suite not in CRYPTOSUITES:
            return ProofCheck(False, method, None, f"unsupported cryptosuite {suite}")
    elif proof_type in LEGACY_PROOF_TYPES:
        suite = proof_type
    else:
        return ProofCheck(False, method, None, f"unsupported proof type {proof_type}")

    def failed(reason: str, *, indeterminate: bool = False) -> ProofCheck:
        return ProofCheck(False, method, suite, reason, indeterminate)

    if method is None:
        return failed("proof has no verificationMethod")
    if proof.get("proofPurpose") != proof_purpose:
        return failed(f"proof purpose is not {proof_purpose}")
    if "created" in proof and not _is_datetime_stamp(proof["created"]):
        return failed("proof created is not a dateTimeStamp")
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        return failed("proofValue is not base58btc multibase")
    try:
        signature = base58.b58decode(proof_value[1:])
    except ValueError:
        return failed("proofValue is not base58btc multibase")
    if len(signature) != 64:
        return failed("proofValue is not a 64-byte Ed25519 signature")

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    if "@context" in proof:
        if not _context_starts_with(document.get("@context"), proof["@context"]):
            return failed("proof context does not match document")
        unsecured["@context"] = proof["@context"]
    try:
        data = _hash_for(unsecured, proof, suite)
    except UnknownContextError as error:
        return failed(str(error), indeterminate=True)
    except DataLossError as error:
        return failed(str(error))
    except (InvalidJsonLdError, CanonicalisationLimitError) as error:
        return failed(str(error))
    except Exception as error:  # JCS range errors, pyld errors outside JSON-LD syntax and the like
        return failed(f"document cannot be canonicalised: {type(error).__name__}")

    try:
        public_key = resolve_key(method)
    except Exception as error:  # whatever the resolver raises means "could not check"
        return failed(f"cannot resolve verification method: {error}", indeterminate=True)
    if not isinstance(public_key, Ed25519PublicKey):
        return failed("verification method is not an Ed25519 key", indeterminate=True)
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return failed("signature does not match")
    return ProofCheck(True, method, suite, None)


def verify(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], Ed25519PublicKey],
    proof_purpose: str = "assertionMethod",
) -> ProofCheck:
    """Check the Data Integrity proof of ``document``; never raises.

    ``resolve_key`` maps a verification method URL to the Ed25519 public key the caller trusts for it
    (for did:key, :func:`wallet.credentials.multikey.resolve_did_key`); whatever it raises makes the
    result indeterminate. A proof set (a list of proofs) is valid only when every proof is; proof
    chains (``previousProof``) are refused. ``expires``, ``domain`` and ``challenge`` are not checked.
    """
    try:
        if not isinstance(document, Mapping):
            return ProofCheck(False, None, None, "document is not a JSON object")
        proofs = document.get("proof")
        if proofs is None or proofs == []:
            return ProofCheck(False, None, None, "proof missing")
        checks = []
        for proof in _as_list(proofs):
            if isinstance(proof, Mapping) and "previousProof" in proof:
                return ProofCheck(False, None, None, "proof chains are not supported")
            check = _verify_proof(document, proof, resolve_key, proof_purpose)
            if not check.ok:
                return check
            checks.append(check)
        return checks[0]
    except Exception as error:  # hostile input must give a result, never an exception
        return ProofCheck(False, None, None, f"malformed document: {type(error).__name__}")
