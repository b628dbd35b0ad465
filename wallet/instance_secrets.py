"""The service's two secrets: where they come from, and how every node comes to share them.

* ``secret_key`` signs access tokens, claim codes, display links and the browser session (each use
  derives its own key from it, :func:`wallet.accounts.tokens.derive_key`);
* ``key_encryption_key`` (KEK) encrypts issuer signing keys at rest (:mod:`wallet.issuing.keys`).

**One node on SQLite** (the README's two commands): on first start the service writes
``instance/secrets.json`` with mode 0600 (created with ``O_EXCL`` so two workers starting together
cannot both write different keys), and every later start reads the same file. Explicit settings win.

**PostgreSQL** means a database other nodes may share, and a node with its own generated secrets
answers the others' tokens with 401 and cannot open the signing keys they sealed. So there the service
refuses to start unless both ``WALLET_SECRET_KEY`` and ``WALLET_KEY_ENCRYPTION_KEY`` are given
(:class:`MissingSharedSecrets`); ``wallet secrets generate`` prints a pair to give every node.

**Rotation without downtime** (docs/operations.md): a node accepts, besides its current keys, the
previous ones named by ``WALLET_SECRET_KEY_PREVIOUS`` and ``WALLET_KEY_ENCRYPTION_KEY_PREVIOUS``
(comma-separated): tokens and links signed with a previous secret key still verify, and signing keys
sealed under a previous KEK still open. New ones are always made with the current key. ``wallet secrets
rotate-kek`` re-seals every stored signing key under the current KEK, after which the previous KEK can go.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from wallet.config import Settings
from wallet.issuing.keys import KeyEncryptionKeys

KEY_BYTES = 32
SECRET_VARIABLES = ("WALLET_SECRET_KEY", "WALLET_KEY_ENCRYPTION_KEY")


class MissingSharedSecrets(RuntimeError):
    """A shared database (PostgreSQL) without explicitly configured secrets: refuse to start."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"Refusing to start on PostgreSQL without {' and '.join(missing)}. Every node of a PostgreSQL "
            "deployment must use the same WALLET_SECRET_KEY and WALLET_KEY_ENCRYPTION_KEY, so they are never "
            "generated per node. Run `wallet secrets generate` once and give the lines it prints to every "
            "node (see docs/operations.md)."
        )
        self.missing = missing


@dataclass(frozen=True)
class InstanceSecrets:
    secret_key: bytes
    """The current secret key: everything new is signed with it."""
    key_encryption_key: KeyEncryptionKeys
    """The current KEK (its bytes), carrying the previous KEKs still accepted for opening sealed keys."""
    previous_secret_keys: tuple[bytes, ...] = ()
    """Secret keys still accepted for verification during a rotation."""

    @property
    def secret_keys(self) -> tuple[bytes, ...]:
        """Every secret key a signature may verify with, the current one first."""
        return (self.secret_key, *self.previous_secret_keys)


def generate_key() -> str:
    """A fresh 32-byte key, base64url: fit for either secret."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _generate() -> dict[str, str]:
    return {"secret_key": generate_key(), "key_encryption_key": generate_key()}


def _kek_bytes(text: str, variable: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip())
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{variable} must be 32 bytes, base64-encoded") from error
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{variable} must be 32 bytes, base64-encoded")
    return raw


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def load_or_create(
    instance_path: Path,
    *,
    secret_key: str = "",
    key_encryption_key: str = "",
    previous_secret_keys: str = "",
    previous_key_encryption_keys: str = "",
    shared_database: bool = False,
) -> InstanceSecrets:
    """The node's secrets: explicit ones, else (one node only) ``secrets.json``, created if absent.

    ``shared_database`` (PostgreSQL) refuses to fall back on the file: :class:`MissingSharedSecrets`.
    """
    if shared_database:
        missing = [
            name for name, value in zip(SECRET_VARIABLES, (secret_key, key_encryption_key), strict=True) if not value
        ]
        if missing:
            raise MissingSharedSecrets(missing)
        stored = {"secret_key": secret_key, "key_encryption_key": key_encryption_key}
    else:
        stored = _stored(instance_path)
    secret = secret_key or stored["secret_key"]
    kek = key_encryption_key or stored["key_encryption_key"]
    previous_keks = tuple(
        _kek_bytes(text, "WALLET_KEY_ENCRYPTION_KEY_PREVIOUS") for text in _split(previous_key_encryption_keys)
    )
    return InstanceSecrets(
        secret_key=secret.encode(),
        key_encryption_key=KeyEncryptionKeys(_kek_bytes(kek, "WALLET_KEY_ENCRYPTION_KEY"), previous=previous_keks),
        previous_secret_keys=tuple(text.encode() for text in _split(previous_secret_keys)),
    )


def _stored(instance_path: Path) -> dict[str, str]:
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secrets.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    stored = _generate()
    with os.fdopen(fd, "w") as handle:
        json.dump(stored, handle)
    return stored


def for_settings(settings: Settings) -> InstanceSecrets:
    """:func:`load_or_create` for ``settings`` (the app, the CLI and the demo share this)."""
    return load_or_create(
        settings.resolved_instance_path(),
        secret_key=settings.secret_key,
        key_encryption_key=settings.key_encryption_key,
        previous_secret_keys=settings.secret_key_previous,
        previous_key_encryption_keys=settings.key_encryption_key_previous,
        shared_database=settings.shared_database(),
    )
