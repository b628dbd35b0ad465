"""Claims and syncs per second through nginx to 1 app node and to 2 app nodes, on one PostgreSQL.

Run: ``.venv/bin/python bench/multinode.py [--claims 240] [--syncs 480] [--threads 16]
[--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]``

For each topology (nginx → 1 node, nginx → 2 nodes; each node ``wallet serve --workers 2`` with its own
instance folder, the shared secrets and ``WALLET_TRUST_PROXY``, nginx running ``deploy/nginx-wallet.conf``)
in a fresh PostgreSQL database: ``--claims`` learners, signed up beforehand, each redeem one shared claim
code (cap = learners: every claim issues a signed credential), then ``--syncs`` sync pushes of 4
``collection.create`` ops each from 16 devices, all from ``--threads`` client threads as fast as answers
come. Prints achieved claims/s and syncs/s, p50/p95 latency and errors; then audits that every claim
issued exactly one credential. Everything runs on this machine (client, nginx, nodes, PostgreSQL share
its cores), so the 2-node figure shows what a second node buys when the machine, not the node, is full.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import postgres_database  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from wallet_protocol.sync import send  # noqa: E402

from tests.claims.conftest import make_achievement  # noqa: E402
from tests.conftest import TEST_SECRETS  # noqa: E402
from tests.multinode.cluster import cluster  # noqa: E402
from wallet.app import create_app  # noqa: E402
from wallet.config import Settings  # noqa: E402
from wallet.migrate import upgrade  # noqa: E402
from wallet.models import IssuedCredential, Role  # noqa: E402
from wallet.organisations import services as organisations  # noqa: E402

DEVICES = 16
QUIET = {
    "WALLET_LOG_LEVEL": "ERROR",
    "WALLET_RATELIMIT_LOGIN_PER_IP_PER_MINUTE": "0",
    "WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_MINUTE": "0",
    "WALLET_RATELIMIT_CLAIM_CODE_PER_IP_PER_DAY": "0",
    "WALLET_RATELIMIT_SIGNUP_PER_IP_PER_HOUR": "0",
}


def _seed(
    url: str, folder: Path, *, learners: int
) -> tuple[Any, list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    app = create_app(
        Settings(
            database_url=url,
            instance_path=str(folder / "seed"),
            password_hash_profile="CHEAPEST",
            log_level="ERROR",
            log_json=False,
            run_scheduler=False,
            access_token_ttl_seconds=86_400,
            ratelimit_signup_per_ip_per_hour=0,
            **TEST_SECRETS,
        )
    )
    client = app.test_client()
    now = dt.datetime.now(dt.UTC)

    def sign_up(name: str) -> dict[str, Any]:
        body = client.post(
            "/api/v1/accounts", json={"username": name, "password": "correct horse battery", "device": {"name": "p"}}
        ).json
        return {"account_id": body["account_id"], "headers": {"Authorization": f"Bearer {body['access_token']}"}}

    admin, worker = sign_up("bench-admin"), sign_up("bench-worker")
    factory = app.extensions["wallet"].session_factory
    with factory.begin() as db:
        organisations.create_organisation(db, slug="bench", name="Bench", now=now)
        organisations.add_member(db, slug="bench", actor=None, username="bench-admin", role=Role.ADMIN, now=now)
        organisations.add_member(db, slug="bench", actor=None, username="bench-worker", role=Role.YOUTH_WORKER, now=now)
    with factory() as db:
        achievement_id = make_achievement(db, {"slug": "bench", "admin": type("Admin", (), admin)}, now=now)
    session = client.post(
        "/api/v1/organisations/bench/claim-sessions",
        headers=worker["headers"],
        json={
            "achievement_id": achievement_id,
            "title": "Bench",
            "venue": "Hall",
            "cap": learners,
            "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
        },
    ).json
    claimants = [sign_up(f"bench-learner-{n}")["headers"] for n in range(learners)]
    devices = []
    for n in range(DEVICES):
        headers = sign_up(f"bench-device-{n}")["headers"]
        devices.append((headers, client.post("/api/v1/sync/clients", json={}, headers=headers).json["client_id"]))
    return (session, worker), claimants, devices


def _timed(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        status = http.request(method, path, **kwargs).status_code
    except httpx.TransportError:
        status = 599
    return time.perf_counter() - started, status


def _run(label: str, jobs: list[tuple[str, dict[str, Any]]], base: str, threads: int) -> dict[str, Any]:
    local = threading.local()

    def one(job: tuple[str, dict[str, Any]]) -> tuple[float, int]:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base, timeout=30)
        return _timed(local.http, "POST", job[0], **job[1])

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, jobs))
    wall = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    errors = sum(1 for r in results if r[1] >= 400)
    return {
        "what": label,
        "n": len(jobs),
        "rate": len(jobs) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "errors": errors,
    }


def _sync_jobs(devices: list[tuple[dict[str, str], str]], count: int) -> list[tuple[str, dict[str, Any]]]:
    jobs = []
    seq = dict.fromkeys(range(len(devices)), 0)
    stamps: dict[int, Any] = dict.fromkeys(range(len(devices)))
    for n in range(count):
        d = n % len(devices)
        headers, client_id = devices[d]
        ops = []
        for _ in range(4):
            seq[d] += 1
            stamps[d] = send(stamps[d], now_ms=int(time.time() * 1000), node=client_id)
            ops.append(
                {
                    "type": "collection.create",
                    "op_seq": seq[d],
                    "hlc": str(stamps[d]),
                    "coll": str(uuid.uuid4()),
                    "name": "b",
                }
            )
        body = {"protocol": 1, "client_id": client_id, "cursor": None, "ops": ops}
        jobs.append(("/api/v1/sync", {"headers": headers, "json": body}))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=240)
    parser.add_argument("--syncs", type=int, default=480)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    rows = []
    for nodes in (1, 2):
        with (
            tempfile.TemporaryDirectory(prefix="wallet-multinode-") as tmp,
            postgres_database(args.postgres_url) as url,
        ):
            folder = Path(tmp)
            upgrade(url)
            (session, worker), claimants, devices = _seed(url, folder, learners=args.claims)
            with cluster(database_url=url, folder=folder, nodes=nodes, extra_env=QUIET) as (proxy, _servers):
                code = httpx.get(
                    f"{proxy.url}/api/v1/claim-sessions/{session['id']}/qr", headers=worker["headers"], timeout=30
                ).json()["url"]
                claim_jobs = [("/api/v1/claims/redeem", {"headers": h, "json": {"code": code}}) for h in claimants]
                claims = _run("claims", claim_jobs, proxy.url, args.threads)
                syncs = _run("syncs", _sync_jobs(devices, args.syncs), proxy.url, args.threads)
            from wallet.db import make_engine

            engine = make_engine(url)
            with engine.connect() as connection:
                issued = connection.execute(select(func.count()).select_from(IssuedCredential)).scalar_one()
            engine.dispose()
            assert issued == args.claims - claims["errors"], (issued, claims)
            for row in (claims, syncs):
                rows.append({"nodes": nodes, **row})
    print(
        f"\nnginx → N app nodes (gunicorn, 2 workers x 4 threads each) → one PostgreSQL; {args.threads} client threads"
    )
    print(f"{'nodes':>5} {'what':<7} {'requests':>8} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for row in rows:
        print(
            f"{row['nodes']:>5} {row['what']:<7} {row['n']:>8} {row['rate']:>8.1f} {row['p50']:>8.1f} "
            f"{row['p95']:>8.1f} {row['errors']:>6}"
        )


if __name__ == "__main__":
    main()
