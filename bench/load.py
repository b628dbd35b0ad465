"""A bounded mixed workload against gunicorn + PostgreSQL on 127.0.0.1, at rising rates, with an audit.

Why: the other benchmarks each measure one feature alone. A real Saturday has learners' phones syncing,
a room claiming from one projector QR and employers opening share links all at once, on one small machine.
This finds the rate at which that mix stops keeping up (the knee), says which process burns the CPU there,
and then checks in the database that every write the server acknowledged is present exactly once.

Run: ``.venv/bin/python bench/load.py [--rates 10,20,40,80] [--step-seconds 45]
[--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]``

What it does:

* makes a temporary PostgreSQL database on the server of ``--postgres-url`` (dropped afterwards) and an
  instance folder; creates, through the services, an organisation, a youth worker, one achievement, the
  claimants, the syncing learners (each with a registered sync client) and the sharers (each holding an
  awarded badge with one share link) — with the ``CHEAPEST`` password-hash profile so setup takes seconds;
* starts ``wallet serve --workers 2`` (gunicorn, gthread, 4 threads each) on a free port of 127.0.0.1 with
  ``WALLET_RUN_SCHEDULER=false``, ``WALLET_PASSWORD_HASH_PROFILE=CHEAPEST`` and the configurable rate
  limits turned off (``WALLET_RATELIMIT_*=0``: every request here comes from one IP). The per-account
  claim limit (30/minute) stays on: each claimant claims once, plus a share of repeat scans;
* the youth worker opens one shared session (cap ``--cap``) through the API;
* for each rate R in ``--rates``: an open-loop generator starts R requests per second for ``--step-seconds``
  (arrivals at fixed intervals, handed to a pool of client threads so a slow answer never slows the
  offered rate): 50% syncs (``POST /api/v1/sync`` with 1-5 new ``collection.create`` ops for a learner who
  has no sync in flight, or the same batch again after a failure), 20% claims (``POST /api/v1/claims/redeem``;
  one in ten is a repeat scan by someone who already claimed), 30% share-page views (``GET /s/<slug>``);
* samples CPU every second from /proc: the gunicorn workers, all PostgreSQL backends, this client, the
  whole machine;
* prints per step and per endpoint: offered and achieved rate, p50/p95/p99, error rate; CPU per step;
* audits: every acked sync op present exactly once (each op creates its own collection; the server's
  ``last_op_seq`` equals the acked count), one claim and one credential per successful claimant, issued
  never above the cap, and each link's view count equal to the successful views of it.

Traffic goes to 127.0.0.1 only; every loop is bounded by a count and a time limit; gunicorn is stopped and
the database dropped on any exit.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import BENCH_SECRETS, SETTINGS_SECRETS, free_port, postgres_database, running_server
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from wallet_protocol.sync import send

from wallet.accounts import services as accounts
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import make_engine
from wallet.issuing import achievements
from wallet.issuing import credentials as issuing
from wallet.migrate import upgrade
from wallet.models import (
    Claim,
    ClaimSession,
    HeldCredential,
    IssuedCredential,
    Role,
    ShareLink,
    ShareTarget,
    SyncClient,
    SyncRow,
)
from wallet.organisations import services as organisations
from wallet.sharing import services as sharing

PASSWORD = "correct horse battery"
ORG = "load-makerspace"
REQUEST_TIMEOUT_S = 30.0
CLIENT_THREADS = 96
SERVER_SETTINGS = {  # every request here comes from one IP: no rate limits
    "WALLET_LOG_LEVEL": "WARNING",
    "WALLET_RATELIMIT_LOGIN_PER_IP_PER_MINUTE": "0",
    "WALLET_RATELIMIT_LOGIN_PER_USERNAME_PER_MINUTE": "0",
    "WALLET_RATELIMIT_SIGNUP_PER_IP_PER_HOUR": "0",
    "WALLET_RATELIMIT_REFRESH_PER_IP_PER_MINUTE": "0",
    "WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_MINUTE": "0",
    "WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_DAY": "0",
}
MIX = (("sync", 0.5), ("claim", 0.2), ("share", 0.3))
REPEAT_SHARE = 0.1
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Person:
    account_id: uuid.UUID
    username: str
    token: str


@dataclass
class Syncer:
    """One learner's device: its client id, clock, the ops it has acked and the batch it has in flight."""

    person: Person
    client_id: str
    stamp: Any = None
    acked: int = 0
    next_op_seq: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)
    busy: bool = False


@dataclass
class Sample:
    step: int
    endpoint: str
    status: int
    code: str
    latency_ms: float


@dataclass
class World:
    url: str
    folder: Path
    base_url: str
    worker_token: str
    achievement_id: uuid.UUID
    claimants: list[Person]
    syncers: list[Syncer]
    shares: list[tuple[uuid.UUID, str]]


class Ledger:
    """What the server acknowledged, kept by the client for the audit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[Sample] = []
        self.claimed: dict[uuid.UUID, str] = {}
        self.claim_full = 0
        self.views: Counter[uuid.UUID] = Counter()
        self.unknown_claims: set[uuid.UUID] = set()
        self.unknown_views: Counter[uuid.UUID] = Counter()
        self.late_starts = 0
        self.no_idle_device = 0


# --- Setup -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _servers(url: str, folder: Path, port: int, proxy_nodes: int) -> Iterator[set[int]]:
    """The gunicorn masters serving ``port``: one ``wallet serve``, or nginx before ``proxy_nodes`` nodes."""
    if not proxy_nodes:
        with running_server(url, folder, port, **SERVER_SETTINGS) as server:
            yield {server.pid}
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.multinode.cluster import cluster

    env = {**SERVER_SETTINGS, **BENCH_SECRETS}
    with cluster(database_url=url, folder=folder / "cluster", nodes=proxy_nodes, extra_env=env, proxy_port=port) as (
        _proxy,
        nodes,
    ):
        yield {node.process.pid for node in nodes if node.process is not None}


def set_up(url: str, folder: Path, base_url: str, *, claimants: int, syncers: int, sharers: int) -> World:
    upgrade(url)
    settings = Settings(
        database_url=url,
        instance_path=str(folder),
        base_url=base_url,
        password_hash_profile="CHEAPEST",
        access_token_ttl_seconds=3 * 3600,
        log_json=False,
        log_level="ERROR",
        run_scheduler=False,
        **SETTINGS_SECRETS,
    )
    state = create_app(settings).extensions["wallet"]
    now = dt.datetime.now(dt.UTC)
    try:
        with state.session_factory.begin() as db:

            def person(username: str) -> Person:
                account = accounts.sign_up(
                    db,
                    username=username,
                    password=PASSWORD,
                    display_name=username,
                    email=None,
                    hasher=state.hasher,
                    now=now,
                )
                pair = accounts.open_device(
                    db, account=account, name="load phone", platform="android", policy=state.token_policy, now=now
                )
                return Person(account.id, username, pair.access_token)

            admin = person("load-admin")
            worker = person("load-worker")
            organisations.create_organisation(db, slug=ORG, name="Load Makerspace", now=now)
            organisations.add_member(db, slug=ORG, actor=None, username=admin.username, role=Role.ADMIN, now=now)
            organisations.add_member(
                db, slug=ORG, actor=None, username=worker.username, role=Role.YOUTH_WORKER, now=now
            )
            achievement = achievements.create_achievement(
                db,
                slug=ORG,
                actor=admin.account_id,
                name="Soldering basics",
                description="Soldered a blinking LED kit.",
                criteria_narrative="Finish the kit.",
                now=now,
            )
            claimers = [person(f"load-claimant-{n:05d}") for n in range(claimants)]
            sync_people = [person(f"load-syncer-{n:04d}") for n in range(syncers)]
            shares = []
            for n in range(sharers):
                sharer = person(f"load-sharer-{n:04d}")
                issuing.award(
                    db,
                    slug=ORG,
                    actor=admin.account_id,
                    achievement_id=achievement.id,
                    username=sharer.username,
                    kek=state.secrets.key_encryption_key,
                    base_url=base_url,
                    now=now,
                )
                held = db.scalar(select(HeldCredential).where(HeldCredential.account_id == sharer.account_id))
                assert held is not None
                link = sharing.create_share(
                    db, account_id=sharer.account_id, target_kind=ShareTarget.CREDENTIAL, target_id=held.id, now=now
                )
                shares.append((link.id, link.slug))
    finally:
        state.engine.dispose()
    return World(
        url, folder, base_url, worker.token, achievement.id, claimers, [Syncer(p, "") for p in sync_people], shares
    )


def register_and_open(world: World, *, cap: int) -> str:
    """Register every syncer's client and open the claim session, through the API; the QR's URL."""
    with httpx.Client(base_url=world.base_url, timeout=REQUEST_TIMEOUT_S) as http:
        for syncer in world.syncers:
            registered = http.post(
                "/api/v1/sync/clients", json={}, headers={"Authorization": f"Bearer {syncer.person.token}"}
            )
            registered.raise_for_status()
            syncer.client_id = registered.json()["client_id"]
        headers = {"Authorization": f"Bearer {world.worker_token}"}
        now = dt.datetime.now(dt.UTC)
        opened = http.post(
            f"/api/v1/organisations/{ORG}/claim-sessions",
            headers=headers,
            json={
                "achievement_id": str(world.achievement_id),
                "title": "Open day",
                "venue": "Main hall",
                "cap": cap,
                "mode": "shared",
                "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=3)).isoformat(),
            },
        )
        opened.raise_for_status()
        qr = http.get(f"/api/v1/claim-sessions/{opened.json()['id']}/qr", headers=headers)
        qr.raise_for_status()
        return str(qr.json()["url"])


# --- CPU sampling --------------------------------------------------------------------------------------


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


def _processes() -> Iterator[tuple[int, int, str]]:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            raw = stat.read_text()
            name = raw.split("(", 1)[1].rsplit(")", 1)[0]
            yield int(stat.parent.name), int(raw.rsplit(")", 1)[1].split()[1]), name


class CpuSampler(threading.Thread):
    """Every second: CPU ticks of the gunicorn workers, PostgreSQL backends, this process and the machine."""

    def __init__(self, server_pids: set[int], database_url: str) -> None:
        super().__init__(daemon=True)
        self.server_pids = server_pids
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.stop = threading.Event()
        self.step = -1
        self.per_step: dict[int, list[dict[str, float]]] = defaultdict(list)

    def _snapshot(self) -> tuple[dict[int, tuple[str, int]], float, float, float]:
        """(pid → (kind, ticks)), machine busy and total seconds, and the time.

        Per process, because gunicorn replaces a worker after ``max_requests`` and PostgreSQL backends come
        and go: a sum over whatever processes exist would go backwards when one exits.
        """
        ticks: dict[int, tuple[str, int]] = {os.getpid(): ("load client", _ticks(os.getpid()))}
        for pid, parent, name in _processes():
            if parent in self.server_pids:
                ticks[pid] = ("gunicorn workers", _ticks(pid))
            elif name.startswith("postgres"):
                ticks[pid] = ("postgres", _ticks(pid))
        cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        total = sum(cpu) / CLK_TCK
        return ticks, total - (cpu[3] + cpu[4]) / CLK_TCK, total, time.monotonic()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as pg:
            self._run(pg)

    def _waits(self, pg: Any) -> tuple[float, float]:
        """Backends of this database running a statement, and those of them waiting for a row lock."""
        row = pg.execute(
            "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock')"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return float(row[0]), float(row[1])

    def _run(self, pg: Any) -> None:
        previous = self._snapshot()
        while not self.stop.wait(1.0):
            current = self._snapshot()
            if self.step >= 0:
                wall = current[3] - previous[3]
                share = {"gunicorn workers": 0.0, "postgres": 0.0, "load client": 0.0}
                for pid, (kind, ticks) in current[0].items():
                    share[kind] += 100 * (ticks - previous[0].get(pid, (kind, 0))[1]) / CLK_TCK / wall
                share["machine busy (of 200%)"] = 200 * (current[1] - previous[1]) / max(current[2] - previous[2], 1e-9)
                share["other processes"] = share["machine busy (of 200%)"] - sum(
                    share[k] for k in ("gunicorn workers", "postgres", "load client")
                )
                share["active statements"], share["waiting for a row lock"] = self._waits(pg)
                self.per_step[self.step].append(share)
            previous = current


# --- The workload --------------------------------------------------------------------------------------


class Workload:
    def __init__(self, world: World, code: str, ledger: Ledger, seed: int) -> None:
        self.world = world
        self.code = code
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.next_claimant = 0
        self.local = threading.local()
        self.syncers_lock = threading.Lock()

    def _http(self) -> httpx.Client:
        http = getattr(self.local, "http", None)
        if http is None:
            http = self.local.http = httpx.Client(base_url=self.world.base_url, timeout=REQUEST_TIMEOUT_S)
        return http

    def _record(
        self, step: int, endpoint: str, started: float, response: httpx.Response | None, error: str = ""
    ) -> None:
        latency = (time.perf_counter() - started) * 1000
        if response is None:
            sample = Sample(step, endpoint, 0, error, latency)
        else:
            code = "ok"
            if response.status_code >= 400:
                with contextlib.suppress(ValueError):
                    code = str(response.json().get("code", response.status_code))
            sample = Sample(step, endpoint, response.status_code, code, latency)
        with self.ledger.lock:
            self.ledger.samples.append(sample)

    def pick(self) -> str:
        with self.rng_lock:
            roll = self.rng.random()
        for kind, share in MIX:
            if roll < share:
                return kind
            roll -= share
        return MIX[-1][0]

    def request(self, step: int, kind: str) -> None:
        try:
            getattr(self, kind)(step)
        except Exception as error:  # a bench must finish and report; the sample says what went wrong
            print(f"  ! {kind}: {type(error).__name__}: {error}", file=sys.stderr)

    def sync(self, step: int) -> None:
        with self.syncers_lock:
            idle = [s for s in self.world.syncers if not s.busy]
            if not idle:
                self.ledger.no_idle_device += 1
                return None
            with self.rng_lock:
                syncer = self.rng.choice(idle)
                count = self.rng.randint(1, 5)
            syncer.busy = True
        try:
            if not syncer.pending:
                now_ms = int(time.time() * 1000)
                for _ in range(count):
                    syncer.stamp = send(syncer.stamp, now_ms=now_ms, node=syncer.client_id)
                    syncer.pending.append(
                        {
                            "type": "collection.create",
                            "op_seq": syncer.next_op_seq,
                            "hlc": str(syncer.stamp),
                            "coll": str(uuid.uuid4()),
                            "name": f"Folder {syncer.next_op_seq}",
                        }
                    )
                    syncer.next_op_seq += 1
            body = {"protocol": 1, "client_id": syncer.client_id, "cursor": None, "ops": syncer.pending, "limit": 50}
            started = time.perf_counter()
            try:
                response = self._http().post(
                    "/api/v1/sync", json=body, headers={"Authorization": f"Bearer {syncer.person.token}"}
                )
            except httpx.HTTPError as error:
                return self._record(step, "POST /api/v1/sync", started, None, f"transport.{type(error).__name__}")
            self._record(step, "POST /api/v1/sync", started, response)
            if response.status_code == 200:
                acked = int(response.json()["acked_op_seq"])
                syncer.acked = max(syncer.acked, acked)
                syncer.pending = [op for op in syncer.pending if op["op_seq"] > acked]
            return None
        finally:
            syncer.busy = False

    def claim(self, step: int) -> None:
        with self.rng_lock:
            repeat = bool(self.ledger.claimed) and self.rng.random() < REPEAT_SHARE
            if repeat or self.next_claimant >= len(self.world.claimants):
                claimant = self.rng.choice(self.world.claimants[: max(1, self.next_claimant)])
            else:
                claimant = self.world.claimants[self.next_claimant]
                self.next_claimant += 1
        started = time.perf_counter()
        try:
            response = self._http().post(
                "/api/v1/claims/redeem", json={"code": self.code}, headers={"Authorization": f"Bearer {claimant.token}"}
            )
        except httpx.HTTPError as error:
            with self.ledger.lock:
                self.ledger.unknown_claims.add(claimant.account_id)
            return self._record(step, "POST /api/v1/claims/redeem", started, None, f"transport.{type(error).__name__}")
        self._record(step, "POST /api/v1/claims/redeem", started, response)
        if response.status_code in (200, 201):
            held = response.json()["held_credential_id"]
            with self.ledger.lock:
                previous = self.ledger.claimed.setdefault(claimant.account_id, held)
            if previous != held:
                print(f"  ! {claimant.username} got a second credential {held} (first {previous})", file=sys.stderr)
        elif response.status_code == 409:
            with self.ledger.lock:
                self.ledger.claim_full += 1
        return None

    def share(self, step: int) -> None:
        with self.rng_lock:
            link_id, slug = self.rng.choice(self.world.shares)
        started = time.perf_counter()
        try:
            response = self._http().get(f"/s/{slug}")
        except httpx.HTTPError as error:
            with self.ledger.lock:
                self.ledger.unknown_views[link_id] += 1
            return self._record(step, "GET /s/<slug>", started, None, f"transport.{type(error).__name__}")
        self._record(step, "GET /s/<slug>", started, response)
        if response.status_code == 200:
            with self.ledger.lock:
                self.ledger.views[link_id] += 1
        return None


def run_step(workload: Workload, pool: ThreadPoolExecutor, step: int, rate: float, seconds: float) -> float:
    """Start ``rate`` requests per second for ``seconds`` (open loop); return the wall time incl. draining."""
    total = int(rate * seconds)
    begin = time.perf_counter()
    futures = []
    for n in range(total):
        due = begin + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.05:
            workload.ledger.late_starts += 1
        futures.append(pool.submit(workload.request, step, workload.pick()))
    for future in futures:
        future.result(timeout=REQUEST_TIMEOUT_S * 4)
    return time.perf_counter() - begin


# --- Report and audit ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(ledger: Ledger, rates: list[float], walls: list[float], seconds: float, sampler: CpuSampler) -> None:
    print("\n### Per step and endpoint\n")
    print("| offered req/s | endpoint | requests | achieved req/s | p50 ms | p95 ms | p99 ms | errors | error codes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for step, rate in enumerate(rates):
        samples = [s for s in ledger.samples if s.step == step]
        groups: dict[str, list[Sample]] = defaultdict(list)
        for sample in samples:
            groups[sample.endpoint].append(sample)
        groups["all"] = samples
        for endpoint in ("POST /api/v1/sync", "POST /api/v1/claims/redeem", "GET /s/<slug>", "all"):
            group = groups.get(endpoint, [])
            if not group:
                continue
            latencies = [s.latency_ms for s in group if s.status]
            errors = [s for s in group if not (200 <= s.status < 300 or s.code in ("claim.session_full",))]
            codes = Counter(s.code for s in errors)
            label = f"**{rate:g}**" if endpoint == "all" else f"{rate:g}"
            print(
                f"| {label} | {endpoint} | {len(group)} | {len(group) / walls[step]:.1f} | "
                f"{percentile(latencies, 50):.0f} | {percentile(latencies, 95):.0f} | {percentile(latencies, 99):.0f} "
                f"| {100 * len(errors) / len(group):.1f}% | {', '.join(f'{c} x{n}' for c, n in codes.most_common(3))} |"
            )
    print("\n### CPU per step (mean of 1 s samples; 100% = one core; the machine has 2)\n")
    keys = ["gunicorn workers", "postgres", "load client", "other processes", "machine busy (of 200%)"]
    counts = ["active statements", "waiting for a row lock"]
    print("| offered req/s | wall s | " + " | ".join(keys + counts) + " |")
    print("|---:|---:|" + "---:|" * len(keys + counts))
    for step, rate in enumerate(rates):
        rows = sampler.per_step.get(step, [])
        means = [statistics.fmean(r[k] for r in rows) if rows else float("nan") for k in keys]
        waits = [statistics.fmean(r[k] for r in rows) if rows else float("nan") for k in counts]
        print(
            f"| {rate:g} | {walls[step]:.1f} | "
            + " | ".join(f"{m:.0f}%" for m in means)
            + " | "
            + " | ".join(f"{w:.1f}" for w in waits)
            + " |"
        )
    print(
        f"\n(late starts by the generator: {ledger.late_starts}; sync arrivals skipped because every device had "
        f"a sync in flight: {ledger.no_idle_device}; claims refused as full (expected once the cap is reached, "
        f"not counted as errors): {ledger.claim_full}; {seconds:g} s per step)"
    )


def audit(url: str, world: World, ledger: Ledger, *, cap: int) -> list[str]:
    problems: list[str] = []
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            for syncer in world.syncers:
                client_id = uuid.UUID(syncer.client_id)
                last = connection.scalar(select(SyncClient.last_op_seq).where(SyncClient.id == client_id))
                rows = connection.scalar(
                    select(func.count())
                    .select_from(SyncRow)
                    .where(SyncRow.account_id == syncer.person.account_id, SyncRow.kind == "collection")
                )
                unacked = len(syncer.pending)  # sent, answer lost: applied or not, but never twice
                if last is None or not syncer.acked <= last <= syncer.acked + unacked or rows != last:
                    problems.append(
                        f"{syncer.person.username}: acked {syncer.acked}, server last_op_seq {last}, collections {rows}"
                    )
            claim_rows = connection.execute(select(Claim.account_id, func.count()).group_by(Claim.account_id)).all()
            if any(count != 1 for _, count in claim_rows):
                problems.append("a claimant has more than one claim row")
            claimant_ids = {p.account_id for p in world.claimants}
            held = dict(
                connection.execute(
                    select(HeldCredential.account_id, func.count())
                    .where(HeldCredential.account_id.in_(claimant_ids))
                    .group_by(HeldCredential.account_id)
                ).all()
            )
            lost_answers = set(held) - set(ledger.claimed)
            if (
                not set(ledger.claimed) <= set(held)
                or not lost_answers <= ledger.unknown_claims
                or any(n != 1 for n in held.values())
            ):
                problems.append(
                    f"credentials held by claimants {len(held)} != acknowledged claims "
                    f"{len(ledger.claimed)} (or someone holds two)"
                )
            held_ids = {
                str(i)
                for i in connection.scalars(
                    select(HeldCredential.id).where(HeldCredential.account_id.in_(claimant_ids))
                )
            }
            if not set(ledger.claimed.values()) <= held_ids:
                problems.append("an acknowledged credential id is not in the database")
            claimed, session_cap = connection.execute(select(ClaimSession.claimed, ClaimSession.cap)).one()
            if claimed > session_cap or session_cap != cap:
                problems.append(f"cap exceeded: {claimed} > {session_cap}")
            issued = connection.scalar(select(func.count()).select_from(IssuedCredential))
            if issued != claimed + len(world.shares):
                problems.append(f"issued {issued} != claimed {claimed} + {len(world.shares)} awarded to sharers")
            for link_id, views in connection.execute(select(ShareLink.id, ShareLink.view_count)).all():
                seen = ledger.views.get(link_id, 0)
                if not seen <= views <= seen + ledger.unknown_views.get(link_id, 0):
                    problems.append(
                        f"share {link_id}: view_count {views} != successful views {ledger.views.get(link_id, 0)}"
                    )
            print("\n### Audit\n")
            print("| check | client saw | database has |")
            print("|---|---:|---:|")
            print(
                f"| acked sync ops (collections created) | {sum(s.acked for s in world.syncers)} | "
                f"{connection.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.kind == 'collection'))} |"
            )
            print(f"| successful claimants / credentials held | {len(ledger.claimed)} | {sum(held.values())} |")
            print(f"| claims issued (cap {session_cap}) | {len(ledger.claimed)} | {claimed} |")
            print(
                f"| share views | {sum(ledger.views.values())} | "
                f"{connection.scalar(select(func.sum(ShareLink.view_count))) or 0} |"
            )
    finally:
        engine.dispose()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="10,20,40,60,80")
    parser.add_argument("--step-seconds", type=float, default=45.0)
    parser.add_argument("--cap", type=int, default=1000)
    parser.add_argument("--syncers", type=int, default=120)
    parser.add_argument("--sharers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--proxy-nodes",
        type=int,
        default=0,
        help="0: one `wallet serve`, straight; N: nginx (deploy/nginx-wallet.conf) before N nodes",
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    claims_offered = int(sum(rates) * args.step_seconds * 0.2)
    claimants = min(claims_offered + 10, 5000)
    folder = Path(tempfile.mkdtemp(prefix="load-bench-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    try:
        with postgres_database(args.postgres_url, prefix="wallet_load") as url:
            started = time.perf_counter()
            world = set_up(url, folder, base_url, claimants=claimants, syncers=args.syncers, sharers=args.sharers)
            print(
                f"setup: {claimants} claimants, {args.syncers} syncing learners, {args.sharers} share links in "
                f"{time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs"
            )
            with _servers(url, folder, port, args.proxy_nodes) as server_pids:
                code = register_and_open(world, cap=args.cap)
                ledger = Ledger()
                workload = Workload(world, code, ledger, args.seed)
                sampler = CpuSampler(server_pids, url)
                sampler.start()
                walls = []
                with ThreadPoolExecutor(CLIENT_THREADS) as pool:
                    for step, rate in enumerate(rates):
                        sampler.step = step
                        walls.append(run_step(workload, pool, step, rate, args.step_seconds))
                        sampler.step = -1
                        print(f"step {step + 1}/{len(rates)}: {rate:g} req/s done in {walls[-1]:.0f} s", flush=True)
                        time.sleep(2)
                sampler.stop.set()
            report(ledger, rates, walls, args.step_seconds, sampler)
            problems = audit(url, world, ledger, cap=args.cap)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if problems:
        print("\nAUDIT FAILED:\n- " + "\n- ".join(problems))
        return 1
    print("\nAudit clean: every acknowledged write is present exactly once.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
