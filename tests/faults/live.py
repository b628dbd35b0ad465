"""A real ``wallet serve`` (gunicorn, 2 workers) on 127.0.0.1 that a test can SIGKILL and restart."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """``wallet serve --workers 2`` in its own process group; ``kill_worker`` and ``kill_all`` use SIGKILL."""

    def __init__(
        self,
        *,
        database_url: str,
        instance_path: str,
        log: Path,
        base_url: str | None = None,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("WALLET_")}
        self.env.update(
            WALLET_DATABASE_URL=database_url,
            WALLET_INSTANCE_PATH=instance_path,
            WALLET_BASE_URL=base_url or self.url,
            WALLET_RUN_SCHEDULER="false",
            WALLET_PASSWORD_HASH_PROFILE="CHEAPEST",
            WALLET_LOG_LEVEL="WARNING",
        )
        if database_url.startswith("postgresql"):
            self.env.update({f"WALLET_{name.upper()}": value for name, value in TEST_SECRETS.items()})
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (several nodes boot side by side)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "wallet.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "2",
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready within {READY_TIMEOUT_S:.0f} s; see {self.log}")

    def workers(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        assert self.process is not None
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    children.append(int(stat.parent.name))
        return children

    def kill_worker(self) -> int:
        worker = self.workers()[0]
        os.kill(worker, signal.SIGKILL)
        return worker

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once (a power cut, an OOM kill of the group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.kill_all()
