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

``--pg-log FILE`` (PostgreSQL, a local superuser connection) also says what each statement costs the
server: the measured claims' connections ``SET log_statement_stats = on``, so PostgreSQL writes the CPU
(user + system, from ``getrusage``) of every protocol message it handles to its log, and the script reads
back what was appended to ``FILE`` (Debian: ``/var/log/postgresql/postgresql-15-main.log``), keeps this
run's database's lines and adds the parse, bind and execute messages up by statement. The log's
``log_line_prefix`` must name the process and the database (Debian's default, ``%m [%p] %q%u@%d``, does).
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claim import ORG, PIN, World, set_up
from harness import bench_database
from sqlalchemy import event
from sqlalchemy.engine import make_url

from wallet.app import create_app


def _shape(statement: str) -> str:
    """A statement's first words and table, e.g. ``UPDATE claim_sessions``: what it is, not its values."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([a-z_]+)", text, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


def _log_statement_stats(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The statement beside each statistics line: LOG is below ERROR, so lift the threshold to LOG.
    cursor.execute("SET log_statement_stats = on; SET log_min_error_statement = log")
    cursor.close()
    dbapi_connection.commit()


_LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S*@(\S+) (LOG|DETAIL|STATEMENT):  (.*)$")
_USAGE = re.compile(r"([\d.]+) s user, ([\d.]+) s system")


@dataclasses.dataclass
class StatementCpu:
    messages: int = 0
    """Queries and executes: how many times it ran (parse and bind messages are not counted)."""
    cpu_s: float = 0.0
    """Every message of it: parse, bind and execute (extended protocol) or the one query."""


def statement_cpu(log: str, *, database: str) -> dict[str, StatementCpu]:
    """The server CPU of ``database``'s statements in a PostgreSQL log written with ``log_statement_stats``.

    Each message gives three entries from its backend: ``LOG: … STATISTICS``, ``DETAIL:`` with the usage
    and ``STATEMENT:`` with the text, each continued on tab-indented lines; other sessions' are skipped.
    """
    totals: dict[str, StatementCpu] = {}
    pending: dict[str, tuple[str, float]] = {}
    statistics: dict[str, str] = {}
    for pid, db, level, message in _entries(log):
        if db != database:
            continue
        if level == "LOG" and message.endswith("STATISTICS"):
            statistics[pid] = message.removesuffix(" STATISTICS")
        elif level == "DETAIL" and pid in statistics:
            usage = _USAGE.search(message)
            pending[pid] = (statistics.pop(pid), float(usage.group(1)) + float(usage.group(2)) if usage else 0.0)
        elif level == "STATEMENT" and pid in pending:
            kind, cpu = pending.pop(pid)
            entry = totals.setdefault(_shape(message), StatementCpu())
            entry.cpu_s += cpu
            entry.messages += kind in ("QUERY", "EXECUTE MESSAGE")
    return totals


def _entries(log: str) -> Iterator[tuple[str, str, str, str]]:
    """(process, database, level, message) of each log entry, its tab-indented lines joined on."""
    head: tuple[str, str, str] | None = None
    lines: list[str] = []
    for line in log.splitlines():
        found = _LOG_LINE.match(line)
        if found is None:
            if head is not None and line.startswith("\t"):
                lines.append(line[1:])
            continue
        if head is not None:
            yield (*head, "\n".join(lines))
        pid, db, level, message = found.groups()
        head, lines = (pid, db, level), [message]
    if head is not None:
        yield (*head, "\n".join(lines))


def _print_server_cpu(totals: dict[str, StatementCpu], *, claims: int) -> None:
    whole = sum(entry.cpu_s for entry in totals.values()) or 1.0
    print(f"\nPostgreSQL's CPU per claim, by statement (log_statement_stats; {claims} claims):")
    print("| statement | runs per claim | server CPU µs per run | server CPU ms per claim | share |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for shape, entry in sorted(totals.items(), key=lambda item: -item[1].cpu_s):
        runs = entry.messages / claims
        per_run = entry.cpu_s * 1e6 / entry.messages if entry.messages else 0.0
        print(
            f"| `{shape}` | {runs:.2f} | {per_run:.0f} | {entry.cpu_s * 1000 / claims:.3f} "
            f"| {100 * entry.cpu_s / whole:.1f}% |"
        )
    print(f"| all | | | {whole * 1000 / claims:.2f} | 100% |")


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
        log_from = None
        if args.pg_log:
            event.listen(engine, "connect", _log_statement_stats)
            engine.dispose()  # the measured claims' connections are new ones, which log
            log_from = Path(args.pg_log).stat().st_size
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
        server_cpu = None
        if log_from is not None:
            time.sleep(0.5)  # the server writes its log asynchronously to us
            with open(args.pg_log, "rb") as log:
                log.seek(log_from)
                server_cpu = statement_cpu(log.read().decode("utf-8", "replace"), database=make_url(url).database)

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
    if server_cpu is not None:
        _print_server_cpu(server_cpu, claims=args.claims)
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
    parser.add_argument(
        "--pg-log",
        metavar="FILE",
        help="PostgreSQL's log file: also print the server CPU of each statement (log_statement_stats)",
    )
    args = parser.parse_args(argv)
    if args.pg_log and args.db != "postgres":
        parser.error("--pg-log needs --db postgres")
    if not 1 <= args.claims <= 2000:
        parser.error("claims 1-2000")
    print(f"Python {sys.version.split()[0]}; run {uuid.uuid4().hex[:6]}; {Path(__file__).name}", flush=True)
    run(args.db, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
