"""How fast can someone guess claim codes, path by path? The table in docs/security.md comes from this script.

Run: ``PYTHONPATH=client_sdk:. .venv/bin/python bench/code_guessing.py [--postgres URL]``. It starts
``wallet serve`` (gunicorn, 2 workers, default limits, ``WALLET_TRUST_PROXY=true`` so each row can come
from its own address in ``X-Forwarded-For``), opens one claim session, and on every path that judges a
code sends made-up typed codes as fast as one client can until the server answers 429: how many
guesses were answered, in what time, and at what rate. The last rows send guesses from one address
over every path in turn, and a sync carrying 101 queued guesses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from harness import SETTINGS_SECRETS, bench_database, free_port, running_server
from wallet_protocol.claim_codes import format_fallback, new_fallback_code
from wallet_protocol.sync import send

from wallet.app import create_app
from wallet.config import Settings
from wallet.migrate import upgrade

PASSWORD = "correct horse battery"
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
MAX_GUESSES = 400


def guess() -> str:
    """A typed code with a valid check character (what a guesser who read the format sends)."""
    return format_fallback(new_fallback_code(lambda n: uuid.uuid4().bytes[:n]))


ACCOUNT_IDS: dict[str, str] = {}


def sign_up(http: httpx.Client, username: str, address: str) -> dict[str, str]:
    response = http.post(
        "/api/v1/accounts",
        json={"username": username, "password": PASSWORD, "device": {"name": "phone"}},
        headers={"X-Forwarded-For": address},
    )
    response.raise_for_status()
    ACCOUNT_IDS[username] = response.json()["account_id"]
    return {"Authorization": f"Bearer {response.json()['access_token']}", "X-Forwarded-For": address}


def open_session(url: str, folder: Any, http: httpx.Client, base_url: str) -> str:
    from wallet.issuing.achievements import create_achievement
    from wallet.models import Role
    from wallet.organisations import services as organisations

    sign_up(http, "bench-admin", "192.0.2.1")
    worker = sign_up(http, "bench-worker", "192.0.2.1")
    settings = Settings(
        database_url=url, instance_path=str(folder), base_url=base_url, run_scheduler=False, **SETTINGS_SECRETS
    )
    state = create_app(settings).extensions["wallet"]
    now = dt.datetime.now(dt.UTC)
    with state.session_factory.begin() as db:
        organisations.create_organisation(db, slug="bench", name="Bench", now=now)
        for username, role in (("bench-admin", Role.ADMIN), ("bench-worker", Role.YOUTH_WORKER)):
            organisations.add_member(db, slug="bench", actor=None, username=username, role=role, now=now)
    admin_id = ACCOUNT_IDS["bench-admin"]
    with state.session_factory.begin() as db:
        achievement = create_achievement(
            db, slug="bench", actor=uuid.UUID(admin_id), name="Bench", description="x", criteria_narrative="x", now=now
        )
        achievement_id = str(achievement.id)
    state.engine.dispose()
    session = http.post(
        "/api/v1/organisations/bench/claim-sessions",
        headers=worker,
        json={
            "achievement_id": achievement_id,
            "title": "Bench",
            "starts_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=2)).isoformat(),
            "cap": 30,
        },
    )
    session.raise_for_status()
    return str(session.json()["id"])


def until_refused(send_one: Callable[[], int]) -> tuple[int, float, str]:
    """Guesses answered before the first 429, the seconds they took, and the first other status seen."""
    started = time.perf_counter()
    answered = 0
    statuses: set[int] = set()
    for _ in range(MAX_GUESSES):
        status = send_one()
        if status == 429:
            break
        statuses.add(status)
        answered += 1
    return answered, time.perf_counter() - started, ",".join(str(s) for s in sorted(statuses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="", help="a PostgreSQL admin URL; SQLite when empty")
    args = parser.parse_args()
    kind = "postgres" if args.postgres else "sqlite"
    with bench_database(kind, args.postgres, folder_prefix="wallet-guess-") as (url, folder):
        upgrade(url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with (
            running_server(url, folder, port, WALLET_TRUST_PROXY="true", WALLET_LOG_LEVEL="ERROR") as _,
            httpx.Client(base_url=base_url, timeout=30) as http,
        ):
            open_session(url, folder, http, base_url)
            rows: list[tuple[str, int, float, str]] = []

            def row(name: str, send_one: Callable[[], int]) -> None:
                answered, seconds, statuses = until_refused(send_one)
                rows.append((name, answered, seconds, statuses))

            anon = {"X-Forwarded-For": "198.51.100.1"}
            row("GET /c/<guess> (no sign-in)", lambda: http.get(f"/c/{guess()}", headers=anon).status_code)
            offer = {"X-Forwarded-For": "198.51.100.2"}
            row(
                "GET /oid4vci/offer/<guess>",
                lambda: http.get(f"/oid4vci/offer/{guess()}", headers=offer).status_code,
            )
            token = {"X-Forwarded-For": "198.51.100.3"}
            row(
                "POST /oid4vci/token (guessed pre-authorized code)",
                lambda: (
                    http.post(
                        "/oid4vci/token",
                        data={"grant_type": GRANT, "pre-authorized_code": uuid.uuid4().hex + uuid.uuid4().hex[:11]},
                        headers=token,
                    ).status_code
                ),
            )
            api = sign_up(http, "guesser-api", "198.51.100.4")
            row(
                "POST /api/v1/claims/redeem (signed in)",
                lambda: http.post("/api/v1/claims/redeem", headers=api, json={"code": guess()}).status_code,
            )
            cookie_client = httpx.Client(base_url=base_url, timeout=30)
            page_headers = {"X-Forwarded-For": "198.51.100.5"}
            sign_up(http, "guesser-page", "198.51.100.5")
            form = cookie_client.get("/code", headers=page_headers)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf is not None
            first = guess()
            cookie_client.post(
                f"/c/{first}/sign-in",
                data={"csrf_token": csrf[1], "username": "guesser-page", "password": PASSWORD},
                headers=page_headers,
            )
            after = cookie_client.get("/code", headers=page_headers)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', after.text)
            assert csrf is not None
            fresh = csrf[1]
            row(
                "POST /c/<guess>/claim (signed in on the page)",
                lambda: (
                    cookie_client.post(
                        f"/c/{guess()}/claim", data={"csrf_token": fresh}, headers=page_headers
                    ).status_code
                ),
            )
            cookie_client.close()

            queued = sign_up(http, "guesser-sync", "198.51.100.6")
            client_id = http.post("/api/v1/sync/clients", json={}, headers=queued).json()["client_id"]
            now_ms = int(time.time() * 1000)
            clock = None
            ops = []
            for seq in range(1, 102):
                clock = send(clock, now_ms=now_ms, node=client_id)
                ops.append(
                    {
                        "type": "claim.redeem",
                        "op_seq": seq,
                        "hlc": str(clock),
                        "action_id": f"g{seq}",
                        "code": guess(),
                        "scanned_at": now_ms,
                    }
                )
            started = time.perf_counter()
            answer = http.post(
                "/api/v1/sync",
                headers=queued,
                json={"protocol": 1, "client_id": client_id, "cursor": None, "ops": ops},
            ).json()
            seconds = time.perf_counter() - started
            deferred = [r for r in answer["rejected"] if r["code"] == "request.rate_limited"]
            rows.append(
                (
                    f"POST /api/v1/sync, 101 queued claim.redeem ops ({len(deferred)} deferred, not acked)",
                    answer["acked_op_seq"],
                    seconds,
                    "200",
                )
            )

            shared = {"X-Forwarded-For": "198.51.100.7"}
            learner = sign_up(http, "guesser-all", "198.51.100.7")
            turn = [0]

            def every_path() -> int:
                turn[0] += 1
                code = guess()
                if turn[0] % 3 == 0:
                    return http.get(f"/c/{code}", headers=shared).status_code
                if turn[0] % 3 == 1:
                    return http.get(f"/oid4vci/offer/{code}", headers=shared).status_code
                return http.post("/api/v1/claims/redeem", headers=learner, json={"code": code}).status_code

            row("every path in turn, one address", every_path)

    print(f"claim-code guessing until 429 ({kind}, wallet serve with 2 workers, default limits)")
    print()
    print("| path | guesses answered | seconds | guesses/s | statuses |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, answered, seconds, statuses in rows:
        rate = answered / seconds if seconds else 0.0
        print(f"| {name} | {answered} | {seconds:.2f} | {rate:.0f} | {statuses} |")


if __name__ == "__main__":
    main()
