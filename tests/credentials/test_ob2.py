"""Importing Open Badges 2.0: hosted and signed assertions from a real (local) issuer server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.credential_factories import LocalServer, json_reply, ob2_key, ob2_profile
from wallet.credentials.fetcher import GuardedFetcher
from wallet.credentials.ob2 import Ob2Error, import_ob2

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CONTEXT = "https://w3id.org/openbadges/v2"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RECIPIENT = {
    "type": "email",
    "hashed": True,
    "salt": "deadsea",
    "identity": "sha256$c7ef86405ba71b85acd8e2e95166c4b111448089f2e1599f42fe1bba46e865c5",
}


class Issuer:
    """A tiny OB 2.0 issuer site: profile, badge class, key, revocation list and hosted assertions."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.profile = ob2_profile(server)
        self.badge = {
            "@context": CONTEXT,
            "id": server.url("/badge"),
            "type": "BadgeClass",
            "name": "Laser Cutter Safety",
            "description": "Trained to operate the laser cutter safely.",
            "image": server.url("/badge.png"),
            "criteria": {"narrative": "Attend the induction."},
            "issuer": server.url("/issuer"),
        }
        self.revoked: list[dict] = []
        server.routes.update(
            {
                "/issuer": lambda: json_reply(self.profile),
                "/badge": lambda: json_reply(self.badge),
                "/key": json_reply(ob2_key(server, KEY)),
                "/revocations": lambda: json_reply(
                    {
                        "@context": CONTEXT,
                        "id": server.url("/revocations"),
                        "type": "RevocationList",
                        "revokedAssertions": self.revoked,
                    }
                ),
            }
        )

    def assertion(self, path: str, *, verification: dict, **changes) -> dict:
        document = {
            "@context": CONTEXT,
            "id": self.server.url(path),
            "type": "Assertion",
            "recipient": RECIPIENT,
            "badge": self.server.url("/badge"),
            "issuedOn": "2024-03-01T10:00:00Z",
            "verification": verification,
        }
        document.update(changes)
        return document

    def host(self, path: str, **changes) -> dict:
        document = self.assertion(path, verification={"type": "hosted"}, **changes)
        self.server.routes[path] = json_reply(document)
        return document

    def sign(self, path: str, **changes) -> str:
        document = self.assertion(path, verification={"type": "signed", "creator": self.server.url("/key")}, **changes)
        return pyjwt.PyJWS().encode(json.dumps(document).encode(), KEY, algorithm="RS256")


@pytest.fixture
def issuer():
    with LocalServer() as server:
        yield Issuer(server)


@pytest.fixture
def fetcher():
    return GuardedFetcher(allow_private=True, timeout=2.0)


def outcomes(imported) -> dict[str, str]:
    return {check.name: check.outcome for check in imported.checks}


def test_a_hosted_assertion_is_imported_with_its_badge_and_issuer(issuer, fetcher):
    issuer.host("/assertions/1")
    imported = import_ob2(issuer.server.url("/assertions/1"), fetcher=fetcher, now=NOW)
    assert imported.outcome == "valid", imported.to_dict()
    assert imported.badge["name"] == "Laser Cutter Safety"
    assert imported.issuer["name"] == "Harbour Maker Space"
    assert imported.recipient == RECIPIENT
    assert imported.issued_on == "2024-03-01T10:00:00Z"
    assert imported.image == issuer.server.url("/badge.png")
    assert imported.verification_type == "hosted"


def test_baked_hosted_json_is_checked_against_the_hosted_copy(issuer, fetcher):
    hosted = issuer.host("/assertions/2")
    baked = dict(hosted, issuedOn="2020-01-01T00:00:00Z")
    imported = import_ob2(baked, fetcher=fetcher, now=NOW)
    assert imported.issued_on == "2024-03-01T10:00:00Z"


def test_a_hosted_assertion_whose_id_is_elsewhere_is_invalid(issuer, fetcher):
    issuer.host("/assertions/3", id="https://other.example/assertions/3")
    imported = import_ob2(issuer.server.url("/assertions/3"), fetcher=fetcher, now=NOW)
    assert imported.outcome == "invalid"
    assert "is not its URL" in next(c.detail for c in imported.checks if c.name == "proof")


def test_a_hosted_assertion_outside_the_issuers_allowed_origins_is_invalid(issuer, fetcher):
    issuer.profile["verification"] = {"type": "hosted", "startsWith": "https://badges.harbour.example/"}
    issuer.host("/assertions/4")
    imported = import_ob2(issuer.server.url("/assertions/4"), fetcher=fetcher, now=NOW)
    assert outcomes(imported)["issuer_key"] == "failed"


def test_a_revoked_hosted_assertion_is_reported(issuer, fetcher):
    issuer.server.routes["/assertions/5"] = json_reply({"revoked": True}, status=410)
    with pytest.raises(Ob2Error, match="revoked"):
        import_ob2(issuer.server.url("/assertions/5"), fetcher=fetcher, now=NOW)


def test_an_unreachable_hosted_assertion_cannot_be_imported(issuer, fetcher):
    with pytest.raises(Ob2Error, match="could not be fetched"):
        import_ob2(issuer.server.url("/assertions/missing"), fetcher=fetcher, now=NOW)


def test_an_expired_hosted_assertion_is_invalid_at_validity(issuer, fetcher):
    issuer.host("/assertions/6", expires="2025-01-01T00:00:00Z")
    imported = import_ob2(issuer.server.url("/assertions/6"), fetcher=fetcher, now=NOW)
    assert outcomes(imported)["validity"] == "failed"
    assert imported.expires == "2025-01-01T00:00:00Z"


def test_a_signed_assertion_verifies_with_the_issuers_key(issuer, fetcher):
    imported = import_ob2(issuer.sign("/assertions/7"), fetcher=fetcher, now=NOW)
    assert imported.outcome == "valid", imported.to_dict()
    assert imported.verification_type == "signed"
    assert outcomes(imported)["status"] == "passed"


def test_a_tampered_signed_assertion_is_invalid(issuer, fetcher):
    header, _payload, signature = issuer.sign("/assertions/8").split(".")
    other_payload = issuer.sign("/assertions/8", issuedOn="2024-03-02T10:00:00Z").split(".")[1]
    imported = import_ob2(f"{header}.{other_payload}.{signature}", fetcher=fetcher, now=NOW)
    assert outcomes(imported)["proof"] == "failed"


def test_a_signed_assertion_on_the_revocation_list_is_invalid_at_status(issuer, fetcher):
    issuer.revoked.append({"id": issuer.server.url("/assertions/9"), "revocationReason": "Issued in error"})
    imported = import_ob2(issuer.sign("/assertions/9"), fetcher=fetcher, now=NOW)
    assert imported.outcome == "invalid"
    assert next(c.detail for c in imported.checks if c.name == "status") == "revoked: Issued in error"


def test_an_unreachable_revocation_list_makes_a_signed_assertion_indeterminate(issuer, fetcher):
    del issuer.server.routes["/revocations"]
    imported = import_ob2(issuer.sign("/assertions/10"), fetcher=fetcher, now=NOW)
    assert imported.outcome == "indeterminate"


def test_a_key_owned_by_someone_else_is_invalid_at_issuer_key(issuer, fetcher):
    issuer.profile["id"] = "https://impostor.example/issuer"
    imported = import_ob2(issuer.sign("/assertions/11"), fetcher=fetcher, now=NOW)
    assert outcomes(imported)["issuer_key"] == "failed"


def test_a_signed_assertion_cannot_be_imported_without_its_signature(issuer, fetcher):
    document = issuer.assertion("/assertions/12", verification={"type": "SignedBadge"})
    with pytest.raises(Ob2Error, match="JWS"):
        import_ob2(document, fetcher=fetcher, now=NOW)
