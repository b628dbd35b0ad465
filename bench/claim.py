"""A burst of learners claiming one shared claim session, against the real server under gunicorn.

Why: the moment a room full of young people scans the projector's QR is the service's busiest minute. This
measures it end to end — HTTP, sign-in check, rate limit, the claim rules, signing the OB 3.0 credential and
putting it in the wallet — and then checks in the database that the cap held and nobody got two badges.

Run: ``.venv/bin/python bench/claim.py [--db sqlite|postgres|both] [--claimants 300] [--cap 250]
[--duration 60] [--concurrency 16,32] [--image-kb 0] [--client urllib3|httpx]``.

For each database it makes a fresh instance folder and database (PostgreSQL: a temporary database on the
server of ``--postgres-url``, dropped afterwards), migrates it, creates an organisation with an admin and a
youth worker, one achievement per scenario (with a PNG of ``--image-kb`` KB, if given) and ``--claimants``
learners with access tokens (directly through the services, with the ``CHEAPEST`` password-hash profile so
that setup takes seconds; the bench server runs with it too — never do that in production), starts ``wallet
serve --workers 2`` (gunicorn, gthread, 4 threads each) on a free port of 127.0.0.1 without the scheduler, and
then, for each scenario, the youth worker opens a shared session (with a PIN) through the API and the learners
redeem its QR URL:

1. *in a window*: arrivals spread over ``--duration`` seconds (a Poisson process, i.e. sorted uniform times
   for a fixed count); 10% of learners scan again 1-4 s after their answer (a repeat scan);
2. *as fast as it will go*: every learner at once through ``--concurrency`` client threads; 10% tap twice,
   both requests in flight together (a double tap — the race the unique constraint decides).

A final in-process row times the service alone (``redeem_code`` in its own transaction, one after the
other, and the issuance part of it) so the HTTP figures can be read against the work they carry.
CPU columns come from /proc: the gunicorn workers', PostgreSQL's and this client's, per issued claim.
``--py-spy DIR`` also samples the workers during each scenario (:mod:`sampling`) and prints where their
CPU went.
Traffic goes to 127.0.0.1 only; every loop has a count and a time limit; gunicorn is stopped on any exit.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import random
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
import urllib3
from harness import ROOT, SETTINGS_SECRETS, bench_database, free_port, running_server
from PIL import Image
from sampling import sampled, summary
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from wallet.accounts import services as accounts
from wallet.app import create_app
from wallet.claims import sessions as claim_sessions
from wallet.claims.admission import deliver_claim
from wallet.claims.guessing import CodeGuard, Guesser, GuessPolicy
from wallet.claims.policy import claim_config
from wallet.claims.redeem import redeem_code
from wallet.config import Settings
from wallet.db import make_engine, make_session_factory
from wallet.issuing import achievements
from wallet.issuing.credentials import achievement_url
from wallet.migrate import upgrade
from wallet.models import Account, Claim, ClaimSession, ClaimStatus, HeldCredential, IssuedCredential, Role, SessionMode
from wallet.organisations import services as organisations
from wallet.ratelimit import reserve_hits

PASSWORD = "correct horse battery"
PIN = "4821"
ORG = "bench-makerspace"
REQUEST_TIMEOUT_S = 30.0
INPROCESS_CLAIMS = 60
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Learner:
    account_id: uuid.UUID
    token: str


@dataclass
class World:
    """What setup made: the people, one achievement per scenario, and the secrets the server also reads."""

    url: str
    folder: Path
    settings: Settings
    worker_token: str
    learners: list[Learner]
    achievement_ids: list[uuid.UUID]


@dataclass(frozen=True)
class Outcome:
    learner: int
    status: int
    code: str
    claim_id: str | None
    held_id: str | None
    started: float
    ended: float

    @property
    def latency_ms(self) -> float:
        return (self.ended - self.started) * 1000


@dataclass
class Row:
    database: str
    scenario: str
    requests: int
    wall_s: float
    issued: int
    repeats: int
    full: int
    errors: Counter[str]
    latencies_ms: list[float]
    cpu: dict[str, float]
    problems: list[str] = field(default_factory=list)


# --- Setup -------------------------------------------------------------------------------------------


def badge_png(kilobytes: int) -> bytes:
    """A PNG of about ``kilobytes`` (random pixels do not compress), like a real badge's picture."""
    side = max(8, int((kilobytes * 1024 / 3) ** 0.5))
    picture = Image.frombytes("RGB", (side, side), random.Random(side).randbytes(side * side * 3))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def set_up(url: str, folder: Path, *, base_url: str, claimants: int, scenarios: int, image_kb: int = 0) -> World:
    """Organisation, admin, youth worker, achievements (each with a ``image_kb`` picture, if not 0) and
    learners with tokens, through the services."""
    upgrade(url)
    settings = Settings(
        database_url=url,
        instance_path=str(folder),
        base_url=base_url,
        password_hash_profile="CHEAPEST",
        access_token_ttl_seconds=3600,
        log_json=False,
        log_level="ERROR",
        run_scheduler=False,
        **SETTINGS_SECRETS,
    )
    state = create_app(settings).extensions["wallet"]
    now = dt.datetime.now(dt.UTC)
    try:
        with state.session_factory.begin() as db:

            def person(username: str) -> tuple[uuid.UUID, str]:
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
                    db, account=account, name="bench phone", platform="android", policy=state.token_policy, now=now
                )
                return account.id, pair.access_token

            admin_id, _ = person("bench-admin")
            _, worker_token = person("bench-worker")
            organisations.create_organisation(db, slug=ORG, name="Bench Makerspace", now=now)
            organisations.add_member(db, slug=ORG, actor=None, username="bench-admin", role=Role.ADMIN, now=now)
            organisations.add_member(db, slug=ORG, actor=None, username="bench-worker", role=Role.YOUTH_WORKER, now=now)
            achievement_ids = [
                achievements.create_achievement(
                    db,
                    slug=ORG,
                    actor=admin_id,
                    name=f"Soldering basics {n + 1}",
                    description="Soldered a blinking LED kit.",
                    criteria_narrative="Finish the kit.",
                    now=now,
                ).id
                for n in range(scenarios + 1)
            ]
            if image_kb:
                picture = badge_png(image_kb)
                for achievement_id in achievement_ids:
                    achievements.set_image(
                        db, slug=ORG, actor=admin_id, achievement_id=achievement_id, data=picture, now=now
                    )
            learners = [Learner(*person(f"bench-learner-{n:05d}")) for n in range(claimants)]
    finally:
        state.engine.dispose()
    return World(url, folder, settings, worker_token, learners, achievement_ids)


def open_shared_session(
    client: httpx.Client, world: World, *, achievement_id: uuid.UUID, cap: int, title: str
) -> tuple[uuid.UUID, str]:
    """The youth worker opens a shared session with a PIN; returns its id and the QR's URL."""
    headers = {"Authorization": f"Bearer {world.worker_token}"}
    now = dt.datetime.now(dt.UTC)
    opened = client.post(
        f"/api/v1/organisations/{ORG}/claim-sessions",
        headers=headers,
        json={
            "achievement_id": str(achievement_id),
            "title": title,
            "venue": "Room 2",
            "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": cap,
            "mode": "shared",
            "pin": PIN,
        },
    )
    opened.raise_for_status()
    session_id = uuid.UUID(opened.json()["id"])
    qr = client.get(f"/api/v1/claim-sessions/{session_id}/qr", headers=headers)
    qr.raise_for_status()
    return session_id, str(qr.json()["url"])


# --- Load ----------------------------------------------------------------------------------------------


class LoadClient(Protocol):
    """What the load scenarios need from an HTTP client: one redemption, answered as (status, body)."""

    errors: tuple[type[Exception], ...]
    """What the client raises when a request gets no answer (counted as ``transport.*``)."""

    def redeem(self, token: str, code: str) -> tuple[int, bytes]: ...

    def close(self) -> None: ...


class HttpxLoad:
    """The load through httpx, the client the setup uses (``--client httpx``)."""

    errors = (httpx.HTTPError,)

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def redeem(self, token: str, code: str) -> tuple[int, bytes]:
        response = self._client.post(
            "/api/v1/claims/redeem", headers={"Authorization": f"Bearer {token}"}, json={"code": code, "pin": PIN}
        )
        return response.status_code, response.content

    def close(self) -> None:
        """The setup's client is closed by whoever opened it."""


class Urllib3Load:
    """The load through urllib3's connection pool (``--client urllib3``, the default).

    The bench client shares the machine's cores with the server it measures, so it should take as little
    of them as it can: per request this takes about half of httpx's CPU (docs/performance.md, fifth pass).
    """

    errors = (urllib3.exceptions.HTTPError,)

    def __init__(self, port: int, *, connections: int) -> None:
        self._pool = urllib3.HTTPConnectionPool(
            "127.0.0.1", port, maxsize=connections, block=True, retries=False, timeout=REQUEST_TIMEOUT_S
        )

    def redeem(self, token: str, code: str) -> tuple[int, bytes]:
        response = self._pool.request(
            "POST",
            "/api/v1/claims/redeem",
            body=json.dumps({"code": code, "pin": PIN}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        return response.status, response.data

    def close(self) -> None:
        self._pool.close()


def claim(client: LoadClient, world: World, learner: int, code: str) -> Outcome:
    started = time.perf_counter()
    try:
        status, content = client.redeem(world.learners[learner].token, code)
    except client.errors as error:
        return Outcome(learner, 0, f"transport.{type(error).__name__}", None, None, started, time.perf_counter())
    ended = time.perf_counter()
    try:
        body = json.loads(content)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if 200 <= status < 300:
        return Outcome(learner, status, "ok", body.get("claim_id"), body.get("held_credential_id"), started, ended)
    return Outcome(learner, status, str(body.get("code", "?")), None, None, started, ended)


def in_a_window(
    client: LoadClient, world: World, code: str, *, duration: float, retry_share: float, rng: random.Random
) -> list[Outcome]:
    """Arrivals over ``duration`` seconds; a share of learners scan again 1-4 s after their answer."""
    arrivals = sorted(rng.uniform(0, duration) for _ in world.learners)
    order = rng.sample(range(len(world.learners)), len(world.learners))
    rescans = {learner: rng.uniform(1, 4) for learner in rng.sample(order, round(len(order) * retry_share))}
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def visit(learner: int) -> None:
        first = claim(client, world, learner, code)
        with lock:
            outcomes.append(first)
        if learner in rescans:
            time.sleep(rescans[learner])
            again = claim(client, world, learner, code)
            with lock:
                outcomes.append(again)

    with ThreadPoolExecutor(max_workers=64) as pool:
        started = time.monotonic()
        futures: list[Future[None]] = []
        for at, learner in zip(arrivals, order, strict=True):
            delay = started + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(visit, learner))
        wait(futures, timeout=REQUEST_TIMEOUT_S * 2 + 5)
    return outcomes


def all_at_once(
    client: LoadClient, world: World, code: str, *, concurrency: int, retry_share: float, rng: random.Random
) -> list[Outcome]:
    """Every learner at once through ``concurrency`` threads; double taps go in flight side by side."""
    order = rng.sample(range(len(world.learners)), len(world.learners))
    double = set(rng.sample(order, round(len(order) * retry_share)))
    requests = [learner for learner in order for _ in range(2 if learner in double else 1)]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(claim, client, world, learner, code) for learner in requests]
        wait(futures, timeout=len(requests) * REQUEST_TIMEOUT_S / concurrency + REQUEST_TIMEOUT_S)
    return [future.result() for future in futures if future.done()]


# --- Measuring -----------------------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone or unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _ours(server_pid: int, database: str) -> Iterator[tuple[str, int]]:
    """gunicorn's workers ("server"), and the PostgreSQL backends serving ``database`` (their title names it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            title = b"" if parent == server_pid or not database else (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if parent == server_pid:
            yield "server", int(entry.name)
        elif title.startswith(b"postgres:") and database.encode() in title:
            yield "postgres", int(entry.name)


def cpu_snapshot(server_pid: int, database: str) -> dict[str, float]:
    """CPU seconds so far: gunicorn (master + workers), our PostgreSQL backends, this client, the machine.

    Other processes share the machine: "others" (machine busy minus ours) shows how much they took.
    """
    used = {"server": _proc_cpu(server_pid), "postgres": 0.0}
    for kind, pid in _ours(server_pid, database):
        used[kind] += _proc_cpu(pid)
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle = int(busy[3]) + int(busy[4])
    return {
        **used,
        "client": time.process_time(),
        "busy": (sum(int(v) for v in busy[:8]) - idle) / CLK_TCK,
        "wall": time.monotonic(),
    }


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in before}


@contextlib.contextmanager
def lock_waits(url: str, into: dict[str, float], *, every_s: float = 0.1, at_most_s: float = 600) -> Iterator[None]:
    """Sample pg_stat_activity while the body runs: mean backends running, and waiting on a lock.

    A claim holds its session's row lock from taking the slot (last) to its commit, so claims of one
    session queue there; the share of backends waiting says how much.
    """
    if not url.startswith("postgresql"):
        yield
        return
    stop = threading.Event()
    samples: list[tuple[int, int]] = []
    engine = make_engine(url, pool_size=1)
    query = text(
        "SELECT count(*) FILTER (WHERE state = 'active'), "
        "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def sample() -> None:
        with engine.connect() as connection:
            deadline = time.monotonic() + at_most_s
            while not stop.wait(every_s) and time.monotonic() < deadline:
                active, waiting = connection.execute(query).one()
                samples.append((int(active), int(waiting)))
                connection.rollback()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join(timeout=5)
        engine.dispose()
        if samples:
            into["pg_active"] = statistics.fmean(a for a, _ in samples)
            into["pg_lock_wait"] = statistics.fmean(w for _, w in samples)


def check_database(world: World, *, session_id: uuid.UUID, achievement_id: uuid.UUID, cap: int) -> list[str]:
    """What must hold in the database after the burst; each broken rule is one line."""
    engine = make_engine(world.url)
    problems: list[str] = []
    try:
        with make_session_factory(engine)() as db:
            session = db.get(ClaimSession, session_id)
            assert session is not None
            claims = db.scalar(select(func.count()).where(Claim.session_id == session_id))
            issued_claims = db.scalar(
                select(func.count(func.distinct(Claim.issued_credential_id))).where(
                    Claim.session_id == session_id, Claim.status == ClaimStatus.ISSUED
                )
            )
            issued = db.scalar(select(func.count()).where(IssuedCredential.achievement_id == achievement_id))
            twice_issued = db.scalar(
                select(func.count()).select_from(
                    select(IssuedCredential.recipient_account_id)
                    .where(IssuedCredential.achievement_id == achievement_id)
                    .group_by(IssuedCredential.recipient_account_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            badge_url = achievement_url(world.settings.base_url, achievement_id)
            held = db.scalar(select(func.count()).where(HeldCredential.achievement_id == badge_url))
            twice_held = db.scalar(
                select(func.count()).select_from(
                    select(HeldCredential.account_id)
                    .where(HeldCredential.achievement_id == badge_url)
                    .group_by(HeldCredential.account_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            for name, value in (
                ("session.claimed", session.claimed),
                ("claim rows", claims),
                ("issued claims", issued_claims),
                ("issued credentials", issued),
                ("held credentials", held),
            ):
                if value != cap:
                    problems.append(f"{name} = {value}, expected exactly {cap}")
            if twice_issued:
                problems.append(f"{twice_issued} learners were issued two credentials")
            if twice_held:
                problems.append(f"{twice_held} learners hold two credentials")
    finally:
        engine.dispose()
    return problems


def check_answers(outcomes: list[Outcome], *, cap: int, claimants: int) -> list[str]:
    """What the learners saw must agree: ``cap`` first-time claims, repeats name the same claim."""
    problems = []
    first: dict[int, str] = {}
    for outcome in sorted(outcomes, key=lambda o: o.started):
        if outcome.status == 201:
            if outcome.learner in first:
                problems.append(f"learner {outcome.learner} got a second 201")
            first.setdefault(outcome.learner, outcome.claim_id or "")
    for outcome in outcomes:
        if outcome.status == 200 and first.get(outcome.learner) != outcome.claim_id:
            problems.append(f"learner {outcome.learner}'s repeat named another claim")
    if len(first) != min(cap, claimants):
        problems.append(f"{len(first)} learners got 201, expected {min(cap, claimants)}")
    if len(outcomes) < claimants:
        problems.append(f"only {len(outcomes)} answers arrived in time")
    return problems


def summarise(database: str, scenario: str, outcomes: list[Outcome], cpu: dict[str, float]) -> Row:
    errors: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.status not in (200, 201) and outcome.code != "claim.session_full":
            errors[f"{outcome.status} {outcome.code}"] += 1
    return Row(
        database=database,
        scenario=scenario,
        requests=len(outcomes),
        wall_s=max(o.ended for o in outcomes) - min(o.started for o in outcomes) if outcomes else 0.0,
        issued=sum(o.status == 201 for o in outcomes),
        repeats=sum(o.status == 200 for o in outcomes),
        full=sum(o.code == "claim.session_full" for o in outcomes),
        errors=errors,
        latencies_ms=[o.latency_ms for o in outcomes],
        cpu=cpu,
    )


def in_process(world: World, *, achievement_id: uuid.UUID, count: int) -> tuple[Row, float]:
    """The service alone: ``count`` redemptions, one transaction each, one after another; then issuance alone.

    Returns the row and the mean milliseconds of ``deliver_claim`` (sign, status-list index, store, hold)
    measured in rolled-back transactions for the same learners.
    """
    settings = world.settings
    state = create_app(settings).extensions["wallet"]
    config = claim_config(
        secret_key=state.secrets.secret_key,
        key_encryption_key=state.secrets.key_encryption_key,
        base_url=settings.base_url,
    )
    factory = state.session_factory
    try:
        with factory.begin() as db:
            worker = db.scalar(select(Account.id).where(Account.username == "bench-worker"))
            assert worker is not None
            session = claim_sessions.open_session(
                db,
                organisation_slug=ORG,
                achievement_id=achievement_id,
                actor=worker,
                title="In-process",
                venue="",
                starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
                ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                cap=count,
                mode=SessionMode.SHARED,
                pin=PIN,
                config=config,
                now=dt.datetime.now(dt.UTC),
            )
            fallback = session.fallback_code or ""
        outcomes = []
        learners = world.learners[:count]
        for n, learner in enumerate(learners):
            started = time.perf_counter()
            with factory.begin() as db:
                redemption = redeem_code(
                    db,
                    account_id=learner.account_id,
                    code=fallback,
                    pin=PIN,
                    scanned_at=None,
                    now=dt.datetime.now(dt.UTC),
                    config=config,
                    guard=CodeGuard(  # the guessing limit off: this row times the service alone
                        GuessPolicy(0, 0, 0),
                        Guesser("bench"),
                        lambda limits, cost: reserve_hits(factory, limits, cost=cost, now=dt.datetime.now(dt.UTC)),
                    ),
                )
            outcomes.append(
                Outcome(
                    n,
                    201 if redemption.created else 200,
                    "ok",
                    str(redemption.claim.id),
                    None,
                    started,
                    time.perf_counter(),
                )
            )
        issue_ms = []
        for learner in learners:
            with factory() as db:
                claimed = db.scalar(
                    select(Claim).where(
                        Claim.account_id == learner.account_id, Claim.session_id == redemption.session.id
                    )
                )
                assert claimed is not None
                started = time.perf_counter()
                deliver_claim(db, session=redemption.session, claim=claimed, config=config, now=dt.datetime.now(dt.UTC))
                issue_ms.append((time.perf_counter() - started) * 1000)
                db.rollback()
    finally:
        state.engine.dispose()
    zero = {"server": 0.0, "postgres": 0.0, "client": 0.0, "busy": 0.0, "wall": 0.0}
    return summarise("", f"service alone, 1 at a time ({count})", outcomes, zero), statistics.fmean(issue_ms)


# --- Running -------------------------------------------------------------------------------------------


def percentile(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def run_database(kind: str, args: argparse.Namespace) -> list[Row]:
    rng = random.Random(args.seed)
    scenarios: list[tuple[str, Callable[[LoadClient, World, str], list[Outcome]]]] = [
        (
            f"{args.claimants} in {args.duration:g} s, 10% rescan",
            lambda client, world, code: in_a_window(
                client, world, code, duration=args.duration, retry_share=0.1, rng=rng
            ),
        ),
    ]
    for concurrency in args.concurrency:
        scenarios.append(
            (
                f"all at once, {concurrency} in flight, 10% double tap",
                lambda client, world, code, c=concurrency: all_at_once(
                    client, world, code, concurrency=c, retry_share=0.1, rng=rng
                ),
            )
        )
    rows: list[Row] = []
    failed = False
    keep = args.keep
    with bench_database(kind, args.postgres_url, folder_prefix=f"claim-bench-{kind}-", keep=keep) as (url, folder):
        database = make_url(url).database if kind == "postgres" else ""
        port = free_port()
        started = time.monotonic()
        world = set_up(
            url,
            folder,
            base_url=f"http://127.0.0.1:{port}",
            claimants=args.claimants,
            scenarios=len(scenarios),
            image_kb=args.image_kb,
        )
        print(f"[{kind}] setup: {args.claimants} learners in {time.monotonic() - started:.1f} s", flush=True)
        try:
            with (
                running_server(
                    url,
                    folder,
                    port,
                    WALLET_ACCESS_TOKEN_TTL_SECONDS="3600",
                    # every learner here comes from one IP: the claim-code guessing limit per IP is off
                    WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_MINUTE="0",
                    WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_DAY="0",
                ) as server,
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    timeout=REQUEST_TIMEOUT_S,
                    limits=httpx.Limits(max_connections=80, max_keepalive_connections=80),
                ) as client,
                contextlib.closing(
                    Urllib3Load(port, connections=80) if args.client == "urllib3" else HttpxLoad(client)
                ) as load,
            ):
                for (name, run), achievement_id in zip(scenarios, world.achievement_ids, strict=False):
                    session_id, code = open_shared_session(
                        client, world, achievement_id=achievement_id, cap=args.cap, title=name
                    )
                    waits: dict[str, float] = {}
                    before = cpu_snapshot(server.pid, database)
                    spying = (
                        sampled(server.pid, args.py_spy / f"{kind}-{len(rows) + 1}.txt")
                        if args.py_spy
                        else contextlib.nullcontext()
                    )
                    with spying, lock_waits(url, waits):
                        outcomes = run(load, world, code)
                    cpu = cpu_used(before, cpu_snapshot(server.pid, database)) | waits
                    row = summarise(kind, name, outcomes, cpu)
                    row.problems = check_answers(outcomes, cap=args.cap, claimants=args.claimants)
                    row.problems += check_database(
                        world, session_id=session_id, achievement_id=achievement_id, cap=args.cap
                    )
                    if any(key.startswith(("5", "0")) for key in row.errors):
                        row.problems.append("server errors or transport failures (see server.log)")
                    print(
                        f"[{kind}] {name}: {len(outcomes)} requests in {row.wall_s:.1f} s, "
                        f"{'PASS' if not row.problems else 'FAIL'}",
                        flush=True,
                    )
                    rows.append(row)
            failed = any(row.problems for row in rows)
            inproc, issue_ms = in_process(
                world, achievement_id=world.achievement_ids[-1], count=min(INPROCESS_CLAIMS, args.claimants)
            )
            inproc.database = kind
            inproc.cpu["issue_ms"] = issue_ms
            rows.append(inproc)
        except BaseException:
            failed = True
            raise
        finally:
            log = folder / "server.log"
            tracebacks = log.read_text(errors="replace").count("Traceback") if log.exists() else 0
            if tracebacks:
                print(f"[{kind}] server.log has {tracebacks} tracebacks", flush=True)
                failed = True
            if failed and not keep:
                shutil.copy(log, ROOT / f"claim-bench-{kind}-server.log")
                print(f"[{kind}] copied the server log to claim-bench-{kind}-server.log", flush=True)
    return rows


def print_table(rows: list[Row]) -> None:
    cpus = os.cpu_count() or 1
    print()
    print(
        "| db | scenario | requests | wall s | claims/s | p50 ms | p95 ms | p99 ms | max ms "
        "| 201 issued | 200 repeat | 409 full | other errors | server CPU ms/claim | of the CPU bound | check |"
    )
    print(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |"
    )
    for row in rows:
        lat = row.latencies_ms
        errors = ", ".join(f"{key} x{n}" for key, n in sorted(row.errors.items())) or "none"
        if row.cpu.get("wall"):
            cpu = row.cpu["server"] + row.cpu["postgres"]
            cpu_ms = cpu * 1000 / max(row.issued, 1)
            cpu_text = f"{cpu_ms:.1f}"
            # The CPU bound: the claims/s the machine's cores would carry at this CPU per claim.
            bound_text = f"{row.issued / row.wall_s / (cpus * 1000 / cpu_ms):.0%}" if cpu_ms and row.wall_s else "—"
        elif "issue_ms" in row.cpu:
            cpu_text, bound_text = f"issue alone {row.cpu['issue_ms']:.1f} ms", "—"
        else:
            cpu_text, bound_text = "—", "—"
        check = "PASS" if not row.problems else "FAIL: " + "; ".join(row.problems[:4])
        if not row.cpu.get("wall"):
            check = "—"
        print(
            f"| {row.database} | {row.scenario} | {row.requests} | {row.wall_s:.1f} "
            f"| {row.issued / row.wall_s if row.wall_s else 0:.1f} | {percentile(lat, 50):.0f} "
            f"| {percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {max(lat, default=0):.0f} "
            f"| {row.issued} | {row.repeats} | {row.full} | {errors} | {cpu_text} | {bound_text} | {check} |"
        )
    print()
    print(
        "CPU over each HTTP scenario (seconds; the machine has "
        f"{os.cpu_count()} CPUs, so its ceiling is {os.cpu_count()} x wall):"
    )
    print(
        "| db | scenario | wall s | gunicorn | postgres (ours) | bench client | others | whole machine busy "
        "| PG backends active / waiting on a lock (mean) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        if row.cpu.get("wall"):
            c = row.cpu
            others = c["busy"] - c["server"] - c["postgres"] - c["client"]
            waiting = f"{c['pg_active']:.1f} / {c['pg_lock_wait']:.1f}" if "pg_active" in c else "—"
            print(
                f"| {row.database} | {row.scenario} | {c['wall']:.1f} | {c['server']:.1f} | {c['postgres']:.1f} "
                f"| {c['client']:.1f} | {others:.1f} | {c['busy']:.1f} ({c['busy'] / c['wall'] / cpus:.0%}) "
                f"| {waiting} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--claimants", type=int, default=300)
    parser.add_argument("--cap", type=int, default=250)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds the window scenario spreads over")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[16, 32],
        help="client threads for the all-at-once scenario (comma-separated)",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a server where a temporary database may be created and dropped",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--image-kb",
        type=int,
        default=0,
        help="give each achievement a PNG of about this many KB, as real badges have (0: none; at most 500)",
    )
    parser.add_argument(
        "--client",
        choices=["urllib3", "httpx"],
        default="urllib3",
        help="the HTTP client the learners' requests go through (the setup always uses httpx)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the instance folder (and server.log)")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the gunicorn workers during each scenario with py-spy (pip install py-spy) into DIR",
    )
    args = parser.parse_args(argv)
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    if not 1 <= args.claimants <= 5000 or not 1 <= args.cap <= 100_000 or not 0 < args.duration <= 600:
        parser.error("claimants 1-5000, cap 1-100000, duration up to 600 s")
    if not 0 <= args.image_kb <= 500:
        parser.error("--image-kb 0-500 (an achievement's image is at most 512 KB)")
    print(
        "Bench server: WALLET_PASSWORD_HASH_PROFILE=CHEAPEST (accounts made through the services; never in "
        "production), WALLET_RUN_SCHEDULER=false, gunicorn 2 workers x 4 threads, 127.0.0.1 only."
    )
    print(
        f"Claimants {args.claimants}, cap {args.cap}, PIN on, seed {args.seed}, "
        f"{f'achievement images of {args.image_kb} KB' if args.image_kb else 'no achievement images'}, "
        f"load through {args.client}; "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}.",
        flush=True,
    )
    rows: list[Row] = []
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        rows += run_database(kind, args)
    print_table(rows)
    if args.py_spy:
        for sample in sorted(args.py_spy.glob("*.txt")):
            print(f"\nWhere the gunicorn workers' CPU went, {sample.name} (py-spy):\n{summary(sample)}")
    return 1 if any(row.problems for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
