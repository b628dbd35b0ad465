"""What signing reads about an achievement, with its image read or left in the database.

Every claim's signing runs one query for the achievement, its organisation and the active issuer key
(``wallet.issuing.credentials._ACHIEVEMENT_ISSUER_KEY``). An achievement's image (up to 512 KB) lives in
the same row and is never part of a credential: the credential names its URL. ``Achievement.image`` is a
deferred column, so that query leaves it behind; the old path (``undefer``) is what the query read before.
Both are run here on one PostgreSQL database, alternating in rounds, for images of several sizes, and
timed on this process's CPU clock and on the wall clock (PostgreSQL's own work shows only in the latter).

Run: ``.venv/bin/python bench/achievement_read.py [--reads 400] [--postgres-url URL]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid

from harness import postgres_database
from sqlalchemy.orm import Session, undefer

import wallet.models  # noqa: F401
from wallet.db import Base, make_engine
from wallet.issuing.credentials import _ACHIEVEMENT_ISSUER_KEY
from wallet.models import Achievement, Organisation

SIZES_KB = (0, 16, 64, 256, 512)
ROUNDS = 8
NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
PATHS = {
    "image left in the database (deferred)": _ACHIEVEMENT_ISSUER_KEY,
    "image read with the row (old path)": _ACHIEVEMENT_ISSUER_KEY.options(undefer(Achievement.image)),
}


def _arrange(session: Session) -> dict[int, uuid.UUID]:
    organisation = Organisation(slug="bench", name="Bench Makerspace", created_at=NOW)
    session.add(organisation)
    session.flush()
    ids = {}
    for size in SIZES_KB:
        achievement = Achievement(
            organisation_id=organisation.id,
            name=f"Soldering ({size} KB image)",
            description="Soldered a blinking LED kit.",
            image=os.urandom(size * 1024) if size else None,
            image_media_type="image/png" if size else None,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(achievement)
        session.flush()
        ids[size] = achievement.id
    session.commit()
    return ids


def _time(session: Session, statement: object, achievement_id: uuid.UUID, reads: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reads):
        found = session.execute(statement, {"achievement_id": achievement_id}).first()  # type: ignore[call-overload]
        assert found is not None
        session.expunge_all()  # each claim reads it afresh
    return (time.process_time() - cpu) * 1000 / reads, (time.perf_counter() - wall) * 1000 / reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=400, help="reads per path, size and round")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with postgres_database(args.postgres_url, prefix="wallet_bench_achievement") as url:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            ids = _arrange(session)
            results: dict[tuple[str, int], list[tuple[float, float]]] = {}
            for _ in range(ROUNDS):
                for size, achievement_id in ids.items():
                    for name, statement in PATHS.items():
                        _time(session, statement, achievement_id, 20)  # warm
                        timing = _time(session, statement, achievement_id, args.reads // ROUNDS)
                        results.setdefault((name, size), []).append(timing)
        engine.dispose()
    print(f"{ROUNDS} alternating rounds, {args.reads} reads per row in all; medians of the rounds\n")
    print("| image | path | CPU ms per read (this process) | wall ms per read |")
    print("| ---: | --- | ---: | ---: |")
    for size in SIZES_KB:
        for name in PATHS:
            timings = results[(name, size)]
            cpu = statistics.median(t[0] for t in timings)
            wall = statistics.median(t[1] for t in timings)
            print(f"| {size} KB | {name} | {cpu:.3f} | {wall:.3f} |")


if __name__ == "__main__":
    main()
