"""The credential endpoint: a proved key receives the session's badge, under every limit of the session.

Order (the same contract as :mod:`wallet.claims.redeem`, docs/interop.md "Limits"):

1. the access token (``invalid_token``), the request's shape, the key proof, then its nonce (spent once);
2. the token binds to the first holder it issues for — a token (one pre-authorized code) never serves
   two keys;
3. a holder that already claimed in the session gets the same credential back (no second place taken);
4. pause, close, time window and a spent card at this moment (``claim.*``), moderation;
5. admission, the very path our app's claims take (:func:`wallet.claims.admission.admit`, the holder's
   DID as the claimant): the claim row, the card, issuance, the cap — one transaction, so a failure
   leaves nothing behind.

Both formats are the same credential: the ``eddsa-rdfc-2022``-signed document recorded at issuance
(``ldp_vc``), or that document without its proof, signed as a VC-JWT by the same key (``jwt_vc_json``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from wallet.claims.admission import Claimant, admit, existing_claim
from wallet.claims.policy import ClaimConfig
from wallet.claims.redeem import check_session_open
from wallet.credentials.jwt import sign_vc_jwt
from wallet.errors import DomainError
from wallet.issuing.keys import private_key_of
from wallet.issuing.profiles import key_for_method
from wallet.models import AccessToken, ClaimCode, ClaimSession, HolderClaim, IssuedCredential
from wallet.oid4vci.grants import authorise, refuse_moderated, spend_nonce
from wallet.oid4vci.metadata import CONFIGURATION_IDS, LDP_VC, issuer_identifier
from wallet.oid4vci.proofs import verify_key_proof


@dataclass(frozen=True)
class CredentialRequest:
    configuration_id: str
    proof_jwt: str


def _bad_request(detail: str) -> DomainError:
    return DomainError("oid4vci.invalid_credential_request", detail)


def parse_credential_request(body: Any) -> CredentialRequest:
    """The Credential Request (§8.2): one ``credential_configuration_id`` and one ``jwt`` key proof.

    The draft-13 ``proof`` object (``{"proof_type": "jwt", "jwt": …}``) is read too: many wallets in the
    field still send it.
    """
    if not isinstance(body, Mapping):
        raise _bad_request("The credential request must be a JSON object.")
    if body.get("credential_response_encryption") is not None:
        raise DomainError("oid4vci.invalid_encryption_parameters", "Encrypted credential responses are not offered.")
    if "credential_identifier" in body:
        raise _bad_request("This issuer returns no credential_identifiers; send credential_configuration_id.")
    configuration_id = body.get("credential_configuration_id")
    if not isinstance(configuration_id, str) or not configuration_id:
        raise _bad_request("credential_configuration_id is missing.")
    if configuration_id not in CONFIGURATION_IDS:
        raise DomainError(
            "oid4vci.unknown_credential_configuration",
            f"Unknown credential configuration; this issuer offers {', '.join(CONFIGURATION_IDS)}.",
        )
    proofs = body.get("proofs")
    legacy = body.get("proof")
    if proofs is None and isinstance(legacy, Mapping) and legacy.get("proof_type") == "jwt":
        proofs = {"jwt": [legacy.get("jwt")]}
    if not isinstance(proofs, Mapping) or not proofs:
        raise DomainError("oid4vci.invalid_proof", "The request has no proofs; send one jwt key proof.")
    if set(proofs) != {"jwt"}:
        raise DomainError("oid4vci.invalid_proof", "Only the jwt proof type is supported.")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts or not all(isinstance(item, str) and item for item in jwts):
        raise DomainError("oid4vci.invalid_proof", "proofs.jwt must be a non-empty array of JWTs.")
    if len(jwts) > 1:
        raise _bad_request("Batch issuance is not supported; send exactly one key proof.")
    return CredentialRequest(configuration_id, jwts[0])


@dataclass(frozen=True)
class HolderIssuance:
    credential: dict[str, Any] | str
    """The JSON object (``ldp_vc``) or the compact JWT (``jwt_vc_json``)."""
    created: bool
    """False when the holder had already claimed in this session: the same credential again."""
    claim: HolderClaim


def issue_to_holder(
    db: Session, *, access_token: str | None, body: Any, config: ClaimConfig, now: dt.datetime
) -> HolderIssuance:
    """The credential endpoint; see the module docstring for the order of checks."""
    token = authorise(db, access_token=access_token, now=now)
    request = parse_credential_request(body)
    proof = verify_key_proof(request.proof_jwt, audience=issuer_identifier(config.base_url), now=now)
    spend_nonce(db, nonce=proof.nonce, now=now)
    bound = db.execute(
        update(AccessToken)
        .where(
            AccessToken.id == token.id,
            or_(AccessToken.holder_did.is_(None), AccessToken.holder_did == proof.holder_did),
        )
        .values(holder_did=proof.holder_did)
        .returning(AccessToken.id)
    ).first()
    if bound is None:
        raise DomainError("oid4vci.token_bound", "This access token already issued a credential to another key.")
    session = db.get(ClaimSession, token.session_id)
    assert session is not None  # a foreign key with ON DELETE CASCADE guarantees it
    claimant = Claimant(holder_did=proof.holder_did)
    existing = existing_claim(db, session_id=session.id, claimant=claimant)
    if isinstance(existing, HolderClaim):
        return HolderIssuance(_render(db, existing, request.configuration_id, config), False, existing)
    card = db.get(ClaimCode, token.claim_code_id) if token.claim_code_id is not None else None
    check_session_open(session, card, scan_time=now)
    refuse_moderated(session)
    admission = admit(
        db, session=session, card=card, claimant=claimant, scan_time=now, scanned_at=None, config=config, now=now
    )
    claim = admission.claim
    assert isinstance(claim, HolderClaim)
    return HolderIssuance(_render(db, claim, request.configuration_id, config), admission.created, claim)


def _render(db: Session, claim: HolderClaim, configuration_id: str, config: ClaimConfig) -> dict[str, Any] | str:
    issued = db.get(IssuedCredential, claim.issued_credential_id) if claim.issued_credential_id else None
    if issued is None:
        raise DomainError("claim.rejected", "The credential issued for this key no longer exists.")
    document: dict[str, Any] = json.loads(issued.credential_json)
    if configuration_id == LDP_VC:
        return document
    if claim.credential_jwt is None:
        claim.credential_jwt = _as_vc_jwt(db, document, organisation_id=issued.organisation_id, kek=config.kek)
        db.flush()
    return claim.credential_jwt


def _as_vc_jwt(db: Session, document: dict[str, Any], *, organisation_id: uuid.UUID, kek: bytes) -> str:
    """The recorded credential, proof removed, signed as a VC-JWT by the key that signed its proof.

    ``iss`` is the credential's issuer DID and ``kid`` the proof's verification method, which that DID
    controls (did-jwt-vc and OB 3.0 §8.2 resolve the key through them)."""
    method = document["proof"]["verificationMethod"]
    key = key_for_method(db, organisation_id=organisation_id, method=method)
    if key is None:
        raise DomainError("claim.rejected", "The key that signed this credential is gone.")
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    return sign_vc_jwt(unsecured, private_key=private_key_of(key, kek=kek), kid=method)
