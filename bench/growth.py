"""How the server's cost grows with the number of learners: per sync, per claim and per share view, with
1k, 10k and 100k learners in PostgreSQL.

Why: a city's wallet holds many learners, but one learner's sync, claim or share page should cost the
same whether there are a thousand or a hundred thousand others. This seeds PostgreSQL with N learners
and measures the same requests at each N, side by side in one run, and asks PostgreSQL for the plan of
every statement those requests ran: a sequential scan of a large table is a query that grows.

Run: ``.venv/bin/python bench/growth.py [--learners 1000,10000,100000] [--probes 20]``
(``--postgres-url``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``: a temporary database
is created there and dropped afterwards).

Seeding: one *template learner* is made through the services and the API — signed up with a phone,
a credential claimed in a shared claim session of organisation ``seed-org``, a second one awarded, two
tags, a share link, a synced device — and its rows in every learner-owned table (accounts, devices,
refresh tokens, held credentials, share links, sync wallets/clients/rows, claims, issued credentials)
are then cloned with one ``INSERT … SELECT … FROM generate_series`` per row: ids are remapped
consistently (``md5(id || n)::uuid``), unique strings get a suffix, and the clones' issued credentials
take negative status indexes in the seed organisation's list (never allocated, never built). Then
``ANALYZE``.

Measured, at each N, for ``--probes`` fresh learners made through the API (in-process Flask test client,
so "server ms" is the request's wall time in this process; the machine may be shared, so the SQL
statement count and the plans are the steady figures): a sync pushing one op (push + pull), a no-change
sync, a claim in a shared session of organisation ``probe-org`` (``POST /api/v1/claims/redeem``), and
a view of a share page (``GET /s/<slug>``, first view, no cache).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import postgres_database
from sqlalchemy import Text, cast, event, func, literal, select, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Engine
from sqlalchemy.types import String

import wallet.models  # noqa: F401  (every table in the metadata)
from wallet.accounts import services as accounts
from wallet.app import create_app
from wallet.config import Settings
from wallet.db import Base
from wallet.issuing import achievements
from wallet.issuing import credentials as issuing
from wallet.migrate import upgrade
from wallet.models import Role
from wallet.organisations import services as organisations

PASSWORD = "correct horse battery"
PIN = "2468"
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
LEARNER_TABLES = (
    "accounts",
    "devices",
    "refresh_tokens",
    "held_credentials",
    "share_links",
    "sync_wallets",
    "sync_clients",
    "sync_rows",
    "issued_credentials",
    "claims",
)
BIG_TABLE_ROWS = 5000
"""A sequential scan of a table with more rows than this is reported as a query that grows."""


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


# --- statements: count, time and capture them ---------------------------------------------------------


@dataclass
class Recorder:
    active: bool = False
    statements: list[tuple[str, Any, float]] = field(default_factory=list)

    def attach(self, engine: Engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            conn.info["t17c_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if self.active:
                self.statements.append((statement, parameters, time.perf_counter() - conn.info["t17c_started"]))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any, float]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


# --- the world ----------------------------------------------------------------------------------------


class World:
    def __init__(self, url: str, folder: Path) -> None:
        upgrade(url)
        self.clock = Clock()
        settings = Settings(
            database_url=url,
            instance_path=str(folder),
            base_url="https://wallet.test",
            password_hash_profile="CHEAPEST",
            access_token_ttl_seconds=30 * 86400,
            log_json=False,
            log_level="ERROR",
            run_scheduler=False,
        )
        self.app = create_app(settings, clock=self.clock)
        self.state = self.app.extensions["wallet"]
        self.http = self.app.test_client()
        self.recorder = Recorder()
        self.recorder.attach(self.state.engine)
        self.worker = self.person("growth-worker")
        with self.state.session_factory.begin() as db:
            admin = accounts.sign_up(
                db, username="growth-admin", password=PASSWORD, display_name="Admin", email=None,
                hasher=self.state.hasher, now=NOW,
            )  # fmt: skip
            self.admin_id = admin.id
            self.achievements: dict[str, uuid.UUID] = {}
            for org in ("seed-org", "probe-org"):
                organisations.create_organisation(db, slug=org, name=org, now=NOW)
                organisations.add_member(db, slug=org, actor=None, username="growth-admin", role=Role.ADMIN, now=NOW)
                organisations.add_member(
                    db, slug=org, actor=None, username="growth-worker", role=Role.YOUTH_WORKER, now=NOW
                )
                self.achievements[org] = achievements.create_achievement(
                    db, slug=org, actor=admin.id, name=f"Growth {org}", description="Measured growth.",
                    criteria_narrative="Be measured.", now=NOW,
                ).id  # fmt: skip
        self.sessions = {org: self.open_session(org) for org in ("seed-org", "probe-org")}

    def person(self, username: str) -> dict[str, str]:
        answer = self.http.post(
            "/api/v1/accounts",
            json={"username": username, "password": PASSWORD, "display_name": username, "device": {"name": "phone"}},
        )
        assert answer.status_code == 201, answer.json
        return {"Authorization": f"Bearer {answer.json['access_token']}", "account_id": answer.json["account_id"]}

    def open_session(self, org: str) -> str:
        headers = {"Authorization": self.worker["Authorization"]}
        opened = self.http.post(
            f"/api/v1/organisations/{org}/claim-sessions",
            headers=headers,
            json={
                "achievement_id": str(self.achievements[org]),
                "title": f"{org} evening",
                "venue": "Hall",
                "starts_at": (NOW - dt.timedelta(minutes=1)).isoformat(),
                "ends_at": (NOW + dt.timedelta(hours=6)).isoformat(),
                "cap": 10_000,
                "mode": "shared",
                "pin": PIN,
            },
        )
        assert opened.status_code == 201, opened.json
        qr = self.http.get(f"/api/v1/claim-sessions/{opened.json['id']}/qr", headers=headers)
        return str(qr.json["url"])

    def claim(self, learner: dict[str, str], org: str) -> Any:
        return self.http.post(
            "/api/v1/claims/redeem",
            headers={"Authorization": learner["Authorization"]},
            json={"code": self.sessions[org], "pin": PIN},
        )

    def sync(self, learner: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post("/api/v1/sync", json=body, headers={"Authorization": learner["Authorization"]})
        assert answer.status_code == 200, answer.json
        return dict(answer.json)

    def learner_with_everything(self, username: str) -> tuple[dict[str, str], str, dict[str, Any]]:
        """A learner with a claimed and an awarded credential, a share link and a synced device with tags;
        returns their headers, the share page's path and their device's next sync request."""
        learner = self.person(username)
        claimed = self.claim(learner, "probe-org" if username.startswith("probe") else "seed-org")
        assert claimed.status_code in (200, 201), claimed.json
        with self.state.session_factory.begin() as db:
            issuing.award(
                db, slug="seed-org", actor=self.admin_id, achievement_id=self.achievements["seed-org"],
                username=username, kek=self.state.secrets.key_encryption_key, base_url="https://wallet.test", now=NOW,
            )  # fmt: skip
        auth = {"Authorization": learner["Authorization"]}
        held = self.http.get("/api/v1/credentials", headers=auth).json
        items = held["items"] if isinstance(held, dict) else held
        link = self.http.post("/api/v1/shares", headers=auth, json={"credential_id": items[0]["id"]}).json
        client_id = self.http.post("/api/v1/sync/clients", json={}, headers=auth).json["client_id"]
        first = self.sync(learner, {"protocol": 2, "client_id": client_id, "cursor": None, "ops": []})
        cred = next(change["id"][0] for change in first["changes"] if change["k"] == "entry")
        hlc = f"{int(NOW.timestamp() * 1000):013d}-0000-{client_id}"
        ops = [
            {"type": "tag.add", "op_seq": n + 1, "hlc": hlc.replace("-0000-", f"-{n:04d}-"), "cred": cred,
             "tag": tag, "dot": [client_id, n + 1]}
            for n, tag in enumerate(("robotics", "first aid"))
        ]  # fmt: skip
        second = self.sync(learner, {"protocol": 2, "client_id": client_id, "cursor": first["cursor"], "ops": ops})
        path = "/s/" + link["url"].rsplit("/s/", 1)[1]
        following = {"protocol": 2, "client_id": client_id, "cursor": second["cursor"], "cred": cred, "next": 3}
        return learner, path, following


# --- cloning the template learner ----------------------------------------------------------------------


def _owned_rows(conn: Any, account_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    owned: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, set[Any]] = {"accounts": {account_id}}
    for name in LEARNER_TABLES:
        table = tables[name]
        if name == "accounts":
            rows = conn.execute(select(table).where(table.c.id == account_id)).mappings().all()
        else:
            column = table.c.get("account_id")
            if column is None and name == "issued_credentials":
                column = table.c.recipient_account_id
            if column is not None:
                rows = conn.execute(select(table).where(column == account_id)).mappings().all()
            else:  # refresh tokens: through their device
                rows = conn.execute(select(table).where(table.c.device_id.in_(ids["devices"]))).mappings().all()
        owned[name] = [dict(row) for row in rows]
        if "id" in table.c:
            ids[name] = {row["id"] for row in owned[name]}
    return owned


def _expression(table: Any, column: Any, value: Any, n: Any) -> Any:
    """What a clone's ``column`` holds: remapped ids, suffixed unique strings, otherwise the template's."""
    cloned = set(LEARNER_TABLES)
    refers = {fk.column.table.name for fk in column.foreign_keys}
    if value is not None and isinstance(value, uuid.UUID) and (column.primary_key or refers & cloned):
        return cast(func.md5(literal(str(value)) + cast(n, Text)), PG_UUID(as_uuid=True))
    unique = column.unique or any(
        index.unique and [c.name for c in index.columns] == [column.name] for index in table.indexes
    )
    if unique and isinstance(value, str) and isinstance(column.type, String):
        length = column.type.length or 64
        return func.left(literal(value), length - 9) + "-" + func.lpad(cast(n, Text), 8, "0")
    if table.name == "issued_credentials" and column.name == "status_index":
        return -(n * 1000 + value) - 1  # negative: never allocated; distinct per template row
    return literal(value, type_=column.type)


def clone_learners(engine: Engine, template: uuid.UUID, *, first: int, last: int) -> None:
    """Clones ``first`` … ``last`` of the template learner, one INSERT … SELECT per template row."""
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    with engine.begin() as conn:
        owned = _owned_rows(conn, template)
        for name in LEARNER_TABLES:
            table = tables[name]
            for row in owned[name]:
                series = func.generate_series(first, last).table_valued("n").render_derived(name="s")
                n = series.c.n
                columns = [c for c in table.c if not (c.primary_key and isinstance(row[c.name], int))]  # serial ids
                values = [_expression(table, c, row[c.name], n).label(c.name) for c in columns]
                conn.execute(table.insert().from_select([c.name for c in columns], select(*values).select_from(series)))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def table_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608 (our own table names)
            for name in LEARNER_TABLES
        }


# --- measuring -------------------------------------------------------------------------------------


@dataclass
class Figure:
    ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)

    def add(self, elapsed: float, statements: list[tuple[str, Any, float]]) -> None:
        self.ms.append(elapsed * 1000)
        self.statements.append(len(statements))
        self.db_ms.append(sum(t for _, _, t in statements) * 1000)


def measure(world: World, probes: int, scale: int, captured: dict[str, list[tuple[str, Any]]]) -> dict[str, Figure]:
    figures: dict[str, Figure] = defaultdict(Figure)
    for p in range(probes):
        learner, path, following = world.learner_with_everything(f"probe-{scale}-{p}")
        client_id, cred = following["client_id"], following["cred"]
        op = {"type": "entry.set", "op_seq": following["next"], "cred": cred, "field": "note", "value": f"note {p}",
              "hlc": f"{int(NOW.timestamp() * 1000) + 10:013d}-0000-{client_id}"}  # fmt: skip
        for name, ops in (("sync: push 1 op + pull", [op]), ("sync: no change", [])):
            body = {"protocol": 2, "client_id": client_id, "cursor": following["cursor"], "ops": ops}
            with world.recorder.recording() as statements:
                started = time.perf_counter()
                answer = world.sync(learner, body)
                elapsed = time.perf_counter() - started
            following["cursor"] = answer["cursor"]
            figures[name].add(elapsed, statements)
            captured[name] += [(s, params) for s, params, _ in statements]
        claimer = world.person(f"claimer-{scale}-{p}")
        with world.recorder.recording() as statements:
            started = time.perf_counter()
            claimed = world.claim(claimer, "probe-org")
            elapsed = time.perf_counter() - started
        assert claimed.status_code in (200, 201), claimed.json
        figures["claim (shared session)"].add(elapsed, statements)
        captured["claim (shared session)"] += [(s, params) for s, params, _ in statements]
        with world.recorder.recording() as statements:
            started = time.perf_counter()
            page = world.http.get(path)
            elapsed = time.perf_counter() - started
        assert page.status_code == 200
        figures["share page view"].add(elapsed, statements)
        captured["share page view"] += [(s, params) for s, params, _ in statements]
    return figures


def seq_scans(
    engine: Engine, captured: dict[str, list[tuple[str, Any]]], sizes: dict[str, int]
) -> tuple[list[str], int, int]:
    """Every distinct captured statement whose plan scans a big learner table sequentially, and how many
    distinct statements there were and how many PostgreSQL explained."""
    found: list[str] = []
    seen: set[str] = set()
    explained = 0
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for request, statements in captured.items():
            for statement, params in statements:
                head = statement.strip().split()[0].upper()
                if head not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH") or statement in seen:
                    continue
                seen.add(statement)
                cursor = raw.cursor()
                try:
                    cursor.execute("BEGIN")
                    cursor.execute("EXPLAIN " + statement, params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    explained += 1
                except Exception:
                    plan = ""
                finally:
                    cursor.execute("ROLLBACK")
                for table, rows in sizes.items():
                    if rows > BIG_TABLE_ROWS and f"Seq Scan on {table}" in plan:
                        found.append(
                            f"{request}: Seq Scan on {table} ({rows:,} rows): {' '.join(statement.split())[:160]}"
                        )
    return found, len(seen), explained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="1000,10000,100000")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    scales = [int(n) for n in args.learners.split(",")]
    started = time.monotonic()
    results: list[tuple[int, dict[str, Figure], dict[str, int]]] = []
    scans: dict[int, tuple[list[str], int, int]] = {}
    with postgres_database(args.postgres_url, prefix="wallet_growth") as url:
        folder = Path(tempfile.mkdtemp(prefix="growth-bench-"))
        world = World(url, folder)
        template, _, _ = world.learner_with_everything("template")
        template_id = uuid.UUID(template["account_id"])
        made = 1
        try:
            for scale in scales:
                seeding = time.monotonic()
                if scale > made:
                    clone_learners(world.state.engine, template_id, first=made, last=scale - 1)
                    made = scale
                sizes = table_rows(world.state.engine)
                print(f"{scale:,} learners seeded in {time.monotonic() - seeding:.0f} s: "
                      + ", ".join(f"{k} {v:,}" for k, v in sizes.items()), flush=True)  # fmt: skip
                captured: dict[str, list[tuple[str, Any]]] = defaultdict(list)
                figures = measure(world, args.probes, scale, captured)
                results.append((scale, figures, sizes))
                scans[scale] = seq_scans(world.state.engine, captured, sizes)
        finally:
            world.state.engine.dispose()
    print(f"\nServer cost per request as learners grow (bench/growth.py, PostgreSQL, {args.probes} probes per "
          f"size, {time.monotonic() - started:.0f} s)\n")  # fmt: skip
    names = list(results[0][1])
    header = "| request | " + " | ".join(f"{scale:,} learners: ms p50 / SQL / DB ms" for scale, _, _ in results) + " |"
    print(header)
    print("|---|" + "--:|" * len(results))
    for name in names:
        cells = []
        for _, figures, _ in results:
            figure = figures[name]
            cells.append(
                f"{statistics.median(figure.ms):.1f} / {statistics.median(figure.statements):.0f} / "
                f"{statistics.median(figure.db_ms):.1f}"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for scale, (found, distinct, explained) in scans.items():
        print(
            f"Sequential scans of tables over {BIG_TABLE_ROWS:,} rows at {scale:,} learners: {len(found)} "
            f"({explained} of {distinct} distinct statements explained)"
        )
        for line in found:
            print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
