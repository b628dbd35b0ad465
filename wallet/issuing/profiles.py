"""Who an organisation is in its credentials: its issuer DID, the ``Profile`` embedded in what it signs,
and the documents that publish its keys.

Identity scheme (docs/credentials.md "Issuer identity"): ``issuer.id`` is the DID that controls the
signing key, because standard verifiers (vc.js's ``CredentialIssuancePurpose``, the DCC verifier,
did-jwt-vc) accept a credential only when the issuer is the controller of the proof's key.

* A deployment with a public https origin gives each organisation ``did:web`` named after its profile
  URL — ``https://wallet.example/issuers/makerspace-north`` is
  ``did:web:wallet.example:issuers:makerspace-north`` — whose DID document
  (``/issuers/<slug>/did.json``) lists every key the organisation ever had, so a rotation keeps older
  credentials verifying. Its keys are ``<did>#<publicKeyMultibase>``.
* Anywhere else (plain http, ``localhost``, an IP address: the embedded default) nobody could resolve a
  did:web, so the issuer is the active key's own ``did:key``; a rotation there starts a new DID.

The profile URL ``{base_url}/issuers/{slug}`` stays the organisation's public page and is the Profile's
``url``. Its JSON-LD document keeps listing the keys as a controller document, which is how credentials
issued before this scheme (``issuer.id`` = the profile URL, a did:key proof) go on verifying here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.credentials.dids import did_web_for_url, public_https_origin
from wallet.issuing.keys import all_keys
from wallet.models import IssuerKey, Organisation

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
PROFILE_DOCUMENT_CONTEXT = (VC_CONTEXT, OB_CONTEXT, DID_CONTEXT, MULTIKEY_CONTEXT)
DID_DOCUMENT_CONTEXT = (DID_CONTEXT, MULTIKEY_CONTEXT)


def profile_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/issuers/{slug}"


def uses_did_web(base_url: str) -> bool:
    """Whether organisations on this deployment are ``did:web`` (else each key is its own ``did:key``)."""
    return public_https_origin(base_url)


def organisation_did_web(base_url: str, slug: str) -> str:
    """``did:web:<host>:issuers:<slug>`` (only meaningful where :func:`uses_did_web`)."""
    return did_web_for_url(profile_url(base_url, slug))


def issuer_did(organisation: Organisation, key: IssuerKey, *, base_url: str) -> str:
    """The DID a credential signed by ``key`` names as its issuer."""
    if uses_did_web(base_url):
        return organisation_did_web(base_url, organisation.slug)
    return key.did


def signing_method(organisation: Organisation, key: IssuerKey, *, base_url: str) -> str:
    """The verification method id a proof by ``key`` names (controlled by :func:`issuer_did`)."""
    if uses_did_web(base_url):
        return f"{organisation_did_web(base_url, organisation.slug)}#{key.public_key_multibase}"
    return key.verification_method


def key_for_method(db: Session, *, organisation_id: uuid.UUID, method: str) -> IssuerKey | None:
    """The organisation's key a verification method names, in either form (the fragment is its multibase)."""
    fragment = method.partition("#")[2]
    if not fragment:
        return None
    return db.scalar(
        select(IssuerKey).where(
            IssuerKey.organisation_id == organisation_id, IssuerKey.public_key_multibase == fragment
        )
    )


def issuer_profile(organisation: Organisation, *, base_url: str, key: IssuerKey) -> dict[str, Any]:
    """The ``issuer`` of a credential ``key`` signs: the issuer DID plus the OB 3.0 Profile data."""
    profile: dict[str, Any] = {
        "id": issuer_did(organisation, key, base_url=base_url),
        "type": ["Profile"],
        "name": organisation.name,
        "url": profile_url(base_url, organisation.slug),
    }
    if organisation.description:
        profile["description"] = organisation.description
    return profile


def profile_document(db: Session, *, organisation: Organisation, base_url: str) -> dict[str, Any]:
    """The JSON-LD document served at the profile URL: the Profile plus every key, current first.

    ``id`` is the profile URL, as credentials issued before DIDs named it; retired keys stay listed under
    ``assertionMethod`` because credentials signed before a rotation remain valid (a key to be distrusted
    would be removed instead). ``url`` is the organisation's own website, when it gave one.
    """
    keys = all_keys(db, organisation_id=organisation.id)
    document: dict[str, Any] = {
        "@context": list(PROFILE_DOCUMENT_CONTEXT),
        "id": profile_url(base_url, organisation.slug),
        "type": ["Profile"],
        "name": organisation.name,
    }
    if organisation.url:
        document["url"] = organisation.url
    if organisation.description:
        document["description"] = organisation.description
    if uses_did_web(base_url):
        document["alsoKnownAs"] = [organisation_did_web(base_url, organisation.slug)]
    document["verificationMethod"] = [
        {
            "id": key.verification_method,
            "type": "Multikey",
            "controller": key.did,
            "publicKeyMultibase": key.public_key_multibase,
        }
        for key in keys
    ]
    document["assertionMethod"] = [key.verification_method for key in keys]
    return document


def did_document(db: Session, *, organisation: Organisation, base_url: str) -> dict[str, Any] | None:
    """The organisation's did:web DID document (every key it ever had), or ``None`` without did:web."""
    if not uses_did_web(base_url):
        return None
    did = organisation_did_web(base_url, organisation.slug)
    keys = all_keys(db, organisation_id=organisation.id)
    methods = [f"{did}#{key.public_key_multibase}" for key in keys]
    return {
        "@context": list(DID_DOCUMENT_CONTEXT),
        "id": did,
        "alsoKnownAs": [profile_url(base_url, organisation.slug)],
        "verificationMethod": [
            {"id": method, "type": "Multikey", "controller": did, "publicKeyMultibase": key.public_key_multibase}
            for method, key in zip(methods, keys, strict=True)
        ],
        "assertionMethod": methods,
    }


def organisation_for_issuer(db: Session, *, issuer_id: str, base_url: str) -> Organisation | None:
    """The organisation here that ``issuer_id`` names: its did:web, one of its did:keys, or its profile URL.

    This only says which organisation an identifier belongs to; whether a credential's key is really the
    issuer's is the verifier's ``issuer_key`` check.
    """
    prefix = profile_url(base_url, "")
    slug: str | None = None
    if issuer_id.startswith(prefix) and "/" not in issuer_id[len(prefix) :]:
        slug = issuer_id[len(prefix) :]
    elif uses_did_web(base_url):
        did_prefix = organisation_did_web(base_url, "x")[:-1]
        if issuer_id.startswith(did_prefix) and ":" not in issuer_id[len(did_prefix) :]:
            slug = issuer_id[len(did_prefix) :]
    if slug:
        return db.scalar(select(Organisation).where(Organisation.slug == slug))
    if issuer_id.startswith("did:key:"):
        return db.scalar(
            select(Organisation)
            .join(IssuerKey, IssuerKey.organisation_id == Organisation.id)
            .where(IssuerKey.did == issuer_id)
        )
    return None
