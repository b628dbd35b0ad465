"""Test material for the learner's store: signed test credentials (a did:key issuer we control), status
lists and an OB 2.0 issuer on a real HTTP server on 127.0.0.1 (the shared pieces live in
:mod:`tests.credential_factories`; they are re-exported here for the store's tests)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.credential_factories import (
    ISSUER,
    ISSUER_KEY,
    METHOD,
    OB2_CONTEXT,
    OB3_CONTEXT,
    VC2_CONTEXT,
    LocalServer,
    json_reply,
    ob2_key,
    ob2_profile,
    ob3_badge,
    sign_as,
)
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential, set_bit

__all__ = [
    "ISSUER",
    "ISSUER_KEY",
    "METHOD",
    "OB3_CONTEXT",
    "VC2_CONTEXT",
    "LocalServer",
    "Ob2Issuer",
    "badge",
    "json_reply",
    "signed",
    "signed_bytes",
    "status_list_credential",
    "tamper",
]

STATUS_INDEX = 77


def badge(
    *,
    name: str = "Welding 101",
    credential_id: str | None = None,
    valid_from: str = "2026-01-15T09:00:00Z",
    status_url: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An unsigned OB 3.0 credential from our did:key issuer."""
    credential = ob3_badge(
        credential_id=credential_id or f"urn:uuid:{uuid.uuid4()}",
        issuer_name="Riverside Community College",
        valid_from=valid_from,
        name=name,
        achievement_id=f"https://riverside.example/achievements/{name.lower().replace(' ', '-')}",
        achievement_name=name,
        description="Completed supervised practice.",
        narrative="Pass the practical assessment.",
        status_url=status_url,
        status_index=STATUS_INDEX,
    )
    credential.update(changes)
    return credential


def signed(document: dict[str, Any], *, cryptosuite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
    return sign_as(document, created="2026-01-15T09:00:00Z", cryptosuite=cryptosuite)


def signed_bytes(**changes: Any) -> bytes:
    return json.dumps(signed(badge(**changes))).encode()


def status_list_credential(url: str, *, revoked: bool) -> dict[str, Any]:
    bits = bytearray(MIN_BITS // 8)
    if revoked:
        set_bit(bits, STATUS_INDEX)
    unsigned = build_status_list_credential(
        list_id=url, issuer=ISSUER, purpose="revocation", bits=bits, valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    return signed(unsigned)


def tamper(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["achievement"]["name"] = "Master Welder"
    return changed


OB2_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Ob2Issuer:
    """A tiny Open Badges 2.0 issuer site on the local server: profile, badge class, key, hosted assertions."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        server.routes.update(
            {
                "/issuer": json_reply(ob2_profile(server)),
                "/badge": json_reply(
                    {
                        "@context": OB2_CONTEXT,
                        "id": server.url("/badge"),
                        "type": "BadgeClass",
                        "name": "Laser Cutter Safety",
                        "description": "Trained on the laser cutter.",
                        "image": server.url("/badge.png"),
                        "criteria": {"narrative": "Induction."},
                        "issuer": server.url("/issuer"),
                    }
                ),
                "/key": json_reply(ob2_key(server, OB2_KEY)),
                "/revocations": json_reply(
                    {
                        "@context": OB2_CONTEXT,
                        "id": server.url("/revocations"),
                        "type": "RevocationList",
                        "revokedAssertions": [],
                    }
                ),
            }
        )

    def assertion(self, path: str, *, verification: dict[str, Any]) -> dict[str, Any]:
        return {
            "@context": OB2_CONTEXT,
            "id": self.server.url(path),
            "type": "Assertion",
            "recipient": {"type": "email", "hashed": False, "identity": "sam@example.org"},
            "badge": self.server.url("/badge"),
            "issuedOn": "2026-03-01T10:00:00Z",
            "verification": verification,
        }

    def host(self, path: str) -> bytes:
        """Publish a hosted assertion; returns the exact bytes the server serves."""
        body = json.dumps(self.assertion(path, verification={"type": "hosted"}), indent=1).encode()
        self.server.routes[path] = (200, {"Content-Type": "application/json"}, body)
        return body

    def sign(self, path: str) -> str:
        document = self.assertion(path, verification={"type": "signed", "creator": self.server.url("/key")})
        return pyjwt.PyJWS().encode(json.dumps(document).encode(), OB2_KEY, algorithm="RS256")
