"""Configuration comes from WALLET_* variables, and the README documents every one of them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from wallet.config import Settings, settings_table
from wallet.instance_secrets import load_or_create

README = Path(__file__).resolve().parents[1] / "README.md"


def test_environment_variables_override_defaults() -> None:
    settings = Settings.from_env(
        {
            "WALLET_DATABASE_URL": "postgresql+psycopg://x/y",
            "WALLET_ACCESS_TOKEN_TTL_SECONDS": "60",
            "WALLET_LOG_JSON": "false",
            "WALLET_CORS_ORIGINS": "https://a.example, https://b.example",
        }
    )
    assert settings.database_url == "postgresql+psycopg://x/y"
    assert settings.access_token_ttl_seconds == 60
    assert settings.log_json is False
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_a_bad_value_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="boolean"):
        Settings.from_env({"WALLET_LOG_JSON": "maybe"})


def test_the_default_database_is_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    settings = Settings.from_env({}, instance_path=str(tmp_path))
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'wallet.sqlite3'}"


def test_the_readme_documents_every_setting() -> None:
    readme = README.read_text()
    for variable, _default, _doc in settings_table():
        assert f"`{variable}`" in readme, f"{variable} is missing from the README's configuration table"


def test_secrets_are_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    second = load_or_create(tmp_path)

    assert first == second
    assert len(first.key_encryption_key) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secrets.json").st_mode)
    assert mode == 0o600
    assert json.loads((tmp_path / "secrets.json").read_text())["secret_key"]


def test_explicit_secrets_win_over_generated_ones(tmp_path: Path) -> None:
    import base64

    kek = base64.urlsafe_b64encode(b"k" * 32).decode()
    secrets_ = load_or_create(tmp_path, secret_key="from-the-environment", key_encryption_key=kek)
    assert secrets_.secret_key == b"from-the-environment"
    assert secrets_.key_encryption_key == b"k" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create(tmp_path, key_encryption_key=base64.urlsafe_b64encode(b"short").decode())
