"""CPU per claim of this tree beside another revision's, measured in lockstep so a busy machine slows both alike.

Why: on a shared machine the CPU a claim costs drifts by half within one run of ``bench/claim_profile.py``
(other sessions' work takes the caches and the cores), so two runs one after the other cannot tell a
10% change from the drift. Here two worker processes — one importing this tree's ``wallet``, one importing
a copy of ``--against`` (``git archive``) — each set up the world of ``bench/claim.py`` on a database of
their own, and take turns: a batch of claims in one, then a batch in the other, and so on. Each batch is
timed on the worker's own CPU clock (``time.process_time``) and on the CPU of the PostgreSQL backends
serving its database (``/proc``), so the table says what a claim costs in Python and in PostgreSQL,
side by side. The claims are those of ``bench/claim_profile.py``: one shared session's QR URL with a PIN,
through the WSGI app in process (no sockets, no gunicorn).

Run: ``.venv/bin/python bench/claim_compare.py [--against main] [--claims 400] [--batch 20] [--db postgres]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def worker(args: argparse.Namespace) -> int:
    """One side: set up, say ``ready``, then answer each ``go N`` with the CPU of N more claims."""
    sys.path.insert(0, args.bench_dir)
    from claim import ORG, PIN, World, _ours, _proc_cpu, set_up  # the side's own bench helpers
    from harness import bench_database
    from sqlalchemy import event
    from sqlalchemy.engine import make_url

    from wallet.app import create_app

    total = args.claims + args.warm
    with bench_database(args.db, args.postgres_url, folder_prefix="claim-compare-") as (url, folder):
        world: World = set_up(url, folder, base_url="http://127.0.0.1:9", claimants=total, scenarios=1)
        settings = dataclasses.replace(
            world.settings, ratelimit_claim_code_per_ip_per_minute=0, ratelimit_claim_code_per_ip_per_day=0
        )
        app = create_app(settings)
        client = app.test_client()
        worker_headers = {"Authorization": f"Bearer {world.worker_token}"}
        now = dt.datetime.now(dt.UTC)
        opened = client.post(
            f"/api/v1/organisations/{ORG}/claim-sessions",
            headers=worker_headers,
            json={
                "achievement_id": str(world.achievement_ids[0]),
                "title": "Compare",
                "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
                "cap": total,
                "pin": PIN,
            },
        )
        assert opened.status_code == 201, opened.json
        code = client.get(f"/api/v1/claim-sessions/{opened.json['id']}/qr", headers=worker_headers).json["url"]
        database = (make_url(url).database or "") if args.db == "postgres" else ""
        statements = [0]

        @event.listens_for(app.extensions["wallet"].engine, "before_cursor_execute")
        def count(*_: Any) -> None:
            statements[0] += 1

        def backends_cpu() -> float:
            return sum(_proc_cpu(pid) for _, pid in _ours(-1, database)) if database else 0.0

        next_learner = 0

        def claims(n: int) -> None:
            nonlocal next_learner
            for _ in range(n):
                learner = world.learners[next_learner]
                next_learner += 1
                response = client.post(
                    "/api/v1/claims/redeem",
                    headers={"Authorization": f"Bearer {learner.token}"},
                    json={"code": code, "pin": PIN},
                )
                assert response.status_code == 201, response.json

        claims(args.warm)
        print("ready", flush=True)
        for line in sys.stdin:
            command = line.split()
            if command[0] != "go":
                break
            n = int(command[1])
            statements[0] = 0
            pg_before, cpu_before = backends_cpu(), time.process_time()
            claims(n)
            cpu, pg = time.process_time() - cpu_before, backends_cpu() - pg_before
            print(f"done {cpu:.6f} {pg:.6f} {statements[0]}", flush=True)
        app.extensions["wallet"].engine.dispose()
    return 0


@dataclasses.dataclass
class Side:
    name: str
    process: subprocess.Popen[str]
    python_cpu: list[float] = dataclasses.field(default_factory=list)
    postgres_cpu: list[float] = dataclasses.field(default_factory=list)
    statements: int = 0
    claims: int = 0

    def expect(self, word: str) -> list[str]:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} side stopped")
            if line.startswith(word):
                return line.split()[1:]

    def batch(self, n: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"go {n}\n")
        self.process.stdin.flush()
        cpu, pg, statements = self.expect("done")
        self.python_cpu.append(float(cpu) * 1000 / n)
        self.postgres_cpu.append(float(pg) * 1000 / n)
        self.statements += int(statements)
        self.claims += n


def start(name: str, source: Path, args: argparse.Namespace) -> Side:
    env = {**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{source / 'client_sdk'}"}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--bench-dir",
        str(source / "bench"),
        "--claims",
        str(args.claims),
        "--warm",
        str(args.warm),
        "--db",
        args.db,
        "--postgres-url",
        args.postgres_url,
    ]
    process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=source)
    return Side(name, process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--against", default="main", help="the git revision to compare with (default: main)")
    parser.add_argument("--claims", type=int, default=400, help="claims per side (default 400)")
    parser.add_argument("--batch", type=int, default=20, help="claims per turn (default 20)")
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bench-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.claims < args.batch or args.batch < 1:
        parser.error("--claims must be at least --batch, and --batch at least 1")
    revision = subprocess.run(
        ["git", "rev-parse", "--short", args.against], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    here = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="claim-compare-") as folder:
        copy = Path(folder)
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
        sides = [start(f"{args.against} ({revision})", copy, args), start(f"this tree ({here})", ROOT, args)]
        try:
            for side in sides:
                side.expect("ready")
            turns = args.claims // args.batch
            for turn in range(turns):
                for side in sides if turn % 2 == 0 else reversed(sides):
                    side.batch(args.batch)
        finally:
            for side in sides:
                if side.process.stdin is not None:
                    side.process.stdin.write("quit\n")
                    side.process.stdin.close()
                side.process.wait(timeout=120)
    print(
        f"\n{args.db}: {turns} turns of {args.batch} claims per side, alternating. CPU ms per claim: the mean over"
        " every turn, and the median turn's (PostgreSQL's clock ticks at 10 ms, so only its mean is given)\n"
    )
    print(
        "| code | claims | SQL statements per claim | Python CPU ms, mean (median turn) "
        "| PostgreSQL backends CPU ms | sum |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for side in sides:
        python, postgres = statistics.mean(side.python_cpu), statistics.mean(side.postgres_cpu)
        print(
            f"| {side.name} | {side.claims} | {side.statements / side.claims:.1f} "
            f"| {python:.1f} ({statistics.median(side.python_cpu):.1f}) | {postgres:.1f} | {python + postgres:.1f} |"
        )
    ratios = [b / a for a, b in zip(sides[0].python_cpu, sides[1].python_cpu, strict=True)]
    old, new = (statistics.mean(side.python_cpu) + statistics.mean(side.postgres_cpu) for side in sides)
    print(
        f"\nThis tree against {args.against}: {new / old:.2f}x the CPU per claim (Python + PostgreSQL); Python alone,"
        f" turn by turn: median {statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
