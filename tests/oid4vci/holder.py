"""A standards wallet, written from OpenID4VCI 1.0 (final) alone — it knows nothing of this service's code.

It holds its own key (Ed25519 as did:key, or P-256 as did:jwk, or P-256 sent as a bare ``jwk``), reads an
``openid-credential-offer://`` URI by value or by reference, discovers the issuer and authorization-server
metadata, trades the pre-authorized code (+ ``tx_code``) at the token endpoint, fetches a ``c_nonce``,
signs an ``openid4vci-proof+jwt`` and requests the credential. Every protocol failure is raised as
:class:`OAuthFailure` carrying the response's ``error``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import base58
import httpx
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
KeyStyle = Literal["did:key", "did:jwk", "jwk"]


class OAuthFailure(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.error = body.get("error")
        self.description = body.get("error_description", "")
        self.code = body.get("code")
        super().__init__(f"{status} {self.error}: {self.description} ({self.code})")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class HolderKey:
    """The wallet's key and how it names it in proofs."""

    style: KeyStyle = "did:key"
    private: Any = None

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = (
                ed25519.Ed25519PrivateKey.generate()
                if self.style == "did:key"
                else (ec.generate_private_key(ec.SECP256R1()))
            )

    @property
    def alg(self) -> str:
        return "EdDSA" if isinstance(self.private, ed25519.Ed25519PrivateKey) else "ES256"

    def public_jwk(self) -> dict[str, str]:
        public = self.private.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw))}
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }

    @property
    def did(self) -> str:
        if self.style == "did:key":
            raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            return "did:key:z" + base58.b58encode(b"\xed\x01" + raw).decode()
        return "did:jwk:" + _b64url(json.dumps(self.public_jwk(), separators=(",", ":")).encode())

    def header(self) -> dict[str, Any]:
        if self.style == "jwk":
            return {"jwk": self.public_jwk()}
        fragment = self.did.removeprefix("did:key:") if self.style == "did:key" else "0"
        return {"kid": f"{self.did}#{fragment}"}


@dataclass
class Holder:
    http: httpx.Client
    clock: Callable[[], float]
    """Seconds since the epoch, as the phone's clock says (tests pass the server's fake clock)."""
    key: HolderKey = field(default_factory=HolderKey)

    # --- Offer and metadata -------------------------------------------------------------------------

    def read_offer(self, uri: str) -> dict[str, Any]:
        """§4.1: exactly one of ``credential_offer`` (by value) and ``credential_offer_uri`` (by reference)."""
        parts = urlsplit(uri)
        assert parts.scheme == "openid-credential-offer", uri
        query = parse_qs(parts.query)
        assert len(query) == 1 and len(next(iter(query.values()))) == 1, query
        if "credential_offer" in query:
            return json.loads(query["credential_offer"][0])
        response = self.http.get(query["credential_offer_uri"][0])
        self._check(response)
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    def issuer_metadata(self, issuer: str) -> dict[str, Any]:
        response = self.http.get(_well_known(issuer, "openid-credential-issuer"))
        self._check(response)
        document = response.json()
        assert document["credential_issuer"] == issuer  # §12.2.2: must be identical, else unusable
        return document

    def token_endpoint(self, metadata: dict[str, Any]) -> str:
        server = (metadata.get("authorization_servers") or [metadata["credential_issuer"]])[0]
        response = self.http.get(_well_known(server, "oauth-authorization-server"))
        self._check(response)
        document = response.json()
        assert document["issuer"] == server
        assert PRE_AUTHORIZED in document["grant_types_supported"]
        return document["token_endpoint"]

    # --- Token, nonce, proof, credential ------------------------------------------------------------

    def token(self, endpoint: str, code: str, tx_code: str | None) -> dict[str, Any]:
        form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code}
        if tx_code is not None:
            form["tx_code"] = tx_code
        response = self.http.post(endpoint, data=form)
        self._check(response)
        body = response.json()
        assert body["token_type"].lower() == "bearer" and body["access_token"]
        assert "no-store" in response.headers["cache-control"]
        return body

    def nonce(self, metadata: dict[str, Any]) -> str:
        response = self.http.post(metadata["nonce_endpoint"])
        self._check(response)
        assert "no-store" in response.headers["cache-control"]
        return response.json()["c_nonce"]

    def proof(
        self,
        *,
        audience: str,
        nonce: str | None,
        signer: HolderKey | None = None,
        iat: float | None = None,
        typ: str = "openid4vci-proof+jwt",
    ) -> str:
        """The ``jwt`` key proof (Appendix F.1); ``signer`` lets a test sign with another key than named."""
        claims: dict[str, Any] = {"aud": audience, "iat": int(self.clock() if iat is None else iat)}
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": typ, "alg": self.key.alg, **self.key.header()}
        return pyjwt.encode(claims, (signer or self.key).private, algorithm=self.key.alg, headers=headers)

    def request_credential(self, metadata: dict[str, Any], access_token: str, configuration_id: str, proof: str) -> Any:
        response = self.http.post(
            metadata["credential_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
            json={"credential_configuration_id": configuration_id, "proofs": {"jwt": [proof]}},
        )
        self._check(response)
        body = response.json()
        assert len(body["credentials"]) == 1
        return body["credentials"][0]["credential"]

    def claim(self, offer_uri: str, *, tx_code: str | None = None, configuration: str = "ldp_vc") -> Any:
        """The whole flow, as a wallet runs it after the QR scan and (if asked) the PIN."""
        offer = self.read_offer(offer_uri)
        metadata = self.issuer_metadata(offer["credential_issuer"])
        grant = offer["grants"][PRE_AUTHORIZED]
        configuration_id = next(
            cid
            for cid in offer["credential_configuration_ids"]
            if metadata["credential_configurations_supported"][cid]["format"] == configuration
        )
        supported = metadata["credential_configurations_supported"][configuration_id]
        assert self.key.alg in supported["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
        access = self.token(
            self.token_endpoint(metadata), grant["pre-authorized_code"], tx_code if "tx_code" in grant else None
        )
        proof = self.proof(audience=metadata["credential_issuer"], nonce=self.nonce(metadata))
        return self.request_credential(metadata, access["access_token"], configuration_id, proof)

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/json"), response.text
            raise OAuthFailure(response.status_code, response.json())


def _well_known(identifier: str, name: str) -> str:
    """§12.2.2 / RFC 8414 §3: ``/.well-known/<name>`` goes between the host and the path."""
    parts = urlsplit(identifier)
    return f"{parts.scheme}://{parts.netloc}/.well-known/{name}{parts.path.rstrip('/')}"
