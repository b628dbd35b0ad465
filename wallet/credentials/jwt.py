"""VC-JWT: credentials secured as a compact JWS, the external-proof form Open Badges 3.0 allows.

OB 3.0 uses the VC Data Model 1.1 JWT encoding: the credential sits in the ``vc`` claim, and the
registered claims stand in for credential properties — ``iss`` for ``issuer.id``, ``nbf`` for
``issuanceDate`` (``validFrom`` in VC 2.0), ``exp`` for ``expirationDate`` (``validUntil``), ``jti`` for
``id``, ``sub`` for ``credentialSubject.id``. Verifying means checking the signature, then *decoding*:
filling each property from its claim when missing and rejecting the token when both exist and disagree
(OB 3.0 "Verify a Credential VC-JWT Signature"). A VC-JOSE 2.0 token whose payload is the credential
itself is accepted too.

The key comes from the header (OB 3.0 §8.2): ``kid`` as ``did:key`` (Ed25519, P-256, P-384), ``did:jwk``,
or — through the caller's ``resolve_key`` — a did:web or https key URL (a ``kid`` that is only a fragment
is relative to ``iss``); or from an embedded public ``jwk``; or, with neither, from the issuer's own
document, through the caller's ``resolve_issuer_keys``. EdDSA, ES256, ES384, RS256 and PS256 are
checked, and the algorithm must suit the key. ``none`` and HMAC algorithms are refused as invalid
(``proof.algorithm_forbidden``: a public key is no secret); other JOSE algorithms are "could not check".

Hostile numbers never escape as exceptions: a NumericDate that is not a finite JSON number inside the
datetime range (``"soon"``, ``1e300``, ``NaN``, ``-1e20``, ``true``) is ``proof.jwt_malformed``, a claim
that contradicts the property it stands for is ``proof.jwt_claim_mismatch``, and a malformed key (an
off-curve point, a 5-byte Ed25519 key) is ``proof.key_invalid`` — all invalid, with a reason.

Time claims are *not* enforced here: validity is a separate verification check, so a well-signed but
expired token still reports ``proof`` as passed and ``validity`` as failed.
"""

from __future__ import annotations

import base64
import copy
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.exceptions import InvalidTokenError, PyJWKError

from wallet.credentials import jsontext, multikey
from wallet.credentials.multikey import InvalidKey, UnsupportedKey
from wallet.credentials.reasons import Reason
from wallet.credentials.timestamps import parse_timestamp

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyResolver = Callable[[str], PublicKey]
IssuerKeysResolver = Callable[[str], list[tuple[str, PublicKey]]]
"""Issuer id → its (verification method id, public key) pairs; raises LookupError when unreachable."""

ALGORITHMS = ("EdDSA", "ES256", "ES384", "RS256", "PS256")
MIN_RSA_BITS = 2048
FORBIDDEN_ALGORITHMS = frozenset({"none", "HS256", "HS384", "HS512"})
_EC_ALGORITHMS = {"ES256": "secp256r1", "ES384": "secp384r1"}
_JWK_CURVES = {"OKP": ("Ed25519",), "EC": ("P-256", "P-384", "P-521"), "RSA": (None,)}
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"


class VcJwtError(ValueError):
    """The token is not a compact JWS carrying a credential, or its claims contradict it (``code`` says which)."""

    def __init__(self, message: str, code: Reason = Reason.PROOF_JWT_MALFORMED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class JwtProofCheck:
    """Same fields as ``dataintegrity.ProofCheck`` so the pipeline treats both proofs alike."""

    ok: bool
    verification_method: str | None
    cryptosuite: str | None
    reason: str
    indeterminate: bool = False
    code: Reason = Reason.PROOF_VERIFIED
    warnings: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class VcJwt:
    """A verified (or not) token: the decoded credential, its header and claims, and the proof check."""

    credential: dict[str, Any] | None
    header: dict[str, Any]
    claims: dict[str, Any]
    check: JwtProofCheck
    key: PublicKey | None = None
    """The key whose signature verified (None unless ``check.ok``)."""


def _b64url_json(segment: str) -> Any:
    try:
        return jsontext.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise VcJwtError(f"JWS segment is not base64url JSON: {exc}") from exc


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) without checking anything — for sniffing formats and finding the key."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise VcJwtError("not a compact JWS (expected three dot-separated parts)")
    header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise VcJwtError("JWS header and payload must be JSON objects")
    return header, claims


def jwk_to_public_key(jwk: Mapping[str, Any]) -> PublicKey:
    """A public key from a JWK.

    Raises :class:`~wallet.credentials.multikey.InvalidKey` (a ValueError) for a JWK that is no public
    key — private material (``d``), a symmetric ``oct`` key, a point off its curve, a key of the wrong
    length — and :class:`~wallet.credentials.multikey.UnsupportedKey` for a well-formed key type we do
    not implement (``secp256k1``, ``X25519``, …).
    """
    if not isinstance(jwk, Mapping):
        raise InvalidKey("a JWK must be a JSON object")
    if "d" in jwk or "p" in jwk:
        raise InvalidKey("the JWK contains private key material")
    kty = jwk.get("kty")
    if kty == "oct":
        raise InvalidKey("a symmetric JWK is not a public key")
    if kty not in _JWK_CURVES:
        raise UnsupportedKey(f"JWK key type {kty!r} is not supported")
    if kty != "RSA" and jwk.get("crv") not in _JWK_CURVES[kty]:
        raise UnsupportedKey(f"JWK curve {jwk.get('crv')!r} is not supported")
    try:
        key = pyjwt.PyJWK(dict(jwk)).key
    except (PyJWKError, InvalidTokenError, pyjwt.exceptions.PyJWTError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidKey(f"unusable JWK: {exc}") from exc
    except Exception as exc:  # the key parsers' own errors for hostile numbers and lengths
        raise InvalidKey(f"unusable JWK: {type(exc).__name__}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise InvalidKey(f"the JWK is not a public key of type {kty!r}")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise InvalidKey(f"a {key.key_size}-bit RSA key is too short to sign anything (at least {MIN_RSA_BITS})")
    return key


def same_key(left: PublicKey, right: PublicKey) -> bool:
    """Whether two public keys are the same key (compared by their SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return left.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == right.public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


def did_jwk_key(did_or_vm: str) -> PublicKey:
    """The key a ``did:jwk`` DID (or its ``#0`` verification method) encodes."""
    identifier = did_or_vm.split("#", 1)[0]
    if not identifier.startswith("did:jwk:"):
        raise InvalidKey(f"not a did:jwk: {did_or_vm}")
    try:
        jwk = _b64url_json(identifier.removeprefix("did:jwk:"))
    except VcJwtError as exc:
        raise InvalidKey(f"malformed did:jwk: {exc}") from exc
    if not isinstance(jwk, dict):
        raise InvalidKey("malformed did:jwk")
    return jwk_to_public_key(jwk)


def did_jwk_for(public_key: PublicKey) -> str:
    """``did:jwk`` for a public key (issuers and tests use it; the ``#0`` suffix names the method)."""
    algorithm = pyjwt.get_algorithm_by_name(_algorithm_for_key(public_key))
    jwk = json.loads(algorithm.to_jwk(public_key))
    encoded = base64.urlsafe_b64encode(json.dumps(jwk, separators=(",", ":")).encode()).rstrip(b"=")
    return "did:jwk:" + encoded.decode()


def _algorithm_for_key(key: PublicKey | PrivateKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        for algorithm, curve in _EC_ALGORITHMS.items():
            if key.curve.name == curve:
                return algorithm
        raise ValueError(f"unsupported curve {key.curve.name}")
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    raise ValueError(f"unsupported key type {type(key).__name__}")


def _suits(alg: str, key: PublicKey) -> bool:
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey)
    if alg in _EC_ALGORITHMS:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _EC_ALGORITHMS[alg]
    return isinstance(key, rsa.RSAPublicKey)


def _token_issuer(claims: Mapping[str, Any]) -> str | None:
    if isinstance(claims.get("iss"), str):
        return claims["iss"]
    vc = claims.get("vc") if isinstance(claims.get("vc"), Mapping) else claims
    issuer = vc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return issuer_id if isinstance(issuer_id, str) and issuer_id else None


def _find_keys(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    resolve_key: KeyResolver | None,
    resolve_issuer_keys: IssuerKeysResolver | None,
) -> list[tuple[PublicKey, str | None]]:
    """Candidate (key, verification method id) pairs from the header, or from the issuer's document.

    Raises InvalidKey/ValueError for a malformed key, UnsupportedKey for a type we do not implement and
    LookupError when the key is out of reach.
    """
    kid = header.get("kid")
    if isinstance(kid, str) and kid:
        issuer = _token_issuer(claims)
        if kid.startswith("#") and issuer:
            kid = issuer + kid
        if kid.startswith("did:key:"):
            return [(multikey.public_key_from_did_key(kid), kid)]
        if kid.startswith("did:jwk:"):
            return [(did_jwk_key(kid), kid)]
        if resolve_key is None:
            raise LookupError(f"no resolver for key {kid}")
        try:
            return [(resolve_key(kid), kid)]
        except (ValueError, UnsupportedKey):
            raise
        except Exception as exc:
            raise LookupError(f"key {kid} could not be fetched: {exc}") from exc
    jwk = header.get("jwk")
    if jwk is not None:
        return [(jwk_to_public_key(jwk), None)]
    issuer = _token_issuer(claims)
    if issuer is None:
        raise InvalidKey("the JOSE header has neither kid nor jwk, and the token names no issuer")
    if resolve_issuer_keys is None:
        raise LookupError(f"no network access to fetch the keys of issuer {issuer}")
    try:
        found = resolve_issuer_keys(issuer)
    except (ValueError, UnsupportedKey):
        raise
    except Exception as exc:
        raise LookupError(f"the keys of issuer {issuer} could not be fetched: {exc}") from exc
    return [(key, method) for method, key in found]


def _numeric_date(value: Any) -> datetime:
    """A JWT NumericDate (RFC 7519 §2): a JSON number of seconds; anything else raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a JSON number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("outside the range of dates") from exc


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def merge_vc_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The credential a VC-JWT payload encodes, its registered claims folded in (VC 1.1 §6.3.1).

    Raises :class:`VcJwtError` when a claim contradicts the property it stands for.
    """
    if isinstance(claims.get("vc"), dict):
        credential = copy.deepcopy(claims["vc"])
    elif "@context" in claims:
        return copy.deepcopy(dict(claims))
    else:
        raise VcJwtError("the JWT has no vc claim and is not itself a credential")
    contexts = credential.get("@context")
    is_v2 = contexts == VC2_CONTEXT or (isinstance(contexts, list) and VC2_CONTEXT in contexts)

    if "iss" in claims:
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
        if issuer_id is None:
            if isinstance(issuer, dict):
                issuer["id"] = claims["iss"]
            else:
                credential["issuer"] = claims["iss"]
        elif issuer_id != claims["iss"]:
            raise VcJwtError(
                f"iss {claims['iss']!r} does not match issuer id {issuer_id!r}", Reason.PROOF_JWT_CLAIM_MISMATCH
            )
    if "jti" in claims and credential.setdefault("id", claims["jti"]) != claims["jti"]:
        raise VcJwtError(
            f"jti {claims['jti']!r} does not match credential id {credential['id']!r}", Reason.PROOF_JWT_CLAIM_MISMATCH
        )
    if "sub" in claims:
        subject = credential.setdefault("credentialSubject", {})
        if isinstance(subject, dict) and subject.setdefault("id", claims["sub"]) != claims["sub"]:
            raise VcJwtError(
                f"sub {claims['sub']!r} does not match credentialSubject.id {subject['id']!r}",
                Reason.PROOF_JWT_CLAIM_MISMATCH,
            )
    for claim, v1_name, v2_name in (
        ("nbf", "issuanceDate", "validFrom"),
        ("exp", "expirationDate", "validUntil"),
    ):
        if claim not in claims:
            continue
        try:
            moment = _numeric_date(claims[claim])
        except ValueError as exc:
            raise VcJwtError(f"{claim} is not a NumericDate: {exc}") from exc
        name = v2_name if is_v2 or v2_name in credential else v1_name
        existing = credential.get(name)
        if existing is None:
            credential[name] = _iso(moment)
        else:
            parsed = parse_timestamp(existing)
            if parsed is None or int(parsed.timestamp()) != int(moment.timestamp()):
                raise VcJwtError(f"{claim} does not match {name} {existing!r}", Reason.PROOF_JWT_CLAIM_MISMATCH)
    return credential


def verify_vc_jwt(
    token: str,
    *,
    resolve_key: KeyResolver | None = None,
    resolve_issuer_keys: IssuerKeysResolver | None = None,
) -> VcJwt:
    """Check a VC-JWT's signature and decode its credential.

    Never raises for a bad token: the outcome is in ``.check`` (``indeterminate`` when the key could not
    be fetched or the algorithm is not implemented). ``.credential`` is ``None`` only when the payload is
    not a credential at all. ``resolve_issuer_keys`` is asked for the issuer's keys when the header has
    neither ``kid`` nor ``jwk``; the key that verifies is the one reported.
    """
    try:
        header, claims = decode_unverified(token)
    except VcJwtError as exc:
        return VcJwt(None, {}, {}, JwtProofCheck(False, None, None, str(exc), code=Reason.CREDENTIAL_UNREADABLE))
    alg = header.get("alg")
    suite = f"jwt:{alg}"
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    try:
        credential: dict[str, Any] | None = merge_vc_claims(claims)
        merge_problem: VcJwtError | None = None
    except VcJwtError as exc:
        credential, merge_problem = (
            (copy.deepcopy(claims.get("vc")) if isinstance(claims.get("vc"), dict) else None),
            exc,
        )

    def result(
        ok: bool,
        method: str | None,
        reason: str,
        code: Reason,
        *,
        indeterminate: bool = False,
        key: PublicKey | None = None,
    ) -> VcJwt:
        return VcJwt(credential, header, claims, JwtProofCheck(ok, method, suite, reason, indeterminate, code), key)

    if not isinstance(alg, str) or alg in FORBIDDEN_ALGORITHMS or alg.startswith("HS"):
        return result(False, kid, f"algorithm {alg!r} is not allowed for credentials", Reason.PROOF_ALGORITHM_FORBIDDEN)
    if alg not in ALGORITHMS:
        return result(
            False,
            kid,
            f"algorithm {alg} is not implemented here",
            Reason.PROOF_ALGORITHM_UNSUPPORTED,
            indeterminate=True,
        )
    try:
        candidates = _find_keys(header, claims, resolve_key, resolve_issuer_keys)
    except UnsupportedKey as exc:
        return result(
            False, kid, str(exc), getattr(exc, "code", Reason.PROOF_DID_METHOD_UNSUPPORTED), indeterminate=True
        )
    except LookupError as exc:
        return result(False, kid, str(exc), Reason.PROOF_KEY_UNRESOLVABLE, indeterminate=True)
    except ValueError as exc:
        return result(False, kid, f"unusable key: {exc}", Reason.PROOF_KEY_INVALID)
    suitable = [(key, method) for key, method in candidates if _suits(alg, key)]
    if not suitable:
        method = candidates[0][1] if len(candidates) == 1 else kid
        return result(False, method, f"algorithm {alg} does not suit the signing key", Reason.PROOF_KEY_TYPE_MISMATCH)
    for key, method in suitable:
        try:
            pyjwt.PyJWS().decode(token.strip(), key=key, algorithms=[alg])
        except InvalidTokenError:
            continue
        if merge_problem is not None:
            return result(False, method, str(merge_problem), merge_problem.code)
        return result(True, method, "signature verified", Reason.PROOF_VERIFIED, key=key)
    method = suitable[0][1] if len(suitable) == 1 else kid
    return result(False, method, "signature does not verify", Reason.PROOF_SIGNATURE_MISMATCH)


def sign_vc_jwt(
    credential: Mapping[str, Any],
    *,
    private_key: PrivateKey,
    kid: str | None,
    alg: str | None = None,
    embed_jwk: bool = True,
) -> str:
    """Encode ``credential`` as a VC 1.1-style JWT (``vc`` claim plus iss/sub/nbf/exp/jti) and sign it.

    With ``kid=None`` the public key is embedded as a ``jwk`` header instead, unless ``embed_jwk`` is
    False (then the verifier finds the key in the issuer's document, OB 3.0 §8.2).
    """
    algorithm = alg or _algorithm_for_key(private_key)
    if algorithm not in ALGORITHMS or not _suits(algorithm, private_key.public_key()):
        raise ValueError(f"algorithm {algorithm} does not suit a {type(private_key).__name__}")
    issuer = credential.get("issuer")
    claims: dict[str, Any] = {"vc": dict(credential)}
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id:
        claims["iss"] = issuer_id
    if credential.get("id"):
        claims["jti"] = credential["id"]
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    for claim, names in (("nbf", ("validFrom", "issuanceDate")), ("exp", ("validUntil", "expirationDate"))):
        for name in names:
            moment = parse_timestamp(credential.get(name))
            if moment is not None:
                claims[claim] = int(moment.timestamp())
                break
    headers: dict[str, Any] = {"typ": "JWT"}
    if kid:
        headers["kid"] = kid
    elif embed_jwk:
        public = pyjwt.get_algorithm_by_name(algorithm).to_jwk(private_key.public_key(), as_dict=True)
        headers["jwk"] = public
    return pyjwt.encode(claims, private_key, algorithm=algorithm, headers=headers)
