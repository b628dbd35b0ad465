"""VC-JWT: credentials secured as a compact JWS, the external-proof form Open Badges 3.0 allows.

OB 3.0 uses the VC Data Model 1.1 JWT encoding: the credential sits in the ``vc`` claim, and the
registered claims stand in for credential properties — ``iss`` for ``issuer.id``, ``nbf`` for
``issuanceDate`` (``validFrom`` in VC 2.0), ``exp`` for ``expirationDate`` (``validUntil``), ``jti`` for
``id``, ``sub`` for ``credentialSubject.id``. Verifying means checking the signature, then *decoding*:
filling each property from its claim when missing and rejecting the token when both exist and disagree
(OB 3.0 "Verify a Credential VC-JWT Signature"). A VC-JOSE 2.0 token whose payload is the credential
itself is accepted too.

The key comes from the header: ``kid`` as ``did:key`` (Ed25519), ``did:jwk``, or — through the caller's
``resolve_key`` — an https URL; or from an embedded public ``jwk``. Only EdDSA, ES256 and RS256 are
accepted, and the algorithm must suit the key (no ``none``, no HMAC with a public key as secret).

Time claims are *not* enforced here: validity is a separate verification check, so a well-signed but
expired token still reports ``proof`` as passed and ``validity`` as failed.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.exceptions import InvalidTokenError, PyJWKError

from wallet.credentials import jsontext, multikey
from wallet.credentials.timestamps import parse_timestamp

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyResolver = Callable[[str], PublicKey]

ALGORITHMS = ("EdDSA", "ES256", "RS256")
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"


class VcJwtError(ValueError):
    """The token is not a compact JWS carrying a credential."""


@dataclass(frozen=True)
class JwtProofCheck:
    """Same fields as ``dataintegrity.ProofCheck`` so the pipeline treats both proofs alike."""

    ok: bool
    verification_method: str | None
    cryptosuite: str | None
    reason: str
    indeterminate: bool = False


@dataclass(frozen=True)
class VcJwt:
    """A verified (or not) token: the decoded credential, its header and claims, and the proof check."""

    credential: dict[str, Any] | None
    header: dict[str, Any]
    claims: dict[str, Any]
    check: JwtProofCheck


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
    """A public key from a JWK; a JWK carrying private material (``d``) is refused."""
    if "d" in jwk or "p" in jwk:
        raise ValueError("the JWK contains private key material")
    try:
        key = pyjwt.PyJWK(dict(jwk)).key
    except (PyJWKError, InvalidTokenError, ValueError, TypeError) as exc:
        raise ValueError(f"unusable JWK: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError(f"unsupported JWK key type {jwk.get('kty')!r}")
    return key


def did_jwk_key(did_or_vm: str) -> PublicKey:
    """The key a ``did:jwk`` DID (or its ``#0`` verification method) encodes."""
    identifier = did_or_vm.split("#", 1)[0]
    if not identifier.startswith("did:jwk:"):
        raise ValueError(f"not a did:jwk: {did_or_vm}")
    try:
        jwk = _b64url_json(identifier.removeprefix("did:jwk:"))
    except VcJwtError as exc:
        raise ValueError(f"malformed did:jwk: {exc}") from exc
    if not isinstance(jwk, dict):
        raise ValueError("malformed did:jwk")
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
        if key.curve.name != "secp256r1":
            raise ValueError(f"unsupported curve {key.curve.name}")
        return "ES256"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    raise ValueError(f"unsupported key type {type(key).__name__}")


def _find_key(header: Mapping[str, Any], resolve_key: KeyResolver | None) -> tuple[PublicKey, str | None]:
    """(key, verification method id) from the header; raises LookupError when the key is out of reach."""
    kid = header.get("kid")
    if isinstance(kid, str) and kid:
        if kid.startswith("did:key:"):
            return multikey.resolve_did_key(kid), kid
        if kid.startswith("did:jwk:"):
            return did_jwk_key(kid), kid
        if resolve_key is None:
            raise LookupError(f"no resolver for key {kid}")
        try:
            return resolve_key(kid), kid
        except ValueError:
            raise
        except Exception as exc:
            raise LookupError(f"key {kid} could not be fetched: {exc}") from exc
    jwk = header.get("jwk")
    if isinstance(jwk, dict):
        return jwk_to_public_key(jwk), None
    raise ValueError("the JOSE header has neither kid nor jwk")


def _numeric_date(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


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
            raise VcJwtError(f"iss {claims['iss']!r} does not match issuer id {issuer_id!r}")
    if "jti" in claims and credential.setdefault("id", claims["jti"]) != claims["jti"]:
        raise VcJwtError(f"jti {claims['jti']!r} does not match credential id {credential['id']!r}")
    if "sub" in claims:
        subject = credential.setdefault("credentialSubject", {})
        if isinstance(subject, dict) and subject.setdefault("id", claims["sub"]) != claims["sub"]:
            raise VcJwtError(f"sub {claims['sub']!r} does not match credentialSubject.id {subject['id']!r}")
    for claim, v1_name, v2_name in (
        ("nbf", "issuanceDate", "validFrom"),
        ("exp", "expirationDate", "validUntil"),
    ):
        if claim not in claims:
            continue
        try:
            moment = _numeric_date(claims[claim])
        except (TypeError, ValueError, OverflowError) as exc:
            raise VcJwtError(f"{claim} is not a NumericDate") from exc
        name = v2_name if is_v2 or v2_name in credential else v1_name
        existing = credential.get(name)
        if existing is None:
            credential[name] = _iso(moment)
        else:
            parsed = parse_timestamp(existing)
            if parsed is None or int(parsed.timestamp()) != int(moment.timestamp()):
                raise VcJwtError(f"{claim} does not match {name} {existing!r}")
    return credential


def verify_vc_jwt(token: str, *, resolve_key: KeyResolver | None = None) -> VcJwt:
    """Check a VC-JWT's signature and decode its credential.

    Never raises for a bad token: the outcome is in ``.check`` (``indeterminate`` when the key could not
    be fetched). ``.credential`` is ``None`` only when the payload is not a credential at all.
    """
    try:
        header, claims = decode_unverified(token)
    except VcJwtError as exc:
        return VcJwt(None, {}, {}, JwtProofCheck(False, None, None, str(exc)))
    alg = header.get("alg")
    suite = f"jwt:{alg}"
    try:
        credential: dict[str, Any] | None = merge_vc_claims(claims)
        merge_problem = None
    except VcJwtError as exc:
        credential, merge_problem = (
            (copy.deepcopy(claims.get("vc")) if isinstance(claims.get("vc"), dict) else None),
            str(exc),
        )
    if alg not in ALGORITHMS:
        return VcJwt(
            credential,
            header,
            claims,
            JwtProofCheck(False, header.get("kid"), suite, f"algorithm {alg!r} is not accepted"),
        )
    try:
        key, method = _find_key(header, resolve_key)
    except LookupError as exc:
        return VcJwt(
            credential,
            header,
            claims,
            JwtProofCheck(False, header.get("kid"), suite, str(exc), indeterminate=True),
        )
    except ValueError as exc:
        return VcJwt(credential, header, claims, JwtProofCheck(False, header.get("kid"), suite, f"unusable key: {exc}"))
    try:
        if _algorithm_for_key(key) != alg:
            raise ValueError(f"algorithm {alg} does not suit a {type(key).__name__}")
        pyjwt.decode(
            token.strip(),
            key=key,
            algorithms=[alg],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
    except (InvalidTokenError, ValueError) as exc:
        return VcJwt(
            credential,
            header,
            claims,
            JwtProofCheck(False, method, suite, f"signature does not verify: {exc}"),
        )
    if merge_problem:
        return VcJwt(credential, header, claims, JwtProofCheck(False, method, suite, merge_problem))
    return VcJwt(credential, header, claims, JwtProofCheck(True, method, suite, "signature verified"))


def sign_vc_jwt(
    credential: Mapping[str, Any], *, private_key: PrivateKey, kid: str | None, alg: str | None = None
) -> str:
    """Encode ``credential`` as a VC 1.1-style JWT (``vc`` claim plus iss/sub/nbf/exp/jti) and sign it.

    With ``kid=None`` the public key is embedded as a ``jwk`` header instead.
    """
    algorithm = alg or _algorithm_for_key(private_key)
    if algorithm != _algorithm_for_key(private_key):
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
    else:
        public = pyjwt.get_algorithm_by_name(algorithm).to_jwk(private_key.public_key(), as_dict=True)
        headers["jwk"] = public
    return pyjwt.encode(claims, private_key, algorithm=algorithm, headers=headers)
