"""Signed test credentials from a did:key issuer whose key we hold, and a real HTTP server on 127.0.0.1 for
tests of code that fetches URLs (status lists, OB 2.0 issuer sites, did:web documents).

The server's routes map a path to ``(status, headers, body)`` or to a callable returning one; they can be
changed while it runs (to revoke a credential, or to take a status list down).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from wallet.credentials import dataintegrity, multikey

ISSUER_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ISSUER = multikey.did_key_for(ISSUER_KEY)
METHOD = multikey.verification_method_id(ISSUER_KEY)
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB2_CONTEXT = "https://w3id.org/openbadges/v2"

Reply = tuple[int, dict[str, str], bytes]
Route = Reply | Callable[[], Reply]


def ob3_badge(
    *,
    credential_id: str,
    issuer_name: str,
    valid_from: str,
    name: str,
    achievement_id: str,
    achievement_name: str,
    description: str,
    narrative: str,
    status_url: str | None = None,
    status_index: int = 0,
) -> dict[str, Any]:
    """An unsigned OB 3.0 credential from our did:key issuer to ``did:example:learner-7``."""
    credential: dict[str, Any] = {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": ISSUER, "type": ["Profile"], "name": issuer_name},
        "validFrom": valid_from,
        "name": name,
        "credentialSubject": {
            "id": "did:example:learner-7",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "name": achievement_name,
                "description": description,
                "criteria": {"narrative": narrative},
            },
        },
    }
    if status_url:
        credential["credentialStatus"] = {
            "id": f"{status_url}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_url,
        }
    return credential


def sign_as(
    document: dict[str, Any],
    *,
    created: str,
    key: ed25519.Ed25519PrivateKey = ISSUER_KEY,
    cryptosuite: str = "eddsa-rdfc-2022",
) -> dict[str, Any]:
    """``document`` with a Data Integrity proof by ``key`` (our did:key issuer unless a test forges one)."""
    return dataintegrity.sign(
        document,
        private_key=key,
        verification_method=multikey.verification_method_id(key),
        created=created,
        cryptosuite=cryptosuite,
    )


def json_reply(document: Any, *, status: int = 200, content_type: str = "application/json") -> Reply:
    return status, {"Content-Type": content_type}, json.dumps(document).encode()


class LocalServer:
    """A real HTTP server on 127.0.0.1, serving while its ``with`` block runs; it records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append((self.path, dict(self.headers.items())))
                route = routes.get(self.path)
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                else:
                    status, headers, body = route() if callable(route) else route
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ob2_profile(server: LocalServer) -> dict[str, Any]:
    """The issuer profile of a tiny OB 2.0 issuer site on ``server`` (with its key and revocation list)."""
    return {
        "@context": OB2_CONTEXT,
        "id": server.url("/issuer"),
        "type": "Profile",
        "name": "Harbour Maker Space",
        "url": server.url("/"),
        "email": "badges@harbour.example",
        "publicKey": server.url("/key"),
        "revocationList": server.url("/revocations"),
    }


def ob2_key(server: LocalServer, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The OB 2.0 ``CryptographicKey`` document of that issuer, for checking its signed assertions."""
    return {
        "@context": OB2_CONTEXT,
        "id": server.url("/key"),
        "type": "CryptographicKey",
        "owner": server.url("/issuer"),
        "publicKeyPem": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }
