"""Test material for the learner's store: signed test credentials (a did:key issuer we control), a real
HTTP server on 127.0.0.1 for status lists and OB 2.0 issuers, and helpers to import through the API."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from wallet.credentials import dataintegrity, multikey
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential, set_bit

ISSUER_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ISSUER = multikey.did_key_for(ISSUER_KEY)
METHOD = multikey.verification_method_id(ISSUER_KEY)
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
STATUS_INDEX = 77

Reply = tuple[int, dict[str, str], bytes]


def json_reply(document: Any, *, status: int = 200, content_type: str = "application/json") -> Reply:
    return status, {"Content-Type": content_type}, json.dumps(document).encode()


class LocalServer:
    """A real HTTP server on 127.0.0.1 whose routes a test may change while it runs."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[], Reply]] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path)
                status, headers, body = (
                    (404, {"Content-Type": "text/plain"}, b"gone")
                    if route is None
                    else (route() if callable(route) else route)
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def badge(
    *,
    name: str = "Welding 101",
    credential_id: str | None = None,
    valid_from: str = "2026-01-15T09:00:00Z",
    status_url: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """An unsigned OB 3.0 credential from our did:key issuer."""
    credential: dict[str, Any] = {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": ISSUER, "type": ["Profile"], "name": "Riverside Community College"},
        "validFrom": valid_from,
        "name": name,
        "credentialSubject": {
            "id": "did:example:learner-7",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"https://riverside.example/achievements/{name.lower().replace(' ', '-')}",
                "type": ["Achievement"],
                "name": name,
                "description": "Completed supervised practice.",
                "criteria": {"narrative": "Pass the practical assessment."},
            },
        },
    }
    if status_url:
        credential["credentialStatus"] = {
            "id": f"{status_url}#{STATUS_INDEX}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(STATUS_INDEX),
            "statusListCredential": status_url,
        }
    credential.update(changes)
    return credential


def signed(document: dict[str, Any], *, cryptosuite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
    return dataintegrity.sign(
        document,
        private_key=ISSUER_KEY,
        verification_method=METHOD,
        created="2026-01-15T09:00:00Z",
        cryptosuite=cryptosuite,
    )


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


OB2_CONTEXT = "https://w3id.org/openbadges/v2"
OB2_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Ob2Issuer:
    """A tiny Open Badges 2.0 issuer site on the local server: profile, badge class, key, hosted assertions."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        pem = (
            OB2_KEY.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        server.routes.update(
            {
                "/issuer": json_reply(
                    {
                        "@context": OB2_CONTEXT,
                        "id": server.url("/issuer"),
                        "type": "Profile",
                        "name": "Harbour Maker Space",
                        "url": server.url("/"),
                        "email": "badges@harbour.example",
                        "publicKey": server.url("/key"),
                        "revocationList": server.url("/revocations"),
                    }
                ),
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
                "/key": json_reply(
                    {
                        "@context": OB2_CONTEXT,
                        "id": server.url("/key"),
                        "type": "CryptographicKey",
                        "owner": server.url("/issuer"),
                        "publicKeyPem": pem,
                    }
                ),
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
