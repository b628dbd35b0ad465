"""The ORM models, one module per domain. Importing this package registers every table on
``Base.metadata`` (Alembic's autogenerate and the tests rely on that)."""

from wallet.db import Base
from wallet.models.accounts import Account, AccountCode, Device, RefreshToken
from wallet.models.claims import (
    Claim,
    ClaimCode,
    ClaimSession,
    ClaimStatus,
    JobLock,
    PinFailure,
    SessionMode,
    SessionState,
)
from wallet.models.holding import HeldCredential
from wallet.models.issuing import Achievement, IssuedCredential, IssuerKey, StatusList
from wallet.models.oid4vci import AccessToken, HolderClaim, Nonce, PreAuthorizedCode
from wallet.models.organisations import Membership, Organisation, Role
from wallet.models.ratelimit import RateLimitBucket
from wallet.models.sharing import ShareLink, ShareTarget
from wallet.models.sync import SyncClient, SyncRow, SyncWallet

__all__ = [
    "AccessToken",
    "Account",
    "AccountCode",
    "Achievement",
    "Base",
    "Claim",
    "ClaimCode",
    "ClaimSession",
    "ClaimStatus",
    "Device",
    "HeldCredential",
    "HolderClaim",
    "IssuedCredential",
    "IssuerKey",
    "JobLock",
    "Membership",
    "Nonce",
    "Organisation",
    "PinFailure",
    "PreAuthorizedCode",
    "RateLimitBucket",
    "RefreshToken",
    "Role",
    "SessionMode",
    "SessionState",
    "ShareLink",
    "ShareTarget",
    "StatusList",
    "SyncClient",
    "SyncRow",
    "SyncWallet",
]
