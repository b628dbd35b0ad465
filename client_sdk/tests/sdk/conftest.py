"""SDK tests run against the real Flask app through ``httpx.WSGITransport`` (one thread, one rolled-back
transaction per test — the server suite's fixtures, imported here)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root, for the server's fixtures

from wallet_client import WalletClient

from tests.conftest import (  # noqa: F401
    FakeClock,
    app,
    client,
    clock,
    connection,
    database_url,
    db,
    engine,
    organisation,
    settings,
    sign_up,
)

BASE_URL = "https://wallet.test"


@pytest.fixture
def make_client(app: Any) -> Callable[..., WalletClient]:  # noqa: F811
    """A WalletClient wired to the app in-process; ``wrap`` may wrap the transport (fault injection)."""

    def _make(
        *, wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None, **kwargs: Any
    ) -> WalletClient:
        transport: httpx.BaseTransport = httpx.WSGITransport(app=app)
        if wrap is not None:
            transport = wrap(transport)
        kwargs.setdefault("sleep", lambda _seconds: None)
        return WalletClient(BASE_URL, transport=transport, **kwargs)

    return _make


@pytest.fixture
def wallet_dir(tmp_path: Path) -> Path:
    return tmp_path
