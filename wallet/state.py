"""The app's state, built once by ``create_app()`` and kept in ``app.extensions["wallet"]``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from wallet.accounts.services import TokenPolicy
from wallet.claims.policy import ClaimConfig
from wallet.config import Settings
from wallet.credentials.fetcher import LocalFirstFetcher
from wallet.holding.registry import RegistryFile
from wallet.instance_secrets import InstanceSecrets
from wallet.pathways.services import Recognise
from wallet.sharing.fetching import ImageCache
from wallet.sharing.limits import MissLimiter
from wallet.sharing.verdict import VerificationCache
from wallet.sync.actions import ActionTable


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class SharingState:
    """The share pages' per-app caches and counters."""

    reports: VerificationCache = field(default_factory=VerificationCache)
    images: ImageCache = field(default_factory=ImageCache)
    misses: MissLimiter = field(default_factory=MissLimiter)


@dataclass
class WalletState:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    secrets: InstanceSecrets
    hasher: PasswordHasher
    token_policy: TokenPolicy
    claims: ClaimConfig
    """The claim keys (codes, PINs, display links), derived once from the instance secrets."""
    actions: ActionTable
    """The server actions a sync performs (:func:`wallet.sync.actions.action_handlers`)."""
    recognise: Recognise
    """Awards what imported credentials complete (:func:`wallet.pathways.services.recogniser`)."""
    clock: Callable[[], dt.datetime] = utc_now
    fetcher: LocalFirstFetcher | None = None
    """The app's one fetcher (:func:`wallet.fetching.build_fetcher`), bound to the request's session."""
    sharing: SharingState = field(default_factory=SharingState)
    issuer_registry: RegistryFile | None = None
    """The operator's issuer registry file (``WALLET_ISSUER_REGISTRY``), re-read when it changes."""
