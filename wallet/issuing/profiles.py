"""The issuer ``Profile`` embedded in credentials, and the public profile document that lists its keys.

An organisation is identified by a stable https URL, ``{base_url}/issuers/{slug}``; its keys are did:key
verification methods. OB 3.0 only says a verifier must "dereference" the proof's key (§ Dereferencing the
Public Key) and leaves key distribution out of scope, so the profile document does what W3C Controlled
Identifiers and Data Integrity expect of a controller document: it embeds each key under
``verificationMethod`` and names it under ``assertionMethod``. A verifier fetches the issuer id, finds the
proof's ``verificationMethod`` listed there, and knows the key speaks for the issuer (see
docs/credentials.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from wallet.issuing.keys import all_keys
from wallet.models import Organisation

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PROFILE_DOCUMENT_CONTEXT = (
    VC_CONTEXT,
    OB_CONTEXT,
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
)


def profile_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/issuers/{slug}"


def issuer_profile(organisation: Organisation, *, base_url: str) -> dict[str, Any]:
    """The ``issuer`` of every credential the organisation signs (no keys: those live at the URL)."""
    profile: dict[str, Any] = {
        "id": profile_url(base_url, organisation.slug),
        "type": ["Profile"],
        "name": organisation.name,
    }
    if organisation.url:
        profile["url"] = organisation.url
    if organisation.description:
        profile["description"] = organisation.description
    return profile


def profile_document(db: Session, *, organisation: Organisation, base_url: str) -> dict[str, Any]:
    """The JSON-LD document served at the profile URL: the Profile plus every key, current first.

    Retired keys stay listed under ``assertionMethod`` because credentials signed before a rotation
    remain valid; a key to be distrusted would be removed instead.
    """
    keys = all_keys(db, organisation_id=organisation.id)
    document = {"@context": list(PROFILE_DOCUMENT_CONTEXT), **issuer_profile(organisation, base_url=base_url)}
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
