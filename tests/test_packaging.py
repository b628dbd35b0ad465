"""What the README installs is enough to run the service: every module the server imports at run time comes
from a runtime dependency, not from the ``dev`` extra (a share page's PNG download once answered 500 with
``ModuleNotFoundError: cairosvg`` after ``pip install ./client_sdk .``)."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import venv
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
OWN_PACKAGES = {"wallet", "wallet_client", "wallet_protocol"}


def _imported_top_level_names(package: Path) -> dict[str, set[str]]:
    """Every top-level module name imported anywhere in ``package`` (also inside functions), with the files."""
    names: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        if "migrations" in path.parts and "versions" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found = [node.module]
            else:
                continue
            for name in found:
                names.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_closure() -> set[str]:
    """The distributions ``pip install ./client_sdk .`` brings in: pyproject's dependencies (no extras) and,
    transitively, theirs as installed here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    sdk = tomllib.loads((ROOT / "client_sdk" / "pyproject.toml").read_text())["project"]
    pending = [Requirement(text) for text in project["dependencies"] + sdk["dependencies"]]
    closure = {_canonical(project["name"]), _canonical(sdk["name"])}
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        wanted_extras = requirement.extras
        name = _canonical(requirement.name)
        first_visit = name not in closure
        closure.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            child = Requirement(text)
            if child.marker is None:
                if first_visit:
                    pending.append(child)
                continue
            if any(child.marker.evaluate({"extra": extra}) for extra in wanted_extras):
                pending.append(Requirement(f"{child.name}{child.specifier}"))
            elif first_visit and child.marker.evaluate({"extra": ""}):
                pending.append(child)
    return closure


def test_every_module_the_service_imports_comes_from_a_runtime_dependency() -> None:
    providers = metadata.packages_distributions()
    closure = _runtime_closure()
    missing = {}
    for name, files in _imported_top_level_names(ROOT / "wallet").items():
        if name in sys.stdlib_module_names or name in OWN_PACKAGES or name == "__future__":
            continue
        distributions = {_canonical(dist) for dist in providers.get(name, [])}
        if not distributions & closure:
            missing[name] = sorted(files)

    assert missing == {}, f"imported by the service but not a runtime dependency in pyproject.toml: {missing}"


def test_the_sdk_imports_only_its_own_dependencies() -> None:
    providers = metadata.packages_distributions()
    sdk = tomllib.loads((ROOT / "client_sdk" / "pyproject.toml").read_text())["project"]
    allowed = {_canonical(Requirement(text).name) for text in sdk["dependencies"]}
    stray = {}
    for package in ("wallet_client", "wallet_protocol"):
        for name, files in _imported_top_level_names(ROOT / "client_sdk" / package).items():
            if name in sys.stdlib_module_names or name in OWN_PACKAGES or name == "__future__":
                continue
            if not {_canonical(dist) for dist in providers.get(name, [])} & allowed:
                stray[name] = sorted(files)

    assert stray == {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_readme_install_without_the_dev_extra_serves_the_share_pages_png(tmp_path: Path) -> None:
    """``pip install ./client_sdk .`` into a fresh venv (from pip's cache where it can), then ``wallet demo``
    and ``wallet serve``, then an employer downloads the badge PNG with the credential baked in."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(ROOT / "client_sdk"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-4000:]
    # no packaging warnings of ours for a newcomer to wade through (the machine's pip settings may add their own)
    assert "deprecat" not in install.stderr.lower()
    assert "license" not in install.stderr.lower()
    dev_only = subprocess.run([str(python), "-c", "import pytest"], capture_output=True)
    assert dev_only.returncode != 0  # really an install without the dev extra

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "WALLET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WALLET_DATABASE_URL": "",
        "WALLET_BASE_URL": base,
        "WALLET_PASSWORD_HASH_PROFILE": "CHEAPEST",
        "WALLET_RUN_SCHEDULER": "false",
        "WALLET_FETCH_ALLOW_PRIVATE": "true",
    }
    wallet = str(env_dir / "bin" / "wallet")
    seeded = subprocess.run(
        [wallet, "demo"], capture_output=True, text=True, env=environment, timeout=300, cwd=tmp_path
    )
    assert seeded.returncode == 0, seeded.stderr
    share_url = next(line for line in seeded.stdout.splitlines() if "employer's view" in line).split()[-1]

    server = subprocess.Popen(
        [wallet, "serve", "--port", str(port), "--workers", "1"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        png = httpx.get(f"{share_url}.png", timeout=30)
        page = httpx.get(share_url, timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert png.status_code == 200, png.text[:500]
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"openbadgecredential" in png.content
    assert page.status_code == 200
    assert "Genuine" in page.text


def test_the_sdks_tests_run_from_its_own_folder() -> None:
    """``cd client_sdk && pytest`` finds and imports every SDK and protocol test, with the SDK's own
    configuration (the protocol tests need nothing but the SDK; the SDK tests start the real server)."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root / "client_sdk",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert any(line.startswith("tests/protocol/") for line in collected)
    assert any(line.startswith("tests/sdk/") for line in collected)
