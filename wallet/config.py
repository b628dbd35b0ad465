"""Configuration, declared once.

Every setting has a default and a comment here, and can be overridden by an environment variable
named ``WALLET_<NAME>``. The README's configuration table is generated from (and tested against)
``SETTINGS``. Secrets are not settings with defaults: they are generated on first run and kept in
the instance folder (see :mod:`wallet.instance_secrets`), unless given explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """The service's settings. Field metadata ``doc`` is the README's description."""

    database_url: str = field(
        default="",
        metadata={
            "doc": "SQLAlchemy URL. Empty: a SQLite file `wallet.sqlite3` in the instance folder. "
            "`postgresql+psycopg://user@host/db` selects PostgreSQL."
        },
    )
    instance_path: str = field(
        default="",
        metadata={"doc": "Folder for the SQLite file, generated secrets and uploads. Empty: `./instance`."},
    )
    base_url: str = field(
        default="http://127.0.0.1:5000",
        metadata={"doc": "Public https origin of the service, used in credentials, QR codes and share links."},
    )
    secret_key: str = field(
        default="",
        metadata={
            "doc": "Key that signs access tokens and codes. Empty: generated on first run and kept "
            "in `instance/secrets.json` (mode 0600).",
            "secret": True,
        },
    )
    key_encryption_key: str = field(
        default="",
        metadata={
            "doc": "Base64 32-byte key that encrypts issuer signing keys at rest. Empty: generated "
            "on first run and kept in `instance/secrets.json` (mode 0600).",
            "secret": True,
        },
    )
    access_token_ttl_seconds: int = field(
        default=900, metadata={"doc": "Lifetime of an access token (short: a stolen one expires soon)."}
    )
    refresh_token_ttl_days: int = field(
        default=90, metadata={"doc": "Lifetime of a refresh token; each refresh issues a new one."}
    )
    refresh_grace_seconds: int = field(
        default=60,
        metadata={
            "doc": "Seconds after a refresh during which the same client may present the spent refresh "
            "token again (same `idempotency_key`) and get the same new pair back, so a lost answer "
            "does not sign the device out. 0: strict rotation. See docs/security.md."
        },
    )
    max_request_bytes: int = field(default=2_000_000, metadata={"doc": "Largest request body accepted (413 above it)."})
    cors_origins: tuple[str, ...] = field(
        default=(), metadata={"doc": "Comma-separated origins allowed to call the API from a browser."}
    )
    log_level: str = field(default="INFO", metadata={"doc": "Log level (DEBUG, INFO, WARNING, ERROR)."})
    log_json: bool = field(default=True, metadata={"doc": "Structured JSON logs (one object per line)."})
    trust_proxy: bool = field(
        default=False,
        metadata={"doc": "Trust one reverse proxy's X-Forwarded-* headers (for client IPs and HSTS)."},
    )
    run_scheduler: bool = field(
        default=True,
        metadata={
            "doc": "`wallet serve` also runs the background jobs (single-machine default). Set false "
            "when `wallet scheduler` runs them for a multi-worker deployment."
        },
    )
    fetch_allow_private: bool = field(
        default=False,
        metadata={"doc": "Let the credential fetcher reach private/loopback addresses (tests only)."},
    )
    issuer_registry: str = field(
        default="",
        metadata={
            "doc": "Path of a JSON issuer registry (the DCC registry format, or a list of `{did, name}`) "
            "naming issuers elsewhere that pages may call known. Empty: only organisations on this "
            "server are known issuers; see docs/credentials.md."
        },
    )
    password_hash_profile: str = field(
        default="RFC_9106_LOW_MEMORY",
        metadata={
            "doc": "argon2id cost profile: `RFC_9106_LOW_MEMORY` (64 MiB, 3 passes). The test suite "
            "uses `CHEAPEST`; never use that in production."
        },
    )
    sync_tombstone_horizon_days: int = field(
        default=90, metadata={"doc": "Sync tombstones older than this are purged; older devices reset."}
    )
    ratelimit_login_per_ip_per_minute: int = field(
        default=30,
        metadata={
            "doc": "Sign-in attempts per minute from one client IP (a whole class behind one school "
            "router shares it). 0 turns the limit off."
        },
    )
    ratelimit_login_per_username_per_minute: int = field(
        default=5,
        metadata={
            "doc": "Sign-in attempts per minute for one username, from anywhere (slows password "
            "guessing). 0 turns the limit off."
        },
    )
    ratelimit_signup_per_ip_per_hour: int = field(
        default=100,
        metadata={
            "doc": "Sign-ups per hour from one client IP (room for a workshop signing up together). "
            "0 turns the limit off."
        },
    )
    ratelimit_refresh_per_ip_per_minute: int = field(
        default=120,
        metadata={"doc": "Token refreshes per minute from one client IP. 0 turns the limit off."},
    )
    ratelimit_claim_code_per_account_per_minute: int = field(
        default=30,
        metadata={
            "doc": "Claim codes one signed-in learner may have judged per minute, on every path together "
            "(API, sync, claim page). 0 turns the limit off."
        },
    )
    ratelimit_claim_code_per_ip_per_minute: int = field(
        default=120,
        metadata={
            "doc": "Claim codes judged per minute for one client IP on every path together (landing page, "
            "forms, API, sync, OpenID4VCI offer and token); a room behind one router shares it. 0 turns "
            "the limit off."
        },
    )
    ratelimit_claim_code_per_ip_per_day: int = field(
        default=2000,
        metadata={
            "doc": "Claim codes judged per day for one client IP, on every path together (bounds typed-code "
            "guessing). 0 turns the limit off."
        },
    )

    ratelimit_reset_codes_per_staff_per_hour: int = field(
        default=30,
        metadata={
            "doc": "Password reset codes one youth worker or admin may issue per hour (a code is handed "
            "over in person; many in an hour is a stolen staff account). 0 turns the limit off."
        },
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``WALLET_*`` variables, then explicit overrides (tests)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = f"WALLET_{spec.name.upper()}"
            if name not in env:
                continue
            raw = env[name]
            if spec.type in ("int", int):
                values[spec.name] = int(raw)
            elif spec.type in ("bool", bool):
                values[spec.name] = _bool(raw)
            elif spec.type in ("tuple[str, ...]",):
                values[spec.name] = _csv(raw)
            else:
                values[spec.name] = raw
        values.update(overrides)
        return cls(**values)

    def resolved_instance_path(self) -> Path:
        return Path(self.instance_path or Path.cwd() / "instance").resolve()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_instance_path() / 'wallet.sqlite3'}"


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) rows for the README."""
    rows = []
    for spec in fields(Settings):
        default = spec.default
        if isinstance(default, tuple):
            default = ",".join(default)
        rows.append((f"WALLET_{spec.name.upper()}", str(default), spec.metadata["doc"]))
    return rows
