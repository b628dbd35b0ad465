"""OpenID for Verifiable Credential Issuance 1.0 (final), pre-authorized code flow, over claim sessions.

A standards wallet scans an ``openid-credential-offer://`` QR for a claim session (or one single-use card),
trades the pre-authorized code (+ the session's PIN as ``tx_code``) for an access token, proves a key
with an ``openid4vci-proof+jwt`` and receives the badge bound to that key's DID. Every limit of the
claim session applies through :mod:`wallet.claims.redeem`'s shared steps. docs/interop.md has the rest.
"""
