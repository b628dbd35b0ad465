"""Soak run: several SDK processes editing one wallet against a real server on 127.0.0.1, killed at random.

    .venv/bin/python bench/soak.py --clients 4 --minutes 5 [--server-restarts 2] [--json result.json]

What happens (docs/sync.md, "Soak"):

1. A fresh SQLite database is migrated and seeded through the services: one learner holding a few
   credentials. ``wallet serve`` (gunicorn) starts on a free port of 127.0.0.1.
2. K client processes (``bench/soak.py client …``) each run an ``OfflineWallet`` on their own SQLite
   file: a random offline edit every ``1/rate`` seconds, a sync every few edits. Every op a client
   queued is logged (append-only JSONL, keyed by client id and op_seq); ops queued just before a kill
   are found in the replica's queue on restart and logged then.
3. A nemesis SIGKILLs and restarts random clients, SIGSTOPs/SIGCONTs others, and restarts the server.
4. End phase: heal (every client running, the server up), every client stops editing, syncs until its
   queue is empty, syncs twice more, writes its view and exits.
5. Checks: zero lost ops (every logged op that the server did not reject is already joined into the
   server's rows: applying it again changes nothing), zero stuck queues, zero divergence (each
   replica's view equals the server's, which equals ``reference_view`` of all accepted ops).

Traffic goes to 127.0.0.1 only; every loop is bounded by time or count. Exit status 0 iff all checks pass.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import free_port

ROOT = Path(__file__).resolve().parents[1]
USERNAME = "soak-learner"
PASSWORD = "soak-wallet-2026"
CREDENTIALS = 6
TAGS = ("robotics", "Welding", "first aid", "art", "Art ")
NOTES = ("", "mine", "for my CV", "from the tablet")
NAMES = ("Portfolio", "Work", "Sport")


# --- the client process -------------------------------------------------------------------------------


class _CountingTransport(httpx.BaseTransport):
    """httpx's default transport, counting sync bytes on the wire (gzip as sent)."""

    def __init__(self, *, drop_rate: float = 0.0, lose_rate: float = 0.0, rng: random.Random | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.up = 0
        self.down = 0
        self.drop_rate = drop_rate
        self.lose_rate = lose_rate
        self.rng = rng or random.Random()
        self.dropped = 0
        self.lost = 0
        self.refreshes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Fault mode: drop a request before it leaves, or let the server answer and lose the answer."""
        if request.url.path.endswith("/auth/refresh"):
            self.refreshes += 1
        if self.rng.random() < self.drop_rate:
            self.dropped += 1
            raise httpx.ConnectError("injected: request dropped", request=request)
        response = self.inner.handle_request(request)
        if self.rng.random() < self.lose_rate:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("injected: answer lost", request=request)
        if request.url.path.endswith("/sync"):
            self.up += len(request.read())
            response.read()
            self.down += len(response.content)
        return response

    def close(self) -> None:
        self.inner.close()


def _random_edit(wallet: Any, rng: random.Random) -> None:
    shown = wallet.view()
    creds = [c["cred"] for c in shown["credentials"]]
    colls = [c["coll"] for c in shown["collections"]]
    choice = rng.random()
    if not creds or choice < 0.05:
        wallet.add(rng.choice(_seed_creds()))
        return
    cred = rng.choice(creds)
    if choice < 0.25:
        wallet.add_tag(cred, rng.choice(TAGS))
    elif choice < 0.35:
        wallet.remove_tag(cred, rng.choice(TAGS))
    elif choice < 0.5:
        wallet.set_note(cred, rng.choice(NOTES))
    elif choice < 0.58:
        wallet.set_pinned(cred, rng.random() < 0.5)
    elif choice < 0.64:
        wallet.set_hidden(cred, rng.random() < 0.5)
    elif choice < 0.72:
        wallet.move(cred, rng.randrange(len(creds) + 1))
    elif choice < 0.76:
        wallet.remove(cred)
    elif choice < 0.82 or not colls:
        wallet.create_collection(rng.choice(NAMES))
    elif choice < 0.9:
        wallet.add_member(rng.choice(colls), cred)
    elif choice < 0.95:
        wallet.remove_member(rng.choice(colls), cred)
    elif choice < 0.98:
        wallet.rename_collection(rng.choice(colls), rng.choice(NAMES))
    else:
        wallet.delete_collection(rng.choice(colls))


def _seed_creds() -> list[str]:
    return [f"sha256:{n + 1:064x}" for n in range(CREDENTIALS)]


def _log_pending(wallet: Any, log_path: Path, logged: dict[tuple[str, int], str]) -> None:
    """Append every queued op not yet logged in this exact form (restamps and renumbering included)."""
    with log_path.open("a", encoding="utf-8") as log:
        for op in wallet.pending_ops():
            key = (wallet.client_id, op["op_seq"])
            text = json.dumps({"client_id": key[0], "op": op}, sort_keys=True)
            if logged.get(key) != text:
                log.write(text + "\n")
                logged[key] = text
        log.flush()
        os.fsync(log.fileno())


def _load_log(log_path: Path) -> dict[tuple[str, int], str]:
    logged: dict[tuple[str, int], str] = {}
    if log_path.exists():
        for line in log_path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by SIGKILL; its op is still queued and gets logged again
            logged[(entry["client_id"], entry["op"]["op_seq"])] = json.dumps(entry, sort_keys=True)
    return logged


def run_client(args: argparse.Namespace) -> int:
    """One device: random offline edits at a fixed rate, a sync every few edits, until told to drain."""
    from wallet_client import AuthError, OfflineWallet, ReplicaTokenStore, SignedOut, WalletClient, WalletError

    home = Path(args.home)
    home.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{args.seed}-{time.time_ns()}")
    transport = _CountingTransport(drop_rate=args.drop_rate, lose_rate=args.lose_rate, rng=random.Random(rng.random()))
    client = WalletClient(
        args.base_url,
        transport=transport,
        timeout=10.0,
        max_retries=3,
        token_store=ReplicaTokenStore(home / "replica.sqlite3"),
    )
    for attempt in range(30):
        if client.token_store.load() is not None:
            break
        try:
            client.login(USERNAME, PASSWORD, device_name=home.name)
        except WalletError:
            time.sleep(0.2 * (attempt + 1))
    wallet = OfflineWallet(home / "replica.sqlite3", client)
    log_path = home / "ops.jsonl"
    logged = _load_log(log_path)
    _log_pending(wallet, log_path, logged)
    metrics = (home / "syncs.jsonl").open("a", encoding="utf-8")
    drain = Path(args.drain_file)

    def sync_once() -> bool:
        started = time.perf_counter()
        up, down = transport.up, transport.down
        faults = (transport.dropped, transport.lost, transport.refreshes)
        signed_out = False
        try:
            report = wallet.sync()
            ok = True
        except AuthError as error:
            ok, report, signed_out = False, None, isinstance(error, SignedOut)
            with contextlib.suppress(WalletError):
                client.login(USERNAME, PASSWORD, device_name=home.name)
        except WalletError:
            ok, report = False, None
        record = {
            "ok": ok,
            "seconds": time.perf_counter() - started,
            "up": transport.up - up,
            "down": transport.down - down,
            "requests": report.requests if report else 0,
            "rejected": len(report.rejected) if report else 0,
            "signed_out": signed_out,
            "dropped": transport.dropped - faults[0],
            "lost": transport.lost - faults[1],
            "refreshes": transport.refreshes - faults[2],
        }
        metrics.write(json.dumps(record) + "\n")
        metrics.flush()
        _log_pending(wallet, log_path, logged)
        return ok

    edits = 0
    deadline = time.monotonic() + args.max_seconds
    while not drain.exists() and time.monotonic() < deadline:
        _random_edit(wallet, rng)
        _log_pending(wallet, log_path, logged)
        edits += 1
        if edits % args.sync_every == 0:
            sync_once()
        time.sleep(1.0 / args.rate)

    drain_deadline = time.monotonic() + args.drain_seconds
    while time.monotonic() < drain_deadline:
        if sync_once() and wallet.pending_count() == 0:
            break
        time.sleep(0.2)
    (home / "drained").write_text(str(wallet.pending_count()))
    final_file = drain.with_name("final")
    while not final_file.exists() and time.monotonic() < drain_deadline:
        time.sleep(0.1)
    clean = 0
    for _ in range(20):
        clean += 1 if sync_once() else 0
        if clean == 2:
            break
    final = {
        "client_id": wallet.client_id,
        "pending": wallet.pending_count(),
        "view": wallet.view(),
        "rejections": [{"client_id": wallet.client_id, **item} for item in wallet.rejections()],
    }
    (home / "final.json").write_text(json.dumps(final, sort_keys=True), encoding="utf-8")
    wallet.close()
    client.close()
    return 0


# --- the harness ------------------------------------------------------------------------------------


def _seed(database_url: str) -> uuid.UUID:
    """Migrate a fresh database and give the learner a few credentials (the credential store's way)."""
    import datetime as dt

    from wallet.accounts import services as accounts
    from wallet.accounts.passwords import make_hasher
    from wallet.changelog import changes
    from wallet.db import make_engine, make_session_factory
    from wallet.migrate import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    with make_session_factory(engine).begin() as db:
        account = accounts.sign_up(
            db,
            username=USERNAME,
            password=PASSWORD,
            display_name="Soak",
            email=None,
            hasher=make_hasher("CHEAPEST"),
            now=now,
        )
        db.flush()
        for cred in _seed_creds():
            changes.record_entry_added(db, account_id=account.id, cred_hash=cred, now=now)
        account_id = account.id
    engine.dispose()
    return account_id


@dataclass
class Harness:
    workdir: Path
    database_url: str
    port: int
    clients: int
    rate: float
    sync_every: int
    seed: int
    access_token_ttl: int = 86400
    drop_rate: float = 0.0
    lose_rate: float = 0.0
    server: subprocess.Popen[bytes] | None = None
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopped: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: {"kills": 0, "stops": 0, "server_restarts": 0})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def drain_file(self) -> Path:
        return self.workdir / "drain"

    def start_server(self) -> None:
        env = {
            **os.environ,
            "WALLET_DATABASE_URL": self.database_url,
            "WALLET_INSTANCE_PATH": str(self.workdir / "instance"),
            "WALLET_BASE_URL": self.base_url,
            "WALLET_PASSWORD_HASH_PROFILE": "CHEAPEST",
            "WALLET_RUN_SCHEDULER": "false",
            "WALLET_LOG_LEVEL": "ERROR",
            "WALLET_ACCESS_TOKEN_TTL_SECONDS": str(self.access_token_ttl),
            "WALLET_RATELIMIT_LOGIN_PER_IP_PER_MINUTE": "100000",
            "WALLET_RATELIMIT_LOGIN_PER_USERNAME_PER_MINUTE": "100000",
            "WALLET_RATELIMIT_REFRESH_PER_IP_PER_MINUTE": "100000",
            "WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_MINUTE": "100000",
            "WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_DAY": "1000000",
        }
        command = [str(Path(sys.executable).parent / "wallet"), "serve", "--port", str(self.port), "--workers", "2"]
        log = (self.workdir / "server.log").open("ab")
        self.server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start within 30 s; see server.log")

    def stop_server(self, sig: int = signal.SIGTERM) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, sig)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=10)

    def start_client(self, index: int) -> None:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "client",
            "--base-url",
            self.base_url,
            "--home",
            str(self.workdir / f"client-{index}"),
            "--rate",
            str(self.rate),
            "--sync-every",
            str(self.sync_every),
            "--seed",
            str(self.seed * 100 + index),
            "--drain-file",
            str(self.drain_file),
            "--drop-rate",
            str(self.drop_rate),
            "--lose-rate",
            str(self.lose_rate),
        ]
        log = (self.workdir / f"client-{index}.log").open("ab")
        self.procs[index] = subprocess.Popen(command, stdout=log, stderr=log, cwd=ROOT)

    def nemesis(self, rng: random.Random) -> None:
        """One fault: kill and restart a client, or pause one, or resume a paused one."""
        index = rng.randrange(self.clients)
        proc = self.procs[index]
        if index in self.stopped:
            proc.send_signal(signal.SIGCONT)
            self.stopped.discard(index)
        elif rng.random() < 0.65:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            self.counts["kills"] += 1
            self.start_client(index)
        else:
            proc.send_signal(signal.SIGSTOP)
            self.stopped.add(index)
            self.counts["stops"] += 1

    def heal(self) -> None:
        for index in sorted(self.stopped):
            self.procs[index].send_signal(signal.SIGCONT)
        self.stopped.clear()
        for index, proc in self.procs.items():
            if proc.poll() is not None:
                self.start_client(index)
        if self.server is None or self.server.poll() is not None:
            self.start_server()


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _check(harness: Harness, account_id: uuid.UUID) -> dict[str, Any]:
    """Compare every replica with the server and the reference model; count what was lost or stuck."""
    from wallet_protocol.sync import apply_op, validate_op, view
    from wallet_protocol.sync.ops import EntryAdd

    sys.path.insert(0, str(ROOT / "client_sdk" / "tests"))  # the oracle is a test module, not protocol
    from reference_model import reference_view

    from wallet.changelog.history import stored_rows
    from wallet.db import make_engine, make_session_factory

    engine = make_engine(harness.database_url)
    with make_session_factory(engine)() as db:
        server_state = stored_rows(db, account_id=account_id)
    engine.dispose()
    server_view = view(server_state)

    ops: dict[tuple[str, int], Any] = {}
    finals: list[dict[str, Any]] = []
    syncs: list[dict[str, Any]] = []
    for index in range(harness.clients):
        home = harness.workdir / f"client-{index}"
        for line in (home / "ops.jsonl").read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            ops[(entry["client_id"], entry["op"]["op_seq"])] = entry["op"]
        final_path = home / "final.json"
        finals.append(json.loads(final_path.read_text()) if final_path.exists() else {"missing": True})
        syncs += [json.loads(line) for line in (home / "syncs.jsonl").read_text().splitlines() if line.strip()]

    rejected = {(r["client_id"], r["op_seq"]) for final in finals for r in final.get("rejections", [])}
    accepted = [validate_op(op) for key, op in ops.items() if key not in rejected]
    lost = sum(1 for op in accepted if apply_op(server_state, op)[1])
    seeded = [
        EntryAdd(op_seq=n + 1, hlc="0000000000000-0000-server", cred=cred, dot=("server", n + 1))
        for n, cred in enumerate(_seed_creds())
    ]
    model_view = reference_view([*seeded, *accepted])
    stuck = sum(1 for final in finals if final.get("missing") or final.get("pending", 1) != 0)
    divergent = sum(1 for final in finals if final.get("view") != server_view)
    ok_syncs = [s for s in syncs if s["ok"]]
    return {
        "clients": harness.clients,
        "ops_queued": len(ops),
        "ops_acked": len(ops) - sum(final.get("pending", 0) for final in finals if not final.get("missing")),
        "ops_rejected": len(rejected),
        "lost_ops": lost,
        "stuck_queues": stuck,
        "divergent_replicas": divergent,
        "model_matches_server": model_view == server_view,
        "kills": harness.counts["kills"],
        "stops": harness.counts["stops"],
        "server_restarts": harness.counts["server_restarts"],
        "syncs": len(syncs),
        "failed_syncs": len(syncs) - len(ok_syncs),
        "sync_p50_ms": round(1000 * _percentile([s["seconds"] for s in ok_syncs], 0.5), 1),
        "sync_p95_ms": round(1000 * _percentile([s["seconds"] for s in ok_syncs], 0.95), 1),
        "signed_out": sum(1 for s in syncs if s.get("signed_out")),
        "refreshes": sum(s.get("refreshes", 0) for s in syncs),
        "requests_dropped": sum(s.get("dropped", 0) for s in syncs),
        "answers_lost": sum(s.get("lost", 0) for s in syncs),
        "bytes_up": sum(s["up"] for s in syncs),
        "bytes_down": sum(s["down"] for s in syncs),
        "credentials_shown": len(server_view["credentials"]),
        "collections_shown": len(server_view["collections"]),
    }


def run_soak(
    *,
    workdir: Path,
    clients: int,
    seconds: float,
    rate: float,
    sync_every: int,
    fault_interval: float,
    server_restarts: int,
    seed: int,
    drain_seconds: float = 90.0,
    access_token_ttl: int = 86400,
    drop_rate: float = 0.0,
    lose_rate: float = 0.0,
) -> dict[str, Any]:
    """The whole run; returns the result table as a dict (``passed`` says whether every check held)."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{workdir / 'server.sqlite3'}"
    account_id = _seed(database_url)
    harness = Harness(
        workdir, database_url, free_port(), clients, rate, sync_every, seed, access_token_ttl, drop_rate, lose_rate
    )
    rng = random.Random(seed)
    started = time.monotonic()
    try:
        harness.start_server()
        for index in range(clients):
            harness.start_client(index)
        restart_at = sorted(started + rng.uniform(0.2, 0.8) * seconds for _ in range(server_restarts))
        while time.monotonic() - started < seconds:
            time.sleep(rng.uniform(0.5, 1.5) * fault_interval)
            if restart_at and time.monotonic() >= restart_at[0]:
                restart_at.pop(0)
                harness.stop_server(signal.SIGKILL if rng.random() < 0.5 else signal.SIGTERM)
                time.sleep(rng.uniform(0.5, 2.0))
                harness.start_server()
                harness.counts["server_restarts"] += 1
            else:
                harness.nemesis(rng)
        harness.heal()
        harness.drain_file.write_text("drain")
        deadline = time.monotonic() + drain_seconds + 30
        drained = [workdir / f"client-{index}" / "drained" for index in range(clients)]
        while time.monotonic() < deadline and not all(path.exists() for path in drained):
            time.sleep(0.2)
        (workdir / "final").write_text("sync twice and report")
        for proc in harness.procs.values():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        result = _check(harness, account_id)
    finally:
        for proc in harness.procs.values():
            if proc.poll() is None:
                proc.kill()
        harness.stop_server()
    result["seconds"] = round(time.monotonic() - started, 1)
    result["passed"] = (
        result["lost_ops"] == 0
        and result["stuck_queues"] == 0
        and result["divergent_replicas"] == 0
        and result["model_matches_server"]
        and result["signed_out"] == 0
    )
    return result


def _print_table(result: dict[str, Any]) -> None:
    width = max(len(name) for name in result)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 12}")
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help="one SDK client process (started by the harness)")
    client.add_argument("--base-url", required=True)
    client.add_argument("--home", required=True)
    client.add_argument("--rate", type=float, default=4.0, help="edits per second")
    client.add_argument("--sync-every", type=int, default=5, help="edits between syncs")
    client.add_argument("--seed", type=int, default=0)
    client.add_argument("--drain-file", required=True)
    client.add_argument("--max-seconds", type=float, default=3600.0, help="stop editing after this long anyway")
    client.add_argument("--drain-seconds", type=float, default=90.0)
    client.add_argument("--drop-rate", type=float, default=0.0)
    client.add_argument("--lose-rate", type=float, default=0.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=4.0, help="edits per second per client")
    parser.add_argument("--sync-every", type=int, default=5)
    parser.add_argument("--fault-interval", type=float, default=2.0, help="mean seconds between faults")
    parser.add_argument("--server-restarts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="kept for inspection (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument("--access-token-ttl", type=int, default=86400, help="server's access-token lifetime (s)")
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, help="fault mode: share of client requests dropped before they leave"
    )
    parser.add_argument(
        "--lose-rate",
        type=float,
        default=0.0,
        help="fault mode: share of client requests the server answers but the client never hears",
    )
    args = parser.parse_args(argv)
    if args.command == "client":
        return run_client(args)

    import tempfile

    with tempfile.TemporaryDirectory(prefix="wallet-soak-") as temporary:
        result = run_soak(
            workdir=args.workdir or Path(temporary),
            clients=args.clients,
            seconds=args.minutes * 60,
            rate=args.rate,
            sync_every=args.sync_every,
            fault_interval=args.fault_interval,
            server_restarts=args.server_restarts,
            seed=args.seed,
            access_token_ttl=args.access_token_ttl,
            drop_rate=args.drop_rate,
            lose_rate=args.lose_rate,
        )
    _print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
