"""Does sign-in's response time tell unknown usernames apart? Old path (hash the decoy on every attempt)
against the new one (verify against a decoy hashed once), side by side, with the production argon2 profile.

Run: ``PYTHONPATH=client_sdk:. .venv/bin/python bench/sign_in_timing.py [--rounds 40]``. It calls
``wallet.accounts.services.authenticate`` directly on an in-memory SQLite database (no HTTP: the network
would only add noise to both columns) with a wrong password for a real username and for an unknown one.
The numbers go in docs/security.md "Sign-in timing".
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from wallet.accounts import passwords
from wallet.accounts import services as accounts
from wallet.db import Base, make_engine
from wallet.errors import DomainError


def _old_authenticate(db: Session, *, username: str, password: str, hasher: passwords.PasswordHasher) -> None:
    """The path before the fix: an unknown username hashed the decoy afresh, then verified it."""
    from sqlalchemy import select

    from wallet.models import Account

    account = db.scalar(select(Account).where(Account.username == username))
    if account is None:
        passwords.verify_password(hasher, hasher.hash("not-a-real-password-but-a-timing-decoy"), password)
        raise DomainError("auth.invalid_credentials")
    passwords.verify_password(hasher, account.password_hash, password)
    raise DomainError("auth.invalid_credentials")


def _median_ms(attempt: Callable[[], None], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        with contextlib.suppress(DomainError):
            attempt()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    hasher = passwords.make_hasher("RFC_9106_LOW_MEMORY")
    with Session(engine) as db:
        accounts.sign_up(
            db,
            username="sam",
            password="correct horse battery",
            display_name="Sam",
            email=None,
            hasher=hasher,
            now=dt.datetime.now(dt.UTC),
        )
        db.commit()
        paths = {"old": _old_authenticate, "new": accounts.authenticate}
        rows = []
        for label, authenticate in paths.items():
            known = _median_ms(
                lambda a=authenticate: a(db, username="sam", password="wrong", hasher=hasher), args.rounds
            )
            unknown = _median_ms(
                lambda a=authenticate: a(db, username="nobody", password="wrong", hasher=hasher), args.rounds
            )
            rows.append((label, known, unknown, unknown / known))
    print(f"argon2id {hasher.time_cost=} {hasher.memory_cost=} KiB, {args.rounds} rounds, median ms")
    print(f"{'path':<6} {'real username':>14} {'unknown username':>17} {'ratio':>7}")
    for label, known, unknown, ratio in rows:
        print(f"{label:<6} {known:>14.1f} {unknown:>17.1f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
