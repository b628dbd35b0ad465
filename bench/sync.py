"""The sync protocol's cost on the wire, side by side with a CouchDB-protocol peer, measured in one run.

Why: issue 4 promises that a phone syncs a learner's wallet in one small request, cheaper than CouchDB
replication (the usual answer for offline-first apps). This measures both with real clients and real
servers on 127.0.0.1, doing the same scenarios on the same data, and checks the promise.

Run: ``.venv/bin/python bench/sync.py [--db sqlite|postgres] [--credentials 1000]``
(``--postgres-url``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``: a temporary database
is created there and dropped afterwards).

Our side: the Flask app in a werkzeug thread on a fresh database in a temporary instance folder, with a
clock the bench can move (for "40 days later"); devices are the SDK's :class:`OfflineWallet`, each with
its own SQLite replica. The CouchDB side: ``pouchdb-server --in-memory`` (npm, pinned in
``bench/couchdb_peer/package.json``, installed on first run) and PouchDB replicas in node
(``bench/couchdb_peer/replicate.js``: memory adapter, one-shot ``PouchDB.sync`` with its defaults), one
document per credential holding the credential and its metadata, collections as documents. A CouchDB
app must merge conflicting revisions itself to lose no edit, so after each sync a PouchDB device
merges conflicts field by field and syncs again if it resolved any (that second sync is counted).

Both servers sit behind the same counting HTTP proxy (stdlib, 127.0.0.1), which records every
request: bytes each way (request/status line + headers + body; "raw" with the body uncompressed,
"gzip" with the body gzip-compressed where that makes it smaller), the wall time the server took, and
start/end times, from which "round trips" is the longest chain of requests each sent after the
previous one's answer (what latency multiplies). Setup (seeding, devices' first syncs) goes around
the meters. The seed: ``--credentials`` small signed OB 3.0 credentials (eddsa-jcs-2022), 1-2 tags
each, a note on every fifth, a pin on every twentieth, 5 collections of 20.

Every loop is bounded, only 127.0.0.1 is used, and both servers are stopped on any exit.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime as dt
import gzip
import http.client
import json
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from harness import READY_TIMEOUT_S, ROOT, bench_database, free_port
from wallet_client import MemoryTokenStore, OfflineWallet, Tokens, WalletClient
from werkzeug.serving import make_server

from wallet.accounts import services as accounts
from wallet.app import create_app
from wallet.config import Settings
from wallet.credentials.dataintegrity import sign
from wallet.credentials.multikey import did_key_for, verification_method_id
from wallet.holding import services as holding
from wallet.instance_secrets import generate_key
from wallet.migrate import upgrade
from wallet.sync.compaction import DEFAULT_HORIZON, compact

PEER = ROOT / "bench" / "couchdb_peer"
POUCHDB_SERVER = PEER / "node_modules" / ".bin" / "pouchdb-server"
COUCH_DB_NAME = "wallet"
PASSWORD = "correct horse battery"
COMMAND_TIMEOUT_S = 300.0
NPM_TIMEOUT_S = 600.0
MAX_CONVERGENCE_ROUNDS = 4
MAX_RESOLVE_SYNCS = 3
TAGS = [
    "robotics", "first aid", "volunteering", "coding", "music", "leadership", "art", "sport",
    "languages", "science", "teamwork", "cooking", "drama", "maths", "gardening", "photography",
]  # fmt: skip
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade", "content-length"}
SEED_STAMP = "0000000000001-000000-seed"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


# --- The counting proxy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request and its answer as the client saw them."""

    method: str
    path: str
    started: float
    ended: float
    up_head: int
    up_body: int
    up_body_gzip: int
    down_head: int
    down_body: int
    down_body_gzip: int


def _gzip_size(body: bytes) -> int:
    return min(len(body), len(gzip.compress(body, compresslevel=6, mtime=0))) if body else 0


def _decoded(body: bytes, encoding: str | None) -> bytes:
    return gzip.decompress(body) if body and (encoding or "").strip().lower() == "gzip" else body


def _head_size(first_line: str, headers: list[tuple[str, str]]) -> int:
    return len(first_line) + 2 + sum(len(name) + 2 + len(value) + 2 for name, value in headers) + 2


class Meter:
    """Every exchange through one proxy; :meth:`measure` collects those of one scenario."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[Exchange]]:
        with self._lock:
            start = len(self._exchanges)
        collected: list[Exchange] = []
        yield collected
        with self._lock:
            collected.extend(self._exchanges[start:])


class CountingProxy:
    """A plain HTTP/1.1 relay on 127.0.0.1 that measures what passes between a client and a server."""

    def __init__(self, upstream_port: int) -> None:
        self.meter = Meter()
        meter = self.meter
        local = threading.local()

        class Relay(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _upstream(self) -> http.client.HTTPConnection:
                if getattr(local, "connection", None) is None:
                    local.connection = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
                return local.connection

            def _relay(self) -> None:
                body = self._read_body()
                started = time.perf_counter()
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                forwarded["Content-Length"] = str(len(body))
                try:
                    connection = self._upstream()
                    connection.request(self.command, self.path, body=body, headers=forwarded)
                    answer = connection.getresponse()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    local.connection = None
                    connection = self._upstream()
                    connection.request(self.command, self.path, body=body, headers=forwarded)
                    answer = connection.getresponse()
                payload = answer.read()
                ended = time.perf_counter()
                if answer.will_close:
                    connection.close()
                    local.connection = None
                headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
                headers.append(("Content-Length", str(len(payload))))
                if self.close_connection:
                    headers.append(("Connection", "close"))
                self.send_response_only(answer.status, answer.reason)
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                up_plain = _decoded(body, self.headers.get("Content-Encoding"))
                down_plain = _decoded(payload, answer.getheader("Content-Encoding"))
                meter.record(
                    Exchange(
                        method=self.command,
                        path=self.path,
                        started=started,
                        ended=ended,
                        up_head=_head_size(self.requestline, list(self.headers.items())),
                        up_body=len(up_plain),
                        up_body_gzip=_gzip_size(up_plain),
                        down_head=_head_size(f"HTTP/1.1 {answer.status} {answer.reason}", headers),
                        down_body=len(down_plain),
                        down_body_gzip=_gzip_size(down_plain),
                    )
                )

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_COPY = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- Figures ---------------------------------------------------------------------------------------


def round_trips(exchanges: list[Exchange]) -> int:
    """The longest chain of exchanges each started after the previous one ended (the critical path)."""
    ordered = sorted(exchanges, key=lambda e: e.ended)
    ends = [e.ended for e in ordered]
    best_so_far: list[int] = []
    longest = 0
    for index, exchange in enumerate(ordered):
        before = bisect.bisect_right(ends, exchange.started, 0, index)
        length = 1 + (best_so_far[before - 1] if before else 0)
        longest = max(longest, length)
        best_so_far.append(longest)
    return longest


@dataclass(frozen=True)
class Cost:
    requests: int
    round_trips: int
    up_raw: int
    up_gzip: int
    down_raw: int
    down_gzip: int
    up_body: int
    down_body: int
    server_ms: float

    @classmethod
    def of(cls, exchanges: list[Exchange]) -> Cost:
        return cls(
            requests=len(exchanges),
            round_trips=round_trips(exchanges),
            up_raw=sum(e.up_head + e.up_body for e in exchanges),
            up_gzip=sum(e.up_head + e.up_body_gzip for e in exchanges),
            down_raw=sum(e.down_head + e.down_body for e in exchanges),
            down_gzip=sum(e.down_head + e.down_body_gzip for e in exchanges),
            up_body=sum(e.up_body for e in exchanges),
            down_body=sum(e.down_body for e in exchanges),
            server_ms=sum(e.ended - e.started for e in exchanges) * 1000,
        )


@dataclass
class Row:
    scenario: str
    ours: Cost
    couch: Cost
    notes: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        """``S3 100 changes push``: the scenario's name without its description."""
        head = self.scenario.split(":")[0]
        return head + next((f" {word}" for word in ("push", "pull") if f": {word}" in self.scenario), "")


# --- The data ----------------------------------------------------------------------------------------


def make_credentials(count: int) -> list[bytes]:
    """Small, really signed OB 3.0 credentials (eddsa-jcs-2022: no RDF canonicalisation, so fast)."""
    issuer = did_key_for(KEY)
    method = verification_method_id(KEY)
    credentials = []
    for n in range(count):
        document = {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            ],
            "id": f"urn:uuid:{uuid.UUID(int=n + 1)}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": issuer, "type": ["Profile"], "name": "North Youth Makerspace"},
            "validFrom": "2025-03-01T00:00:00Z",
            "name": f"Soldering basics {n % 40 + 1}",
            "credentialSubject": {
                "id": "did:example:learner-7",
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": f"https://makerspace.example/achievements/{n % 40 + 1}",
                    "type": ["Achievement"],
                    "name": f"Soldering basics {n % 40 + 1}",
                    "description": "Soldered a blinking LED kit safely.",
                    "criteria": {"narrative": "Finish the kit under supervision."},
                },
            },
        }
        signed = sign(document, private_key=KEY, verification_method=method, created="2025-03-01T12:00:00Z",
                      cryptosuite="eddsa-jcs-2022")  # fmt: skip
        credentials.append(json.dumps(signed, separators=(",", ":")).encode())
    return credentials


@dataclass(frozen=True)
class Seed:
    """The wallet's content: what both systems are loaded with."""

    blobs: list[bytes]
    creds: list[str]
    tags: dict[str, list[str]]
    notes: dict[str, str]
    pinned: set[str]
    collections: dict[str, tuple[str, list[str]]]


def make_seed(count: int) -> Seed:
    blobs = make_credentials(count)
    creds = [holding.content_hash(raw) for raw in blobs]
    tags = {cred: sorted({TAGS[n % 16], TAGS[(n * 7 + 3) % 16]}) for n, cred in enumerate(creds)}
    notes = {cred: f"Earned at session {n}; ask Sam for a reference." for n, cred in enumerate(creds) if n % 5 == 0}
    pinned = {cred for n, cred in enumerate(creds) if n % 20 == 0}
    collections = {
        str(uuid.UUID(int=10_000 + c)): (f"Collection {c + 1}", [creds[(c * 20 + m) % count] for m in range(20)])
        for c in range(5)
    }
    return Seed(blobs, creds, tags, notes, pinned, collections)


Edit = dict[str, Any]


def edits_changes(seed: Seed, k: int, label: str) -> list[Edit]:
    """``k`` edits on distinct credentials: tag, note, pin, collection membership in turn."""
    coll = next(iter(seed.collections))
    edits: list[Edit] = []
    for n in range(k):
        cred = seed.creds[(200 + n) % len(seed.creds)]
        kind = n % 4
        if kind == 0:
            edits.append({"op": "tag.add", "cred": cred, "tag": f"{label}-{n}"})
        elif kind == 1:
            edits.append({"op": "note", "cred": cred, "value": f"{label}: note {n}"})
        elif kind == 2:
            edits.append({"op": "pinned", "cred": cred, "value": True})
        else:
            edits.append({"op": "member.add", "coll": coll, "cred": cred})
    return edits


# --- Our side ----------------------------------------------------------------------------------------


class MovableClock:
    """The server's clock: real time plus an offset the bench advances ("40 days later")."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


class OurSide:
    """The wallet server in a thread behind the counting proxy, a learner, and SDK devices."""

    def __init__(self, url: str, folder: Path, seed: Seed) -> None:
        self.folder = folder
        self.seed = seed
        self.clock = MovableClock()
        upgrade(url)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        self.settings = Settings(
            database_url=url,
            instance_path=str(folder),
            base_url=f"http://127.0.0.1:{port}",
            password_hash_profile="CHEAPEST",
            access_token_ttl_seconds=200 * 86400,  # 40 and 100 days later without a token refresh
            log_json=False,
            log_level="ERROR",
            run_scheduler=False,
            secret_key=generate_key(),  # PostgreSQL refuses to start without explicit secrets
            key_encryption_key=generate_key(),
        )
        self.app = create_app(self.settings, clock=self.clock)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.state = self.app.extensions["wallet"]
        self.http = make_server("127.0.0.1", port, self.app, threaded=True)
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self._thread.start()
        self.proxy = CountingProxy(port)
        self.devices: dict[str, OfflineWallet] = {}
        with self.state.session_factory.begin() as db:
            self.account = accounts.sign_up(
                db, username="bench-learner", password=PASSWORD, display_name="Learner", email=None,
                hasher=self.state.hasher, now=self.clock(),
            )  # fmt: skip
            self.account_id = self.account.id
            for raw in seed.blobs:
                holding.add_credential(
                    db, account_id=self.account_id, raw=raw, media_type="application/vc+ld+json", source="import",
                    now=self.clock(),
                )  # fmt: skip

    def close(self) -> None:
        for device in self.devices.values():
            device.close()
        self.proxy.close()
        self.http.shutdown()
        self.state.engine.dispose()

    def device(self, name: str) -> OfflineWallet:
        with self.state.session_factory.begin() as db:
            account = db.merge(self.account)
            pair = accounts.open_device(
                db, account=account, name=f"bench {name}", platform="android", policy=self.state.token_policy,
                now=self.clock(),
            )  # fmt: skip
        store = MemoryTokenStore(Tokens(pair.access_token, pair.refresh_token))
        client = WalletClient(self.proxy.url, token_store=store, timeout=120)
        wallet = OfflineWallet(self.folder / f"device-{name}.sqlite3", client, clock=self.device_clock)
        self.devices[name] = wallet
        return wallet

    def device_clock(self) -> float:
        return self.clock().timestamp()

    def seed_metadata(self) -> list[str]:
        """A first device writes the seed's tags, notes, pins and collections; returns collection ids."""
        seeder = self.device("seeder")
        for cred in self.seed.creds:
            for tag in self.seed.tags[cred]:
                seeder.add_tag(cred, tag)
            if cred in self.seed.notes:
                seeder.set_note(cred, self.seed.notes[cred])
            if cred in self.seed.pinned:
                seeder.set_pinned(cred, True)
        ids = []
        for name, members in self.seed.collections.values():
            coll = seeder.create_collection(name)
            ids.append(coll)
            for cred in members:
                seeder.add_member(coll, cred)
        sync_fully(seeder)
        return ids

    def apply(self, name: str, edits: list[Edit], colls: dict[str, str]) -> None:
        wallet = self.devices[name]
        for edit in edits:
            op = edit["op"]
            if op == "tag.add":
                wallet.add_tag(edit["cred"], edit["tag"])
            elif op == "tag.remove":
                wallet.remove_tag(edit["cred"], edit["tag"])
            elif op == "note":
                wallet.set_note(edit["cred"], edit["value"])
            elif op == "pinned":
                wallet.set_pinned(edit["cred"], edit["value"])
            elif op == "member.add":
                wallet.add_member(colls[edit["coll"]], edit["cred"])
            elif op == "remove":
                wallet.remove(edit["cred"])
            else:
                raise ValueError(op)

    def compact(self) -> int:
        with self.state.session_factory.begin() as db:
            return compact(db, now=self.clock(), horizon=DEFAULT_HORIZON).purged_rows


def sync_fully(wallet: OfflineWallet) -> int:
    """Sync until nothing is pending (bounded); the number of requests."""
    requests = 0
    for _ in range(20):
        requests += wallet.sync().requests
        if wallet.pending_count() == 0:
            return requests
    raise RuntimeError("a device could not empty its queue in 20 syncs")


# --- The CouchDB peer --------------------------------------------------------------------------------


def ensure_peer_installed() -> None:
    if POUCHDB_SERVER.exists():
        return
    print("installing the CouchDB peer (npm ci in bench/couchdb_peer) …", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEER, check=True, timeout=NPM_TIMEOUT_S)


class CouchSide:
    """pouchdb-server in memory behind the counting proxy, and PouchDB devices driven over a pipe."""

    def __init__(self, folder: Path, seed: Seed, colls: list[str]) -> None:
        self.folder = folder
        port = free_port()
        self.server_url = f"http://127.0.0.1:{port}"
        self._log = (folder / "pouchdb-server.log").open("wb")
        self.server = subprocess.Popen(
            [str(POUCHDB_SERVER), "--in-memory", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.driver: subprocess.Popen[bytes] | None = None
        self.proxy: CountingProxy | None = None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.server.poll() is not None:
                raise RuntimeError(f"pouchdb-server exited; see {folder / 'pouchdb-server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.server_url, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("pouchdb-server was not ready in time")
            time.sleep(0.25)
        self.proxy = CountingProxy(port)
        self._seed(seed, colls)
        self.driver = subprocess.Popen(
            ["node", str(PEER / "replicate.js"), f"{self.proxy.url}/{COUCH_DB_NAME}"],
            cwd=PEER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip

    def _seed(self, seed: Seed, colls: list[str]) -> None:
        """The same wallet, the CouchDB way, written straight to the server (not metered)."""
        docs: list[dict[str, Any]] = []
        for raw, cred in zip(seed.blobs, seed.creds, strict=True):
            stamps = {"tags": SEED_STAMP}
            if cred in seed.notes:
                stamps["note"] = SEED_STAMP
            if cred in seed.pinned:
                stamps["pinned"] = SEED_STAMP
            docs.append(
                {
                    "_id": cred,
                    "credential": json.loads(raw),
                    "note": seed.notes.get(cred, ""),
                    "hidden": False,
                    "pinned": cred in seed.pinned,
                    "order_key": None,
                    "tags": seed.tags[cred],
                    "stamps": stamps,
                }
            )
        for coll, (name, members) in zip(colls, seed.collections.values(), strict=True):
            docs.append(
                {
                    "_id": f"coll:{coll}",
                    "name": name,
                    "order_key": None,
                    "members": members,
                    "stamps": {"name": SEED_STAMP, "members": SEED_STAMP},
                }
            )
        with httpx.Client(base_url=self.server_url, timeout=120) as client:
            client.put(f"/{COUCH_DB_NAME}").raise_for_status()
            client.post(f"/{COUCH_DB_NAME}/_bulk_docs", json={"docs": docs}).raise_for_status()

    def command(self, **command: Any) -> dict[str, Any]:
        assert self.driver is not None and self.driver.stdin is not None and self.driver.stdout is not None
        self.driver.stdin.write(json.dumps(command).encode() + b"\n")
        self.driver.stdin.flush()
        ready, _, _ = select.select([self.driver.stdout], [], [], COMMAND_TIMEOUT_S)
        if not ready:
            raise RuntimeError(f"the PouchDB driver did not answer {command['cmd']} in time")
        line = self.driver.stdout.readline()
        if not line:
            raise RuntimeError("the PouchDB driver exited")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise RuntimeError(f"PouchDB driver: {answer['error']}")
        return answer

    def sync(self, device: str) -> int:
        """One sync as a CouchDB app does it: replicate, merge conflicts locally, replicate again if any."""
        syncs = 0
        for _ in range(MAX_RESOLVE_SYNCS):
            self.command(cmd="sync", device=device)
            syncs += 1
            if self.command(cmd="resolve", device=device)["resolved"] == 0:
                return syncs
        return syncs

    def close(self) -> None:
        if self.driver is not None and self.driver.poll() is None:
            with contextlib.suppress(Exception):
                self.command(cmd="quit")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.driver.wait(timeout=5)
            if self.driver.poll() is None:
                os.killpg(self.driver.pid, signal.SIGKILL)
                self.driver.wait(timeout=5)
        if self.proxy is not None:
            self.proxy.close()
        if self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=5)
        self._log.close()


# --- Scenarios ---------------------------------------------------------------------------------------


def same_views(wallets: list[OfflineWallet]) -> bool:
    first = wallets[0].view()
    return all(wallet.view() == first for wallet in wallets[1:])


def same_replicas(couch: CouchSide, devices: list[str]) -> bool:
    states = [couch.command(cmd="state", device=device) for device in devices]
    return all(state["conflicts"] == 0 and state["digest"] == states[0]["digest"] for state in states)


def converged_with_a(ours: OurSide, couch: CouchSide, name: str) -> tuple[bool, bool]:
    """After device A syncs once more (not measured), does ``name`` show the same wallet as A?"""
    ours.devices["A"].sync()
    couch.sync("A")
    return same_views([ours.devices["A"], ours.devices[name]]), same_replicas(couch, ["A", name])


def run(ours: OurSide, couch: CouchSide, seed: Seed, colls: list[str]) -> list[Row]:
    """S1 … S5 on both systems; returns one row per measured step."""
    rows: list[Row] = []
    ours_meter = ours.proxy.meter
    assert couch.proxy is not None
    couch_meter = couch.proxy.meter
    coll_ids = dict(zip(seed.collections, colls, strict=True))
    couch_edits_coll = {seed_id: coll for seed_id, coll in coll_ids.items()}

    def couch_edits(edits: list[Edit]) -> list[Edit]:
        return [{**e, "coll": couch_edits_coll[e["coll"]]} if "coll" in e else e for e in edits]

    # Devices that already hold the wallet (their first sync is setup, not measured).
    # A PouchDB device's first sync after a pull re-announces the pulled documents to the server
    # (revs_diff); a second setup sync settles that on both sides, so no scenario pays for setup.
    for name in ("A", "B", "C", "F"):
        sync_fully(ours.device(name))
        ours.devices[name].sync()
        couch.command(cmd="open", device=name)
        couch.sync(name)
        couch.sync(name)

    # S1: a new device.
    ours.device("N")
    couch.command(cmd="open", device="N")
    with ours_meter.measure() as mine:
        cold = ours.devices["N"].sync()
    held = sum(
        ours.devices["N"].credential_bytes(cred) == raw for raw, cred in zip(seed.blobs, seed.creds, strict=True)
    )
    with couch_meter.measure() as theirs:
        couch.sync("N")
    n_creds = len(ours.devices["N"].credentials())
    state = couch.command(cmd="state", device="N")
    rows_only = Cost.of([e for e in mine if "/blobs" not in e.path])
    blobs_only = Cost.of([e for e in mine if "/blobs" in e.path])
    rows.append(
        Row(
            f"S1 cold start: new device, {n_creds:,} credentials",
            Cost.of(mine),
            Cost.of(theirs),
            [
                f"ours: {rows_only.requests} requests for rows (register + sync pages: "
                f"{kb(rows_only.up_raw + rows_only.down_raw)} KiB raw, "
                f"{kb(rows_only.up_gzip + rows_only.down_gzip)} KiB gzip) + {cold.blob_requests} blob batch "
                f"requests fetching {cold.blobs_fetched} credentials ({kb(blobs_only.up_raw + blobs_only.down_raw)} "
                f"KiB raw, {kb(blobs_only.up_gzip + blobs_only.down_gzip)} KiB gzip; the blobs themselves: "
                f"{kb(sum(len(raw) for raw in seed.blobs))} KiB); credentials held byte-exact afterwards: {held}; "
                f"PouchDB: {state['docs']} docs"
            ],
        )
    )

    # S2: nothing changed.
    with ours_meter.measure() as mine:
        ours.devices["B"].sync()
    with couch_meter.measure() as theirs:
        couch.sync("B")
    rows.append(Row("S2 no-change sync", Cost.of(mine), Cost.of(theirs)))

    # S3: k changes on device A, pushed, then pulled by device B.
    for k in (1, 100):
        edits = edits_changes(seed, k, f"s3-{k}")
        ours.apply("A", edits, coll_ids)
        couch.command(cmd="edit", device="A", edits=couch_edits(edits))
        with ours_meter.measure() as mine:
            ours.devices["A"].sync()
        with couch_meter.measure() as theirs:
            couch.sync("A")
        rows.append(Row(f"S3 {k} change{'s' if k > 1 else ''}: push (device A)", Cost.of(mine), Cost.of(theirs)))
        with ours_meter.measure() as mine:
            ours.devices["B"].sync()
        with couch_meter.measure() as theirs:
            couch.sync("B")
        rows.append(Row(f"S3 {k} change{'s' if k > 1 else ''}: pull (device B)", Cost.of(mine), Cost.of(theirs)))

    # S4: three devices edit the same credentials offline, then sync round-robin until all agree.
    count = len(seed.creds)
    c = [seed.creds[n % count] for n in range(max(count, 400))]
    first_coll = next(iter(seed.collections))
    second_coll = list(seed.collections)[1]
    s4 = {
        "A": [{"op": "tag.add", "cred": c[300 + n], "tag": "conference"} for n in range(10)]
        + [{"op": "note", "cred": c[320], "value": "A: shown at the interview"}],
        "B": [{"op": "note", "cred": c[305 + n], "value": f"B: note {n}"} for n in range(10)]
        + [{"op": "note", "cred": c[320], "value": "B: keep for college"}],
        "C": [{"op": "pinned", "cred": c[300 + n], "value": True} for n in range(5)]
        + [{"op": "member.add", "coll": second_coll, "cred": c[310 + n]} for n in range(5)]
        + [{"op": "member.add", "coll": first_coll, "cred": c[320]}],
    }
    for name, edits in s4.items():
        ours.apply(name, edits, coll_ids)
        couch.command(cmd="edit", device=name, edits=couch_edits(edits))
    syncs = {"ours": 0, "couch": 0}
    with ours_meter.measure() as mine:
        for _ in range(MAX_CONVERGENCE_ROUNDS):
            for name in "ABC":
                ours.devices[name].sync()
                syncs["ours"] += 1
                if not any(ours.devices[d].pending_count() for d in "ABC") and same_views(
                    [ours.devices[d] for d in "ABC"]
                ):
                    break
            else:
                continue
            break
    with couch_meter.measure() as theirs:
        for _ in range(MAX_CONVERGENCE_ROUNDS):
            for name in "ABC":
                syncs["couch"] += couch.sync(name)
                if same_replicas(couch, list("ABC")):
                    break
            else:
                continue
            break
    converged = same_views([ours.devices[d] for d in "ABC"]), same_replicas(couch, list("ABC"))
    rows.append(
        Row(
            "S4 three devices, 11 concurrent offline edits each, until all agree",
            Cost.of(mine),
            Cost.of(theirs),
            [
                f"ours: {syncs['ours']} syncs, converged={converged[0]}; "
                f"PouchDB: {syncs['couch']} replications incl. conflict merges, converged={converged[1]}"
            ],
        )
    )

    # S5: device N goes away with 10 unsent edits; elsewhere 500 credentials and 500 tags are removed.
    away = [{"op": "note", "cred": c[n], "value": f"revisit {n}"} for n in range(10)]
    later = [{"op": "note", "cred": c[20 + n], "value": f"later {n}"} for n in range(10)]
    deletes = [{"op": "remove", "cred": cred} for cred in seed.creds[count // 2 :]] + [
        {"op": "tag.remove", "cred": cred, "tag": seed.tags[cred][0]} for cred in seed.creds[: count // 2]
    ]
    for name, edits in (("N", away), ("F", later)):
        ours.apply(name, edits, coll_ids)
        couch.command(cmd="edit", device=name, edits=couch_edits(edits))
    ours.apply("A", deletes, coll_ids)
    couch.command(cmd="edit", device="A", edits=deletes)
    for name in "ABC":
        sync_fully(ours.devices[name])
        couch.sync(name)
    ours.clock.offset = dt.timedelta(days=40)
    for name in "ABC":
        ours.devices[name].sync()
    purged_40 = ours.compact()
    with ours_meter.measure() as mine:
        report = ours.devices["N"].sync()
    with couch_meter.measure() as theirs:
        couch_syncs = couch.sync("N")
    agree = converged_with_a(ours, couch, "N")
    rows.append(
        Row(
            f"S5 back after 40 days: {len(deletes):,} deletes elsewhere, 10 own edits",
            Cost.of(mine),
            Cost.of(theirs),
            [
                f"ours: {report.requests} sync request(s), reset={report.reset}, compaction purged {purged_40} rows "
                f"(90-day horizon), agrees with device A afterwards={agree[0]}; PouchDB: {couch_syncs} "
                f"replication(s) (conflicts merged), agrees with device A afterwards={agree[1]}"
            ],
        )
    )
    ours.clock.offset = dt.timedelta(days=100)
    for name in "ABCN":
        ours.devices[name].sync()
    purged_100 = ours.compact()
    with ours_meter.measure() as mine:
        report = ours.devices["F"].sync()
    with couch_meter.measure() as theirs:
        couch_syncs = couch.sync("F")
    agree = converged_with_a(ours, couch, "F")
    rows.append(
        Row(
            "S5b back after 100 days (past the 90-day horizon), same deletes, 10 own edits",
            Cost.of(mine),
            Cost.of(theirs),
            [
                f"ours: {report.requests} sync request(s), reset={report.reset}, compaction purged "
                f"{purged_100} rows, agrees with device A afterwards={agree[0]}; PouchDB: {couch_syncs} "
                f"replication(s), agrees with device A afterwards={agree[1]}"
            ],
        )
    )
    return rows


# --- Report ------------------------------------------------------------------------------------------


def kb(n: int) -> str:
    return f"{n / 1024:,.1f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | system | requests | round trips | up raw KiB | up gzip KiB | down raw KiB | down gzip KiB "
        "| server ms |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        for system, cost in (("wallet sync", row.ours), ("CouchDB (PouchDB)", row.couch)):
            lines.append(
                f"| {row.scenario if system == 'wallet sync' else ''} | {system} | {cost.requests} "
                f"| {cost.round_trips} | {kb(cost.up_raw)} | {kb(cost.up_gzip)} | {kb(cost.down_raw)} "
                f"| {kb(cost.down_gzip)} | {cost.server_ms:,.0f} |"
            )
    return "\n".join(lines)


def targets(rows: list[Row]) -> list[tuple[bool, str]]:
    """The issue's targets, each PASS or FAIL with the figures behind it."""
    by_name = {row.scenario.split(":")[0]: row for row in rows}
    checks: list[tuple[bool, str]] = []
    quiet = by_name["S2 no-change sync"].ours
    checks.append(
        (
            quiet.requests == 1 and quiet.up_body < 500 and quiet.down_body < 500,
            f"no-change sync is one request ({quiet.requests}) and < 500 bytes each way: bodies "
            f"{quiet.up_body} B up, {quiet.down_body} B down (with HTTP headers {quiet.up_raw} B up, "
            f"{quiet.down_raw} B down)",
        )
    )
    for direction in ("push", "pull"):
        one = next(r for r in rows if r.scenario.startswith("S3 1 change") and direction in r.scenario).ours
        many = next(r for r in rows if r.scenario.startswith("S3 100 changes") and direction in r.scenario).ours
        base = quiet.up_body + quiet.down_body
        marginal_one = max(1, one.up_body + one.down_body - base)
        marginal_many = many.up_body + many.down_body - base
        cold = next(r for r in rows if r.scenario.startswith("S1")).ours
        cold_bytes = cold.up_body + cold.down_body
        ok = (
            many.requests == one.requests == 1
            and marginal_many / 100 <= 2 * marginal_one
            and one.up_body + one.down_body < cold_bytes / 100
        )
        checks.append(
            (
                ok,
                f"incremental {direction} costs in proportion to the changes (one request; per change at most twice "
                f"the single change's cost, rows differ in size; a single change < 1% of a cold start): "
                f"1 change {one.requests} request, +{marginal_one:,} B over a no-change sync; 100 changes "
                f"{many.requests} request, +{marginal_many:,} B ({marginal_many / 100:,.0f} B per change); "
                f"cold start {cold_bytes:,} B",
            )
        )
    for row in rows:
        fewer_requests = row.ours.requests < row.couch.requests
        fewer_bytes = (
            row.ours.up_raw + row.ours.down_raw < row.couch.up_raw + row.couch.down_raw
            and row.ours.up_gzip + row.ours.down_gzip < row.couch.up_gzip + row.couch.down_gzip
        )
        checks.append(
            (
                fewer_requests and fewer_bytes,
                f"{row.short}: fewer requests ({row.ours.requests} vs {row.couch.requests}) "
                f"and bytes (raw {kb(row.ours.up_raw + row.ours.down_raw)} vs "
                f"{kb(row.couch.up_raw + row.couch.down_raw)} KiB, gzip {kb(row.ours.up_gzip + row.ours.down_gzip)}"
                f" vs {kb(row.couch.up_gzip + row.couch.down_gzip)} KiB) than the CouchDB peer",
            )
        )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--credentials", type=int, default=1000)
    args = parser.parse_args()
    ensure_peer_installed()
    started = time.monotonic()
    seed = make_seed(args.credentials)
    ours: OurSide | None = None
    couch: CouchSide | None = None
    with bench_database(args.db, args.postgres_url, folder_prefix=f"sync-bench-{args.db}-") as (url, folder):
        try:
            ours = OurSide(url, folder, seed)
            colls = ours.seed_metadata()
            couch = CouchSide(folder, seed, colls)
            rows = run(ours, couch, seed, colls)
        finally:
            if couch is not None:
                couch.close()
            if ours is not None:
                ours.close()
    print(f"Sync cost, {args.credentials:,} credentials, server database {args.db} "
          f"(bench/sync.py, {time.monotonic() - started:.0f} s)\n")  # fmt: skip
    print(table(rows))
    print()
    for row in rows:
        for note in row.notes:
            print(f"- {row.short}: {note}")
    print("\nTargets:")
    for ok, text_ in targets(rows):
        print(f"- {'PASS' if ok else 'FAIL'}: {text_}")


if __name__ == "__main__":
    main()
