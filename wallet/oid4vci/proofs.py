"""Checking a wallet's key proof (OpenID4VCI 1.0 Appendix F.1 ``jwt`` and F.4 "Verifying Proof").

A proof is a JWT typed ``openid4vci-proof+jwt``, signed with ``EdDSA`` (Ed25519) or ``ES256`` (P-256)
by the key named in its header — ``kid`` as a ``did:key`` or ``did:jwk`` DID URL, or an embedded public
``jwk`` — with ``aud`` = our Credential Issuer Identifier, a recent ``iat`` and a ``nonce`` from our nonce
endpoint. The holder is the DID of that key: the ``kid``'s DID, or ``did:jwk`` of the ``jwk``. The nonce
itself is spent by the caller after the signature is checked (a forged proof cannot burn a nonce).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.exceptions import InvalidAudienceError, InvalidTokenError, MissingRequiredClaimError, PyJWTError

from wallet.credentials import multikey
from wallet.credentials.jwt import PublicKey, VcJwtError, decode_unverified, did_jwk_for, did_jwk_key, jwk_to_public_key
from wallet.errors import DomainError
from wallet.oid4vci.metadata import PROOF_ALGORITHMS, PROOF_JWT_TYPE

PROOF_MAX_AGE = dt.timedelta(minutes=5)
PROOF_CLOCK_SKEW = dt.timedelta(seconds=60)
MAX_DID_LENGTH = 512


@dataclass(frozen=True)
class KeyProof:
    holder_did: str
    algorithm: str
    nonce: str


def _invalid(detail: str) -> DomainError:
    return DomainError("oid4vci.invalid_proof", detail)


def _algorithm_for(key: PublicKey) -> str | None:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "ES256"
    return None


def _holder_key(header: dict[str, Any]) -> tuple[PublicKey, str]:
    if "x5c" in header:
        raise _invalid("x5c key proofs are not supported; name the key with kid (did:key, did:jwk) or jwk.")
    kid, jwk = header.get("kid"), header.get("jwk")
    if (kid is None) == (jwk is None):
        raise _invalid("The proof header needs exactly one of kid and jwk.")
    try:
        if jwk is not None:
            if not isinstance(jwk, dict):
                raise ValueError("jwk is not an object")
            key = jwk_to_public_key(jwk)
            if _algorithm_for(key) is None:
                raise ValueError("only Ed25519 and P-256 keys are accepted")
            return key, did_jwk_for(key)
        if not isinstance(kid, str):
            raise ValueError("kid is not a string")
        did = kid.split("#", 1)[0]
        if kid.startswith("did:key:"):
            return multikey.resolve_did_key(kid), did
        if kid.startswith("did:jwk:"):
            if "#" in kid and kid.split("#", 1)[1] != "0":
                raise ValueError("a did:jwk key is named #0")
            return did_jwk_key(kid), did
    except (ValueError, TypeError, LookupError, PyJWTError) as error:
        # Off-curve points, unsupported key types, keys of the wrong length, non-string coordinates:
        # whatever the parser says, the wallet hears invalid_proof (never a 500).
        raise _invalid(f"The proof key is unusable: {error}.") from error
    raise _invalid("kid must be a did:key or did:jwk DID URL (or send the key as jwk).")


def verify_key_proof(token: str, *, audience: str, now: dt.datetime) -> KeyProof:
    """Check one ``jwt`` key proof; ``oid4vci.invalid_proof`` says what is wrong with it."""
    try:
        header, claims = decode_unverified(token)
    except VcJwtError as error:
        raise _invalid("The key proof is not a compact JWS.") from error
    if header.get("typ") != PROOF_JWT_TYPE:
        raise _invalid(f"The key proof's typ must be {PROOF_JWT_TYPE}.")
    alg = header.get("alg")
    if alg not in PROOF_ALGORITHMS:
        raise _invalid(f"The key proof's alg must be one of {', '.join(PROOF_ALGORITHMS)}.")
    key, holder_did = _holder_key(header)
    if _algorithm_for(key) != alg:
        raise _invalid(f"alg {alg} does not suit the proof's key.")
    if len(holder_did) > MAX_DID_LENGTH:
        raise _invalid("The holder's DID is too long.")
    try:
        pyjwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=audience,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["aud", "iat"]},
        )
    except InvalidAudienceError as error:
        raise _invalid(f"The key proof's aud must be the credential issuer {audience}.") from error
    except MissingRequiredClaimError as error:
        raise _invalid(f"The key proof has no {error.claim} claim.") from error
    except InvalidTokenError as error:
        raise _invalid("The key proof's signature does not verify with the key in its header.") from error
    issued_at = claims.get("iat")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float) or not math.isfinite(issued_at):
        raise _invalid("The key proof's iat must be a NumericDate.")
    # Compared as numbers, never turned into a datetime: 1e20 or -1e300 seconds is no date any clock holds.
    if issued_at < (now - PROOF_MAX_AGE).timestamp():
        raise _invalid("The key proof is too old; sign a new one.")
    if issued_at > (now + PROOF_CLOCK_SKEW).timestamp():
        raise _invalid("The key proof was issued in the future; check the phone's clock.")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise _invalid("The key proof has no nonce; get a c_nonce from the nonce endpoint.")
    return KeyProof(holder_did, alg, nonce)
