"""W3C Data Integrity proofs: EdDSA and ECDSA cryptosuites, plus the legacy Ed25519Signature2020.

The algorithms are those of Data Integrity EdDSA Cryptosuites v1.0 (W3C vc-di-eddsa) and ECDSA
Cryptosuites v1.0 (W3C vc-di-ecdsa):

- transformation: the unsecured document (no ``proof``) as RDFC-1.0 canonical N-Quads (``*-rdfc-*``) or
  as RFC 8785 JCS (``*-jcs-*``);
- proof configuration: the proof options without ``proofValue``, with ``@context`` set to the document's
  ``@context``, transformed the same way;
- hashing: hash(proof configuration) followed by hash(transformed document) — SHA-256 for Ed25519 and
  P-256, SHA-384 for P-384 (:mod:`wallet.credentials.ecdsa`);
- serialisation: an Ed25519 signature, or an ECDSA ``r || s`` signature, as base58btc multibase (``z…``).

Suites verified: ``eddsa-rdfc-2022`` (and ``eddsa-2022``, its name in the drafts, with a
``proof.cryptosuite_alias`` warning), ``eddsa-jcs-2022``, ``ecdsa-rdfc-2019`` and ``ecdsa-jcs-2019`` (P-256
and P-384). ``Ed25519Signature2020`` proofs (what OB 3.0 issuers used before Data Integrity 1.0) are
verified with the same RDFC hashing but never created. Any other suite or proof type — ``ecdsa-sd-2023``,
``bbs-2023``, ``JsonWebSignature2020`` — is *could not check* (``proof.cryptosuite_unsupported`` /
``proof.type_unsupported``), never invalid.

:func:`verify` never raises for hostile input: it returns a :class:`ProofCheck`, whose ``code`` (a
:class:`~wallet.credentials.reasons.Reason`) says why, and whose ``indeterminate`` flag tells "could not
be checked here" (unknown context, key that cannot be resolved, suite not implemented) from "checked and
invalid".
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wallet.credentials import ecdsa
from wallet.credentials.jsonld import (
    CanonicalisationLimitError,
    DataLossError,
    InvalidJsonLdError,
    UnknownContextError,
    assert_portable,
    canonize,
)
from wallet.credentials.multikey import InvalidKey, UnsupportedKey
from wallet.credentials.reasons import Reason

CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
"""The suites :func:`sign` uses with an Ed25519 key (the wallet issues with the first)."""
ECDSA_CRYPTOSUITES = ecdsa.CRYPTOSUITES
"""The suites :func:`sign` uses with a P-256 or P-384 key."""
SUITE_ALIASES = {"eddsa-2022": "eddsa-rdfc-2022"}
"""Earlier names of a suite, verified as the suite they became (with a ``proof.cryptosuite_alias`` warning)."""
VERIFIED_CRYPTOSUITES = (*CRYPTOSUITES, *ECDSA_CRYPTOSUITES, *SUITE_ALIASES)
LEGACY_PROOF_TYPES = ("Ed25519Signature2020",)

_JCS_SUITES = frozenset({"eddsa-jcs-2022", "ecdsa-jcs-2019"})
_DATA_INTEGRITY_PROOF = "DataIntegrityProof"
_DATETIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

SigningKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking one document's proof.

    ``ok`` is True only for a signature that was checked and matches. ``code`` says why in a stable
    code, ``reason`` in a few words; ``indeterminate`` is True when the proof could not be checked here
    at all (the caller may retry or ask elsewhere) rather than being found invalid. ``warnings`` are
    conformance remarks that do not change the outcome.
    """

    ok: bool
    verification_method: str | None
    cryptosuite: str | None
    reason: str | None
    indeterminate: bool = False
    code: Reason = Reason.PROOF_VERIFIED
    warnings: tuple[Reason, ...] = ()


def _is_datetime_stamp(value: object) -> bool:
    if not isinstance(value, str) or _DATETIME_STAMP.match(value) is None:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _uses_rdf(cryptosuite: str) -> bool:
    return cryptosuite not in _JCS_SUITES


def transform(unsecured_document: Mapping[str, Any], *, cryptosuite: str) -> str:
    """The transformed document the suite hashes: canonical N-Quads, or JCS for the ``*-jcs-*`` suites."""
    if _uses_rdf(cryptosuite):
        return canonize(unsecured_document)
    return rfc8785.dumps(unsecured_document).decode("utf-8")


def _proof_config(proof_options: Mapping[str, Any], *, document_context: Any, cryptosuite: str) -> dict[str, Any]:
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    if document_context is not None:
        config["@context"] = document_context
    elif _uses_rdf(cryptosuite):
        config.pop("@context", None)
    return config


def canonical_proof_config(proof_options: Mapping[str, Any], *, document_context: Any, cryptosuite: str) -> str:
    """The canonical proof configuration: the options without ``proofValue``, in the document's context."""
    return transform(
        _proof_config(proof_options, document_context=document_context, cryptosuite=cryptosuite),
        cryptosuite=cryptosuite,
    )


_XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
_TEMPLATE_PROBE = "2000-01-01T00:00:00Z"


class _ProofConfigTemplates:
    """Canonical proof configurations for signing, remembered by everything but ``created``.

    An issuer signs every credential with the same proof options but the time, so the canonical proof
    configuration is the same N-Quads with another ``created`` literal. It is byte-identical to
    canonicalising again when these hold, which :meth:`_template` checks on the first canonical form
    before keeping it:

    * every option is a string (``@context`` a string or list of strings): no nested objects;
    * the form has one blank node (``_:c14n0``, the proof), so no label can depend on ``created``;
    * ``created`` is a dateTimeStamp (digits, ``-:.TZ+``: nothing N-Quads escapes), expanded as an
      ``xsd:dateTime`` literal that occurs exactly once, on a line that no other line shares the
      subject and predicate with, so sorting puts it in the same place whatever the time;
    * and, belt and braces, the template filled with another time equals canonicalising with it.

    Only :func:`sign` uses it; :func:`verify` always canonicalises, so every signature that verifies
    also checks the template against the full algorithm.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self._templates: OrderedDict[str, tuple[str, str] | None] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def canonical(self, config: Mapping[str, Any], *, cryptosuite: str) -> str:
        created = config.get("created")
        if not (_uses_rdf(cryptosuite) and _is_datetime_stamp(created) and _flat_strings(config)):
            return transform(config, cryptosuite=cryptosuite)
        assert isinstance(created, str)
        key = cryptosuite + json.dumps({k: v for k, v in config.items() if k != "created"}, sort_keys=True)
        with self._lock:
            known = key in self._templates
            template = self._templates.get(key)
            if known:
                self._templates.move_to_end(key)
        if template is not None:
            return template[0] + created + template[1]
        text = transform(config, cryptosuite=cryptosuite)
        if not known:
            template = self._template(text, config, created=created, cryptosuite=cryptosuite)
            with self._lock:
                self._templates[key] = template
                while len(self._templates) > self._maxsize:
                    self._templates.popitem(last=False)
        return text

    @staticmethod
    def _template(text: str, config: Mapping[str, Any], *, created: str, cryptosuite: str) -> tuple[str, str] | None:
        literal = f'"{created}"^^<{_XSD_DATETIME}>'
        if text.count(literal) != 1 or "_:c14n1" in text:
            return None
        lines = text.splitlines(keepends=True)
        (line,) = [line for line in lines if literal in line]
        subject_predicate = line[: line.index(literal)]
        if line != subject_predicate + literal + " .\n" or not subject_predicate.startswith("_:c14n0 <"):
            return None
        if sum(1 for other in lines if other.startswith(subject_predicate)) != 1:
            return None
        start = text.index(literal) + 1
        template = (text[:start], text[start + len(created) :])
        probe = _TEMPLATE_PROBE if created != _TEMPLATE_PROBE else "2000-01-01T00:00:01Z"
        if transform({**config, "created": probe}, cryptosuite=cryptosuite) != template[0] + probe + template[1]:
            return None
        return template


def _flat_strings(config: Mapping[str, Any]) -> bool:
    for key, value in config.items():
        if key == "@context" and isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                return False
        elif not isinstance(value, str):
            return False
    return True


_proof_config_templates = _ProofConfigTemplates()


def hash_data(canonical_proof_config_text: str, transformed_document: str) -> bytes:
    """SHA-256 of the proof configuration followed by SHA-256 of the document (64 bytes; EdDSA, P-256)."""
    return (
        hashlib.sha256(canonical_proof_config_text.encode("utf-8")).digest()
        + hashlib.sha256(transformed_document.encode("utf-8")).digest()
    )


def _texts(unsecured: Mapping[str, Any], proof_options: Mapping[str, Any], cryptosuite: str) -> tuple[str, str]:
    config = canonical_proof_config(proof_options, document_context=unsecured.get("@context"), cryptosuite=cryptosuite)
    return config, transform(unsecured, cryptosuite=cryptosuite)


def _hash_for(key: object, texts: tuple[str, str]) -> bytes:
    if ecdsa.is_suitable(key):
        return ecdsa.hash_data(key, *texts)  # type: ignore[arg-type]
    return hash_data(*texts)


def sign(
    document: Mapping[str, Any],
    *,
    private_key: SigningKey,
    verification_method: str,
    created: str,
    cryptosuite: str = "eddsa-rdfc-2022",
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of ``document`` with a ``DataIntegrityProof`` added.

    ``created`` is an XML Schema dateTimeStamp such as ``2024-05-01T12:00:00Z`` (the caller owns the
    clock). An Ed25519 key signs with :data:`CRYPTOSUITES`, a P-256/P-384 key with
    :data:`ECDSA_CRYPTOSUITES`. For the RDFC suites the document must canonicalise without data loss
    and must avoid the terms that OB 3.0.3 context copies disagree on
    (:func:`~wallet.credentials.jsonld.assert_portable`), so that every verifier computes the same
    N-Quads. For the JCS suites the proof also carries the document's ``@context``, as they specify.

    Raises ValueError for a bad suite, key, timestamp or an already signed document, and the errors of
    :func:`~wallet.credentials.jsonld.canonize`.
    """
    if isinstance(private_key, Ed25519PrivateKey):
        if cryptosuite not in CRYPTOSUITES:
            raise ValueError(f"unsupported cryptosuite {cryptosuite} for an Ed25519 key")
    elif ecdsa.is_suitable(private_key):
        if cryptosuite not in ECDSA_CRYPTOSUITES:
            raise ValueError(f"unsupported cryptosuite {cryptosuite} for a {private_key.curve.name} key")
    else:
        raise ValueError("signing keys are Ed25519, P-256 or P-384")
    if not _is_datetime_stamp(created):
        raise ValueError("created must be an XML Schema dateTimeStamp, e.g. 2024-05-01T12:00:00Z")
    if "proof" in document:
        raise ValueError("document already has a proof")
    # A JSON round trip copies JSON data three times faster than copy.deepcopy, and refuses what is not JSON.
    unsecured = json.loads(json.dumps(dict(document), ensure_ascii=False))
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
        proof["@context"] = json.loads(json.dumps(unsecured["@context"], ensure_ascii=False))
    config = _proof_config(proof, document_context=unsecured.get("@context"), cryptosuite=cryptosuite)
    texts = (
        _proof_config_templates.canonical(config, cryptosuite=cryptosuite),
        transform(unsecured, cryptosuite=cryptosuite),
    )
    data = _hash_for(private_key, texts)
    signer = private_key.sign if isinstance(private_key, Ed25519PrivateKey) else lambda d: ecdsa.sign(private_key, d)
    signature = signer(data)
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": proof}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _context_starts_with(document_context: Any, proof_context: Any) -> bool:
    document_list, proof_list = _as_list(document_context), _as_list(proof_context)
    return document_list[: len(proof_list)] == proof_list


def _key_suits(suite: str, key: object) -> bool:
    if suite in ECDSA_CRYPTOSUITES:
        return ecdsa.is_suitable(key)
    return isinstance(key, Ed25519PublicKey)


def _verify_proof(
    document: Mapping[str, Any],
    proof: Any,
    resolve_key: Callable[[str], Any],
    proof_purpose: str,
) -> ProofCheck:
    if not isinstance(proof, Mapping):
        return ProofCheck(False, None, None, "proof is not an object", code=Reason.PROOF_MALFORMED)
    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else None
    proof_type = proof.get("type")
    warnings: tuple[Reason, ...] = ()
    if proof_type == _DATA_INTEGRITY_PROOF:
        named = proof.get("cryptosuite")
        if not isinstance(named, str) or not named:
            return ProofCheck(
                False, method, None, "DataIntegrityProof names no cryptosuite", code=Reason.PROOF_MALFORMED
            )
        if named not in VERIFIED_CRYPTOSUITES:
            return ProofCheck(
                False,
                method,
                named,
                f"cryptosuite {named} is not implemented here",
                indeterminate=True,
                code=Reason.PROOF_CRYPTOSUITE_UNSUPPORTED,
            )
        suite = SUITE_ALIASES.get(named, named)
        if named in SUITE_ALIASES:
            warnings = (Reason.PROOF_CRYPTOSUITE_ALIAS,)
    elif proof_type in LEGACY_PROOF_TYPES:
        suite = named = proof_type
    elif isinstance(proof_type, str) and proof_type:
        return ProofCheck(
            False,
            method,
            None,
            f"proof type {proof_type} is not implemented here",
            indeterminate=True,
            code=Reason.PROOF_TYPE_UNSUPPORTED,
        )
    else:
        return ProofCheck(False, method, None, "proof has no type", code=Reason.PROOF_MALFORMED)

    def failed(reason: str, code: Reason, *, indeterminate: bool = False) -> ProofCheck:
        return ProofCheck(False, method, named, reason, indeterminate, code, warnings)

    if method is None:
        return failed("proof has no verificationMethod", Reason.PROOF_MALFORMED)
    if proof.get("proofPurpose") != proof_purpose:
        return failed(f"proof purpose is not {proof_purpose}", Reason.PROOF_PURPOSE_MISMATCH)
    if "created" in proof and not _is_datetime_stamp(proof["created"]):
        return failed("proof created is not a dateTimeStamp", Reason.PROOF_MALFORMED)
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        return failed("proofValue is not base58btc multibase", Reason.PROOF_MALFORMED)
    try:
        signature = base58.b58decode(proof_value[1:])
    except ValueError:
        return failed("proofValue is not base58btc multibase", Reason.PROOF_MALFORMED)
    if suite not in ECDSA_CRYPTOSUITES and len(signature) != 64:
        return failed("proofValue is not a 64-byte Ed25519 signature", Reason.PROOF_MALFORMED)

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    if "@context" in proof:
        if not _context_starts_with(document.get("@context"), proof["@context"]):
            return failed("proof context does not match document", Reason.PROOF_SIGNATURE_MISMATCH)
        unsecured["@context"] = proof["@context"]
    try:
        texts = _texts(unsecured, proof, suite)
    except UnknownContextError as error:
        return failed(str(error), Reason.PROOF_CONTEXT_UNKNOWN, indeterminate=True)
    except DataLossError as error:
        return failed(str(error), Reason.PROOF_UNDEFINED_TERMS)
    except CanonicalisationLimitError as error:
        return failed(str(error), Reason.PROOF_TOO_COMPLEX, indeterminate=True)
    except InvalidJsonLdError as error:
        return failed(str(error), Reason.PROOF_NOT_CANONICALISABLE)
    except Exception as error:  # JCS range errors, pyld errors outside JSON-LD syntax and the like
        return failed(f"document cannot be canonicalised: {type(error).__name__}", Reason.PROOF_NOT_CANONICALISABLE)

    try:
        public_key = resolve_key(method)
    except InvalidKey as error:
        return failed(f"verification method {method} is not a usable key: {error}", Reason.PROOF_KEY_INVALID)
    except UnsupportedKey as error:
        return failed(f"cannot use verification method {method}: {error}", error_code(error), indeterminate=True)
    except Exception as error:  # whatever else the resolver raises means "could not check"
        return failed(f"cannot resolve verification method: {error}", Reason.PROOF_KEY_UNRESOLVABLE, indeterminate=True)
    if not _key_suits(suite, public_key):
        wanted = "a P-256 or P-384 key" if suite in ECDSA_CRYPTOSUITES else "an Ed25519 key"
        return failed(f"{suite} needs {wanted}; {method} is not one", Reason.PROOF_KEY_TYPE_MISMATCH)
    data = _hash_for(public_key, texts)
    if isinstance(public_key, Ed25519PublicKey):
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            return failed("signature does not match", Reason.PROOF_SIGNATURE_MISMATCH)
    elif not ecdsa.verify(public_key, signature, data):
        return failed("signature does not match", Reason.PROOF_SIGNATURE_MISMATCH)
    return ProofCheck(True, method, named, None, code=Reason.PROOF_VERIFIED, warnings=warnings)


def error_code(error: Exception) -> Reason:
    """The reason code a key resolver's error stands for (``code`` attribute, else key unresolvable)."""
    code = getattr(error, "code", None)
    return (
        code
        if isinstance(code, Reason)
        else (
            Reason.PROOF_DID_METHOD_UNSUPPORTED if isinstance(error, UnsupportedKey) else Reason.PROOF_KEY_UNRESOLVABLE
        )
    )


def verify(
    document: Mapping[str, Any],
    *,
    resolve_key: Callable[[str], Any],
    proof_purpose: str = "assertionMethod",
) -> ProofCheck:
    """Check the Data Integrity proof of ``document``; never raises.

    ``resolve_key`` maps a verification method URL to the public key the caller trusts for it (for
    did:key, :func:`wallet.credentials.multikey.public_key_from_did_key`). What it raises decides the
    result: :class:`~wallet.credentials.multikey.InvalidKey` is invalid (``proof.key_invalid``),
    :class:`~wallet.credentials.multikey.UnsupportedKey` and anything else could not check. A proof set
    (a list of proofs) is valid only when every proof is; proof chains (``previousProof``) are not
    checked (``proof.chain_unsupported``). ``expires``, ``domain`` and ``challenge`` are not checked.
    """
    try:
        if not isinstance(document, Mapping):
            return ProofCheck(False, None, None, "document is not a JSON object", code=Reason.CREDENTIAL_UNREADABLE)
        proofs = document.get("proof")
        if proofs is None or proofs == []:
            return ProofCheck(False, None, None, "proof missing", code=Reason.PROOF_MISSING)
        checks = []
        for proof in _as_list(proofs):
            if isinstance(proof, Mapping) and "previousProof" in proof:
                return ProofCheck(
                    False,
                    None,
                    None,
                    "proof chains are not supported",
                    indeterminate=True,
                    code=Reason.PROOF_CHAIN_UNSUPPORTED,
                )
            check = _verify_proof(document, proof, resolve_key, proof_purpose)
            if not check.ok:
                return check
            checks.append(check)
        return checks[0]
    except Exception as error:  # hostile input must give a result, never an exception
        return ProofCheck(False, None, None, f"malformed document: {type(error).__name__}", code=Reason.PROOF_MALFORMED)
