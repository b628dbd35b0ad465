"""What the benchmarks share: a throw-away database and instance folder, a free port, and ``wallet serve``
(gunicorn, 2 workers) started in its own process group and stopped on the way out.

The benchmarks run as scripts (``.venv/bin/python bench/claim.py``), so they import this module as
``harness`` from their own folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from wallet.db import make_engine
from wallet.instance_secrets import generate_key

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _admin(postgres_url: str, statement: str) -> None:
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def postgres_database(postgres_url: str, *, prefix: str = "wallet_bench") -> Iterator[str]:
    """A new, empty database on the server of ``postgres_url`` (its URL), dropped afterwards even if in use."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def bench_database(
    kind: str, postgres_url: str, *, folder_prefix: str, keep: bool = False
) -> Iterator[tuple[str, Path]]:
    """A fresh database (``kind`` is "sqlite" or "postgres") and instance folder; both go away afterwards,
    the folder only unless ``keep`` (it holds ``server.log``)."""
    folder = Path(tempfile.mkdtemp(prefix=folder_prefix))
    try:
        if kind == "sqlite":
            yield f"sqlite:///{folder / 'wallet.sqlite3'}", folder
        else:
            with postgres_database(postgres_url) as url:
                yield url, folder
    finally:
        if keep:
            print(f"(kept {folder} for inspection: server.log is there)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


BENCH_SECRETS = {"WALLET_SECRET_KEY": generate_key(), "WALLET_KEY_ENCRYPTION_KEY": generate_key()}
"""One pair of secrets for every server of this bench run (PostgreSQL refuses to start without them)."""
SETTINGS_SECRETS = {
    "secret_key": BENCH_SECRETS["WALLET_SECRET_KEY"],
    "key_encryption_key": BENCH_SECRETS["WALLET_KEY_ENCRYPTION_KEY"],
}
"""The same pair as ``Settings`` fields, for the in-process app a bench seeds its database with."""


def server_env(url: str, folder: Path, base_url: str, **settings: str) -> dict[str, str]:
    """This process's environment without any ``WALLET_*``, plus the server's settings for a bench run:
    no scheduler, the cheapest password hashing, and ``settings`` (``WALLET_`` names) on top."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WALLET_")}
    env.update(
        WALLET_DATABASE_URL=url,
        WALLET_INSTANCE_PATH=str(folder),
        WALLET_BASE_URL=base_url,
        WALLET_RUN_SCHEDULER="false",
        WALLET_PASSWORD_HASH_PROFILE="CHEAPEST",
        **BENCH_SECRETS,
        **settings,
    )
    return env


@contextlib.contextmanager
def running_server(url: str, folder: Path, port: int, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """``wallet serve`` (gunicorn, 2 workers) on 127.0.0.1:``port`` in its own process group, ready
    (``/readyz`` answered 200) when the block starts and stopped (SIGTERM, then SIGKILL) when it ends.
    Its output goes to ``folder/server.log``."""
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "wallet.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=server_env(url, folder, f"http://127.0.0.1:{port}", **settings),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see {folder / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not ready within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.25)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
