"""Secrets generated on first run and kept in the instance folder.

A hard-coded or default secret is a vulnerability waiting for a deployment that forgot to change it,
so the service makes its own: on first start it writes ``secrets.json`` with mode 0600 (created with
``O_EXCL`` so two workers starting together cannot both write different keys), and every later start
reads the same file. Explicit settings win over the file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InstanceSecrets:
    secret_key: bytes
    key_encryption_key: bytes


def _generate() -> dict[str, str]:
    return {
        "secret_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "key_encryption_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def load_or_create(instance_path: Path, *, secret_key: str = "", key_encryption_key: str = "") -> InstanceSecrets:
    """Read ``secrets.json`` (creating it with fresh keys if absent), then apply explicit overrides."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secrets.json"
    stored: dict[str, str]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = json.loads(path.read_text())
    else:
        stored = _generate()
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
    secret = secret_key or stored["secret_key"]
    kek = key_encryption_key or stored["key_encryption_key"]
    kek_bytes = base64.urlsafe_b64decode(kek)
    if len(kek_bytes) != 32:
        raise ValueError("WALLET_KEY_ENCRYPTION_KEY must be 32 bytes, base64-encoded")
    return InstanceSecrets(secret_key=secret.encode(), key_encryption_key=kek_bytes)
