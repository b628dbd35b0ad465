"""Several ``wallet serve`` nodes (each with its own instance folder) behind a real nginx, on one database.

The test (tests/multinode) and the benchmark (bench/multinode.py) share this. nginx runs the very
configuration docs/operations.md shows (``deploy/nginx-wallet.conf``) with its ports replaced, as an
unprivileged foreground process with its own prefix folder; it is installed with Debian's apt when
missing and the process is root (``scripts/test`` runs as root in CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.faults.live import LiveServer, free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_EXAMPLE = ROOT / "deploy" / "nginx-wallet.conf"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")


def nginx_binary() -> str:
    """Debian's nginx, installed with apt if missing (root only); a clear error otherwise."""
    for candidate in (shutil.which("nginx"), *NGINX_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light"], check=True, env=env, capture_output=True, timeout=600
        )
        for candidate in NGINX_CANDIDATES:
            if Path(candidate).exists():
                return candidate
    raise RuntimeError("nginx is not installed: apt-get install nginx-light (scripts/test does as root)")


def render_proxy_config(*, listen_port: int, upstreams: list[int]) -> str:
    """``deploy/nginx-wallet.conf`` with its listen port and upstream servers replaced."""
    example = NGINX_EXAMPLE.read_text()
    servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams)
    example, count = re.subn(
        r"(?m)^    server 127\.0\.0\.1:\d+ .*\n(?:    server 127\.0\.0\.1:\d+ .*\n)*", servers + "\n", example
    )
    assert count == 1, "deploy/nginx-wallet.conf lost its upstream block"
    example, count = re.subn(r"(?m)^    listen \d+;", f"    listen 127.0.0.1:{listen_port};", example)
    assert count == 1, "deploy/nginx-wallet.conf lost its listen line"
    return example


class Proxy:
    """nginx in the foreground (``daemon off``) with everything under ``folder``."""

    def __init__(self, folder: Path, *, upstreams: list[int], port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("logs", "temp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "wallet.conf").write_text(render_proxy_config(listen_port=self.port, upstreams=upstreams))
        temp = folder / "temp"
        (folder / "nginx.conf").write_text(
            "worker_processes 1;\n"
            f"pid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'logs' / 'error.log'} warn;\n"
            "daemon off;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {folder / 'logs' / 'access.log'};\n"
            f"    client_body_temp_path {temp / 'body'};\n"
            f"    proxy_temp_path {temp / 'proxy'};\n"
            f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
            f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
            f"    scgi_temp_path {temp / 'scgi'};\n"
            f"    include {folder / 'wallet.conf'};\n"
            "}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = nginx_binary()
        conf = str(self.folder / "nginx.conf")
        subprocess.run([binary, "-t", "-q", "-p", str(self.folder), "-c", conf], check=True, capture_output=True)
        with (self.folder / "logs" / "stdout.log").open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-p", str(self.folder), "-c", conf],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}; see {self.folder / 'logs'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer /readyz")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # fast shutdown: no waiting on idle keep-alives
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@contextlib.contextmanager
def cluster(
    *,
    database_url: str,
    folder: Path,
    nodes: int = 2,
    extra_env: dict[str, str] | None = None,
    proxy_port: int | None = None,
) -> Iterator[tuple[Proxy, list[LiveServer]]]:
    """``nodes`` app nodes (separate instance folders, WALLET_TRUST_PROXY) and nginx before them, started.

    Each node's public base URL is the proxy's: links and credentials name the one public origin.
    """
    ports = [free_port() for _ in range(nodes)]
    proxy = Proxy(folder / "nginx", upstreams=ports, port=proxy_port)
    servers = [
        LiveServer(
            database_url=database_url,
            instance_path=str(folder / f"node{n + 1}" / "instance"),
            log=folder / f"node{n + 1}.log",
            base_url=proxy.url,
            port=port,
            extra_env={"WALLET_TRUST_PROXY": "true", **(extra_env or {})},
        )
        for n, port in enumerate(ports)
    ]
    for n in range(nodes):
        (folder / f"node{n + 1}").mkdir(parents=True, exist_ok=True)
    try:
        for server in servers:  # boot side by side, then wait for each
            server.launch()
        for server in servers:
            server.wait_ready()
        proxy.start()
        yield proxy, servers
    finally:
        proxy.stop()
        stoppers = [threading.Thread(target=server.stop) for server in servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
