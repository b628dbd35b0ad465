"""Pathway progress for a learner with many badges over many pathways: the shared rule, the phone, the server.

Why: the learner's pathways page, the phone's offline view and every automatic award compute progress over
all the learner's credentials and all published pathways. The target is under 20 ms for 500 badges over
50 pathways.

Run: ``.venv/bin/python bench/pathways.py [--badges 500] [--pathways 50] [--repeat 30]``.

Rows (median and p95 of ``--repeat`` runs, one process, after one warm-up run):

1. *rule only*: indexing the badges already read (:class:`BadgeIndex`) and
   :func:`wallet_protocol.pathways.progress` for every pathway;
2. *phone*: reading every credential's JSON (:func:`wallet_badges`) once, then the rule — what
   ``OfflineWallet.pathway_progress`` does over its replica;
3. *naive rival*: the same answer by re-reading every credential for every pathway (what a per-pathway
   query-and-parse implementation does) — the path the shared one-read design replaces;
4. *server*: :func:`wallet.pathways.services.learner_pathways` on SQLite — the query of the learner's
   held credentials, the 50 pathway rows, and the rule (what ``GET /api/v1/me/pathways`` does before
   serialising); once with every credential read before (the steady state: a credential's reading is
   cached by its content hash, which never changes) and once with every credential read anew.

The credentials are OB 3.0 JSON of realistic size (about 2.5 KB, an alignment each), unsigned: progress
never checks signatures, so signing would only slow the setup.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wallet_protocol.pathways import BadgeIndex, pathway_rule, progress, wallet_badges

BASE = "https://wallet.example"


def _credential(index: int, achievement: str, skill: str, when: dt.datetime) -> bytes:
    document = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"urn:uuid:{uuid.UUID(int=index + 1)}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:key:z6MkexampleIssuer", "type": ["Profile"], "name": "Makerspace North"},
        "validFrom": when.isoformat().replace("+00:00", "Z"),
        "name": f"Badge {index}",
        "credentialSubject": {
            "id": "urn:uuid:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": achievement,
                "type": ["Achievement"],
                "name": f"Badge {index}",
                "description": "Took part in a session and showed what they learned. " * 8,
                "criteria": {"narrative": "Take part and show the youth worker. " * 6},
                "alignment": [
                    {"type": ["Alignment"], "targetName": "A skill", "targetUrl": skill, "targetType": "CFItem"}
                ],
            },
        },
        "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z" + "5" * 86},
    }
    return json.dumps(document).encode()


def _world(badges: int, pathways: int, seed: int = 7) -> tuple[list[tuple[bytes, str, str | None]], list[dict]]:
    rnd = random.Random(seed)
    achievements = [f"{BASE}/achievements/{uuid.UUID(int=10_000 + n)}" for n in range(300)]
    skills = [f"{BASE}/frameworks/city/v1/items/item-{n}" for n in range(80)]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    wallet = []
    for index in range(badges):
        raw = _credential(index, rnd.choice(achievements), rnd.choice(skills), start + dt.timedelta(hours=index))
        wallet.append((raw, f"sha256:{index:064x}", "valid"))
    definitions = []
    for n in range(pathways):
        steps = []
        for _ in range(rnd.randint(3, 8)):
            kind = rnd.choice(["badge", "any_of", "skill"])
            if kind == "badge":
                steps.append({"kind": "badge", "achievements": [rnd.choice(achievements)]})
            elif kind == "any_of":
                options = rnd.sample(achievements, rnd.randint(3, 12))
                steps.append({"kind": "any_of", "n": rnd.randint(1, 3), "achievements": options})
            else:
                steps.append({"kind": "skill", "skills": [rnd.choice(skills)]})
        definitions.append({"id": str(n), "ordered": rnd.random() < 0.3, "steps": steps})
    return wallet, definitions


def _time(run: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(median wall ms, p95 wall ms, median CPU ms of this process) after one warm-up run."""
    run()
    samples, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))], statistics.median(cpu)


def _server(
    wallet: list[tuple[bytes, str, str | None]], definitions: list[dict], repeat: int
) -> list[tuple[str, float, float, float]]:
    from wallet.db import make_engine, make_session_factory
    from wallet.migrate import upgrade
    from wallet.models import Account, HeldCredential, Organisation, Pathway
    from wallet.pathways import services
    from wallet.pathways.services import learner_pathways

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        with factory.begin() as db:
            account = Account(
                username="bench-learner",
                password_hash="x",
                display_name="",
                subject_id="urn:uuid:learner",
                created_at=now,
            )
            organisation = Organisation(slug="north", name="North", created_at=now)
            db.add_all([account, organisation])
            db.flush()
            for raw, digest, outcome in wallet:
                db.add(
                    HeldCredential(
                        account_id=account.id,
                        content_hash=digest,
                        raw=raw,
                        media_type="application/vc+ld+json",
                        format="vc-json",
                        source="claim",
                        added_at=now,
                        outcome=outcome,
                        tags=[],
                    )
                )
            for definition in definitions:
                db.add(
                    Pathway(
                        organisation_id=organisation.id,
                        name=f"Pathway {definition['id']}",
                        steps=definition["steps"],
                        ordered=definition["ordered"],
                        partners=[],
                        created_at=now,
                        updated_at=now,
                    )
                )
            account_id = account.id

        def run() -> object:
            with factory() as db:
                return learner_pathways(db, account_id=account_id)

        def cold() -> object:
            services._read_badges = services._BadgeCache(50_000)
            return run()

        rows = [
            ("server, credentials read before (cache)", *_time(run, repeat)),
            ("server, every credential read anew", *_time(cold, max(3, repeat // 3))),
        ]
        engine.dispose()
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--badges", type=int, default=500)
    parser.add_argument("--pathways", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-server", action="store_true", help="skip the SQLite row")
    args = parser.parse_args()
    wallet, definitions = _world(args.badges, args.pathways)
    rules = [pathway_rule(definition) for definition in definitions]
    badges = wallet_badges(wallet)

    def rule_only() -> object:
        index = BadgeIndex(badges)
        return [progress(rule, index) for rule in rules]

    def phone() -> object:
        index = BadgeIndex(wallet_badges(wallet))
        return [progress(pathway_rule(definition), index) for definition in definitions]

    def naive() -> object:
        return [progress(pathway_rule(definition), wallet_badges(wallet)) for definition in definitions]

    assert rule_only() == phone() == naive()
    rows = [
        ("rule only (badges already read)", *_time(rule_only, args.repeat)),
        ("phone: read credentials once + rule", *_time(phone, args.repeat)),
        ("naive rival: re-read per pathway", *_time(naive, max(3, args.repeat // 5))),
    ]
    if not args.no_server:
        rows.extend(_server(wallet, definitions, args.repeat))
    steps = sum(len(rule.steps) for rule in rules)
    load = os.getloadavg()[0]
    print(f"{args.badges} badges, {args.pathways} pathways ({steps} steps); target < 20 ms")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (CPU ms is this process's own time)")
    print(f"{'path':<42} {'median ms':>10} {'p95 ms':>10} {'CPU ms':>8}")
    for name, median, p95, cpu in rows:
        print(f"{name:<42} {median:>10.2f} {p95:>10.2f} {cpu:>8.2f}")


if __name__ == "__main__":
    main()
