"""One claim, taken apart: the SQL statements it sends and where its CPU goes (cProfile).

Why: ``bench/claim.py`` says what a claim costs under load; this says what that cost is made of, so a change
to the claim path can be judged statement by statement. The learners redeem one shared session's QR URL
(with a PIN) through the real WSGI app in this process — the same request, authentication, rate limit,
claim rules, signing and storing as under gunicorn, without the sockets.

Run: ``.venv/bin/python bench/claim_profile.py [--db sqlite|postgres] [--claims 100] [--top 25] [--dump FILE]``
(``--dump`` also writes the profile for ``pstats``). To compare two revisions on a busy machine, use
``bench/claim_compare.py``, which runs both in alternating batches.

It sets up the world of ``bench/claim.py`` (fresh database, organisation, learners with tokens), warms up
with a few claims, then counts the SQL statements of each of ``--claims`` claims (``before_cursor_execute``),
times the first half (CPU time of this process) and profiles the second half with cProfile on CPU time
(a busy shared machine makes wall time meaningless); it prints the statements of one claim by kind (in
order with ``--statements``) and the top functions by own and by cumulative time. CPU per claim is this
process's (on PostgreSQL the server's backend CPU is not included; ``bench/claim.py`` measures it).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import io
import pstats
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from claim import ORG, PIN, World, set_up
from harness import bench_database
from sqlalchemy import event

from wallet.app import create_app


def _shape(statement: str) -> str:
    """A statement's first words and table, e.g. ``UPDATE claim_sessions``: what it is, not its values."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([a-z_]+)", text, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


def run(kind: str, args: argparse.Namespace) -> None:
    with bench_database(kind, args.postgres_url, folder_prefix=f"claim-profile-{kind}-") as (url, folder):
        world: World = set_up(
            url, folder, base_url="http://127.0.0.1:9", claimants=args.claims + args.warm, scenarios=1
        )
        settings = dataclasses.replace(
            world.settings, ratelimit_claim_code_per_ip_per_minute=0, ratelimit_claim_code_per_ip_per_day=0
        )
        app = create_app(settings)
        client = app.test_client()
        worker = {"Authorization": f"Bearer {world.worker_token}"}
        now = dt.datetime.now(dt.UTC)
        opened = client.post(
            f"/api/v1/organisations/{ORG}/claim-sessions",
            headers=worker,
            json={
                "achievement_id": str(world.achievement_ids[0]),
                "title": "Profile",
                "starts_at": (now - dt.timedelta(minutes=1)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
                "cap": args.claims + args.warm,
                "pin": PIN,
            },
        )
        assert opened.status_code == 201, opened.json
        code = client.get(f"/api/v1/claim-sessions/{opened.json['id']}/qr", headers=worker).json["url"]

        def claim(n: int) -> None:
            learner = world.learners[n]
            response = client.post(
                "/api/v1/claims/redeem",
                headers={"Authorization": f"Bearer {learner.token}"},
                json={"code": code, "pin": PIN},
            )
            assert response.status_code == 201, response.json

        for n in range(args.warm):
            claim(n)
        engine = app.extensions["wallet"].engine
        statements: list[list[str]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements[-1].append(statement)

        half = args.claims // 2
        cpu_started = time.process_time()
        for n in range(args.warm, args.warm + half):
            statements.append([])
            claim(n)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / half
        profiler = cProfile.Profile(time.process_time)
        for n in range(args.warm + half, args.warm + args.claims):
            statements.append([])
            profiler.enable()
            claim(n)
            profiler.disable()
        event.remove(engine, "before_cursor_execute", count)
        if args.dump:
            profiler.dump_stats(args.dump)
        app.extensions["wallet"].engine.dispose()

    per_claim = [len(s) for s in statements]
    print(
        f"\n## {kind}: {args.claims} claims; {cpu_ms:.1f} ms CPU per claim in this process "
        f"(the first half, unprofiled; cProfile, CPU time, on the second half)"
    )
    print(
        f"SQL statements per claim: min {min(per_claim)}, max {max(per_claim)}, "
        f"mean {sum(per_claim) / len(per_claim):.1f}"
    )
    one = statements[len(statements) // 2]
    shapes = Counter(_shape(s) for s in one)
    print("\nOne claim's statements (by kind):")
    print("| statement | count |\n| --- | ---: |")
    for shape, n in shapes.most_common():
        print(f"| `{shape}` | {n} |")
    if args.statements:
        print("\nIn order:")
        for n, statement in enumerate(one, 1):
            print(f"{n:3}. {' '.join(statement.split())[:240]}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\nTop {args.top} by {order}:")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-(args.top + 2) * 120 :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--statements", action="store_true", help="print one claim's statements in order")
    parser.add_argument("--dump", metavar="FILE", help="also write the cProfile statistics to FILE (pstats)")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    if not 1 <= args.claims <= 2000:
        parser.error("claims 1-2000")
    print(f"Python {sys.version.split()[0]}; run {uuid.uuid4().hex[:6]}; {Path(__file__).name}", flush=True)
    run(args.db, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
