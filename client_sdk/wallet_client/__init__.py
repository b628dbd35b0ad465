"""Learner Wallet's Python SDK: the API client, the offline replica and sync.

Depends only on ``httpx`` and the shared rules in ``wallet_protocol``; never on the server package.
"""

from wallet_client.client import MemoryTokenStore, Tokens, TokenStore, WalletClient
from wallet_client.errors import (
    AuthError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    SignedOut,
    TransportError,
    ValidationFailed,
    WalletError,
)
from wallet_client.offline import OfflineWallet, ReplicaTokenStore, SyncReport

__all__ = [
    "AuthError",
    "Conflict",
    "Forbidden",
    "MemoryTokenStore",
    "NotFound",
    "OfflineWallet",
    "RateLimited",
    "ReplicaTokenStore",
    "ServerError",
    "SignedOut",
    "SyncReport",
    "TokenStore",
    "Tokens",
    "TransportError",
    "ValidationFailed",
    "WalletClient",
    "WalletError",
]
