"""What the service publishes about itself: Credential Issuer metadata and OAuth server metadata.

Both are static for a deployment (they depend on the base URL only): one ``OpenBadgeCredential`` in two
formats. Per-badge names and images live in the credentials themselves, which every wallet shows.

Decision (docs/interop.md): credentials are signed with the organisation's Ed25519 key only, so
``jwt_vc_json`` advertises ``EdDSA`` as its signing algorithm; ``ES256`` is accepted for the *holder's*
key proofs (P-256 keys are what phone secure elements hold), not used to sign credentials.
"""

from __future__ import annotations

from typing import Any

from wallet.issuing.profiles import OB_CONTEXT, VC_CONTEXT

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_JWT_TYPE = "openid4vci-proof+jwt"
OFFER_SCHEME = "openid-credential-offer://"

LDP_VC = "OpenBadgeCredential_ldp_vc"
JWT_VC_JSON = "OpenBadgeCredential_jwt_vc_json"
CONFIGURATION_IDS = (LDP_VC, JWT_VC_JSON)

PROOF_ALGORITHMS = ("EdDSA", "ES256")
BINDING_METHODS = ("did:key", "did:jwk")
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")

TOKEN_PATH = "/oid4vci/token"  # noqa: S105 - a URL path, not a secret
NONCE_PATH = "/oid4vci/nonce"
CREDENTIAL_PATH = "/oid4vci/credential"
OFFER_PATH = "/oid4vci/offer"


def issuer_identifier(base_url: str) -> str:
    """The Credential Issuer Identifier: the service's base URL, exactly as the metadata states it."""
    return base_url.rstrip("/")


def _display_claims() -> list[dict[str, Any]]:
    def claim(path: list[str], name: str) -> dict[str, Any]:
        return {"path": path, "display": [{"name": name, "locale": "en"}]}

    return [
        claim(["credentialSubject", "achievement", "name"], "Badge"),
        claim(["credentialSubject", "achievement", "description"], "Description"),
        claim(["credentialSubject", "achievement", "criteria", "narrative"], "Criteria"),
        claim(["issuer", "name"], "Issued by"),
        claim(["validFrom"], "Issued on"),
    ]


def _configuration(fmt: str) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": list(CREDENTIAL_TYPES)}
    if fmt == "ldp_vc":
        definition = {"@context": [VC_CONTEXT, OB_CONTEXT], **definition}
    return {
        "format": fmt,
        "cryptographic_binding_methods_supported": list(BINDING_METHODS),
        "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"] if fmt == "ldp_vc" else ["EdDSA"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGORITHMS)}},
        "credential_definition": definition,
        "credential_metadata": {
            "display": [
                {
                    "name": "Open Badge",
                    "locale": "en",
                    "description": "An Open Badges 3.0 achievement, earned on the spot at a workshop or event.",
                }
            ],
            "claims": _display_claims(),
        },
    }


def credential_issuer_metadata(base_url: str, *, service_name: str = "Learner Wallet") -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer`` (OpenID4VCI 1.0 §12.2)."""
    issuer = issuer_identifier(base_url)
    return {
        "credential_issuer": issuer,
        "credential_endpoint": issuer + CREDENTIAL_PATH,
        "nonce_endpoint": issuer + NONCE_PATH,
        "display": [{"name": service_name, "locale": "en"}],
        "credential_configurations_supported": {
            LDP_VC: _configuration("ldp_vc"),
            JWT_VC_JSON: _configuration("jwt_vc_json"),
        },
    }


def authorization_server_metadata(base_url: str) -> dict[str, Any]:
    """``/.well-known/oauth-authorization-server`` (RFC 8414): the issuer is its own authorization server.

    Only the pre-authorized code grant exists, so ``response_types_supported`` is omitted as OpenID4VCI
    allows, and token requests need no client authentication.
    """
    issuer = issuer_identifier(base_url)
    return {
        "issuer": issuer,
        "token_endpoint": issuer + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }
