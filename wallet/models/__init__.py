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
from wallet.models.organisations import Membership, MembershipInvitation, Organisation, Role
from wallet.models.pathways import Pathway, PathwayAward, SkillFramework, SkillFrameworkVersion, SkillItem
from wallet.models.ratelimit import RateLimitBucket
from wallet.models.requests import (
    BadgeRequest,
    Endorsement,
    EndorsementSubjectKind,
    EvidenceFile,
    RequestableAchievement,
    RequestMessage,
    RequestStatus,
)
from wallet.models.sharing import ShareLink, ShareTarget
from wallet.models.sync import SyncClient, SyncRow, SyncWallet

__all__ = [
    "AccessToken",
    "Account",
    "AccountCode",
    "Achievement",
    "BadgeRequest",
    "Base",
    "Claim",
    "ClaimCode",
    "ClaimSession",
    "ClaimStatus",
    "Device",
    "Endorsement",
    "EndorsementSubjectKind",
    "EvidenceFile",
    "HeldCredential",
    "HolderClaim",
    "IssuedCredential",
    "IssuerKey",
    "JobLock",
    "Membership",
    "MembershipInvitation",
    "Nonce",
    "Organisation",
    "Pathway",
    "PathwayAward",
    "PinFailure",
    "PreAuthorizedCode",
    "RateLimitBucket",
    "RefreshToken",
    "RequestMessage",
    "RequestStatus",
    "RequestableAchievement",
    "Role",
    "SessionMode",
    "SessionState",
    "ShareLink",
    "ShareTarget",
    "SkillFramework",
    "SkillFrameworkVersion",
    "SkillItem",
    "StatusList",
    "SyncClient",
    "SyncRow",
    "SyncWallet",
]
