"""Independent implementations against the real server: a live server on 127.0.0.1 and node scripts that
use npm packages nobody on this project wrote (tests/interop/package.json, installed by ``npm ci``).

The did:web server serves real https for the public name ``wallet.example`` with a certificate made here;
node trusts that certificate (``NODE_EXTRA_CA_CERTS``) and maps the name to 127.0.0.1 (network.mjs), so
every library resolves the issuer's did:web, fetches status lists and claims over OpenID4VCI exactly as
it would on the internet, while nothing leaves the machine. The Python side arranges data through the
running app's own test client (real commits, visible to the server at once).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from wallet.config import Settings
from wallet.credentials.jsonld import BUNDLED_CONTEXTS, CONTEXTS_DIR

HERE = Path(__file__).parent
PUBLIC_HOST = "wallet.example"
NODE_TIMEOUT_SECONDS = 180


def _ensure_node_modules() -> None:
    """``npm ci`` once when the packages are missing (scripts/test runs it first; this keeps a lone run honest)."""
    if not (HERE / "node_modules" / ".package-lock.json").exists():
        subprocess.run(
            ["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            check=True,
            timeout=600,
        )


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``wallet.example`` (its own trust anchor) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PUBLIC_HOST)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(PUBLIC_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "wallet.example.pem", directory / "wallet.example.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Interop:
    """A running server, a way to arrange things on it, and the node scripts."""

    running: Running
    client: FlaskClient
    ca_file: Path | None
    admin: dict[str, str]
    worker: dict[str, str]
    achievement_id: str

    def node(self, script: str, payload: dict[str, Any]) -> Any:
        """Run ``script`` with ``payload`` on stdin; its JSON answer (a failure shows node's stderr)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("HTTP_PROXY", "HTTPS_PROXY"))}
        env["WALLET_PUBLIC_HOST"] = PUBLIC_HOST
        if self.ca_file is not None:
            env["NODE_EXTRA_CA_CERTS"] = str(self.ca_file)
        contexts = {url: str(CONTEXTS_DIR / name) for url, name in BUNDLED_CONTEXTS.items()}
        done = subprocess.run(
            ["node", str(HERE / script)],
            input=json.dumps({"contexts": contexts, **payload}),
            capture_output=True,
            text=True,
            cwd=HERE,
            env=env,
            timeout=NODE_TIMEOUT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"{script} failed:\n{done.stderr}\n{done.stdout}"
        return json.loads(done.stdout)

    def sign_up(self, username: str) -> dict[str, str]:
        response = self.client.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "password": "correct horse battery",
                "display_name": username,
                "device": {"name": "phone"},
            },
        )
        assert response.status_code == 201, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    def open_session(self, *, pin: str | None = None) -> dict[str, Any]:
        now = self.running.clock.now
        body: dict[str, Any] = {
            "achievement_id": self.achievement_id,
            "title": "Soldering workshop",
            "venue": "Room 2",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
        }
        if pin:
            body["pin"] = pin
        response = self.client.post("/api/v1/organisations/north/claim-sessions", headers=self.worker, json=body)
        assert response.status_code == 201, response.json
        return response.json

    def offer(self, session: dict[str, Any]) -> str:
        response = self.client.post(
            f"/api/v1/claim-sessions/{session['id']}/oid4vci-offer", headers=self.worker, json={}
        )
        assert response.status_code == 201, response.json
        return response.json["offer"]

    def claim_in_app(self, learner: dict[str, str], session: dict[str, Any], *, pin: str | None) -> dict[str, Any]:
        qr = self.client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=self.worker).json
        response = self.client.post("/api/v1/claims/redeem", json={"code": qr["url"], "pin": pin}, headers=learner)
        assert response.status_code == 201, response.json
        return response.json

    def award(self, username: str) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/organisations/north/achievements/{self.achievement_id}/awards",
            headers=self.admin,
            json={"username": username},
        )
        assert response.status_code == 201, response.json
        return response.json

    def revoke(self, award_id: str) -> None:
        response = self.client.post(
            f"/api/v1/organisations/north/awards/{award_id}/revoke", headers=self.admin, json={"reason": "Mistake"}
        )
        assert response.status_code == 200, response.json


def _arranged(running: Running, ca_file: Path | None) -> Interop:
    from sqlalchemy import select

    from wallet.issuing.achievements import create_achievement
    from wallet.models import Account, Role
    from wallet.organisations import services as organisations

    client = running.app.test_client()
    interop = Interop(running, client, ca_file, {}, {}, "")
    admin = interop.sign_up("north-admin")
    worker = interop.sign_up("north-worker")
    factory = running.app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="north", name="Makerspace North", now=running.clock.now)
        for username, role in (("north-admin", Role.ADMIN), ("north-worker", Role.YOUTH_WORKER)):
            organisations.add_member(db, slug="north", actor=None, username=username, role=role, now=running.clock.now)
    with factory.begin() as db:
        admin_account = db.scalar(select(Account).where(Account.username == "north-admin"))
        assert admin_account is not None
        achievement = create_achievement(
            db,
            slug="north",
            actor=admin_account.id,
            name="Soldering Basics",
            description="Soldered a blinking LED kit safely.",
            criteria_narrative="Finish the kit.",
            now=running.clock.now,
        )
        interop.achievement_id = str(achievement.id)
    interop.admin, interop.worker = admin, worker
    return interop


@pytest.fixture
def did_web_server(settings: Settings, engine: Engine, tmp_path: Path) -> Iterator[Interop]:
    """The app on ``https://wallet.example:<port>``: a public https origin, so issuers are did:web."""
    _ensure_node_modules()
    cert_path, key_path = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    with live_server(settings, engine, clock, tls=(PUBLIC_HOST, context)) as running:
        yield _arranged(running, cert_path)


@pytest.fixture
def did_key_server(settings: Settings, engine: Engine) -> Iterator[Interop]:
    """The app on ``http://127.0.0.1:<port>`` (the embedded default): issuers are did:key."""
    _ensure_node_modules()
    clock = FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    with live_server(settings, engine, clock) as running:
        yield _arranged(running, None)
