"""The app's state, built once by ``create_app()`` and kept in ``app.extensions["wallet"]``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from wallet.accounts.services import TokenPolicy
from wallet.claims.policy import ClaimConfig
from wallet.config import Settings
from wallet.instance_secrets import InstanceSecrets
from wallet.sync.actions import ActionTable


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    clock: Callable[[], dt.datetime] = utc_now
    extras: dict[str, Any] = field(default_factory=dict)
