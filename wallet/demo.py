"""Demo data, so a fresh install has something to see. Idempotent: running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.accounts import services as accounts
from wallet.accounts.passwords import make_hasher
from wallet.config import Settings
from wallet.models import Account, Organisation, Role
from wallet.organisations import services as organisations

DEMO_ORG = "makerspace-north"
DEMO_PASSWORD = "demo-wallet-2026"  # noqa: S105 - printed to the operator; demo accounts only
DEMO_USERS = (
    ("demo-admin", "Dana (admin)", Role.ADMIN),
    ("demo-worker", "Wes (youth worker)", Role.YOUTH_WORKER),
    ("demo-learner", "Lee", None),
)


def seed_demo(db: Session, *, settings: Settings, now: dt.datetime,
              progress: Callable[[str], None] = lambda _text: None) -> list[str]:
    hasher = make_hasher(settings.password_hash_profile)
    if db.scalar(select(Organisation).where(Organisation.slug == DEMO_ORG)) is None:
        progress("organisation Makerspace North")
        organisations.create_organisation(
            db, slug=DEMO_ORG, name="Makerspace North",
            description="A community makerspace running coding clubs and electronics workshops for young people.",
            url="https://example.org/makerspace-north", now=now)
    for username, display_name, role in DEMO_USERS:
        if db.scalar(select(Account).where(Account.username == username)) is None:
            progress(f"account {username}")
            accounts.sign_up(db, username=username, password=DEMO_PASSWORD, display_name=display_name,
                             email=None, hasher=hasher, now=now)
            if role is not None:
                organisations.add_member(db, slug=DEMO_ORG, actor=None, username=username, role=role, now=now)
    return [
        "Demo data is ready.",
        f"  Sign in as demo-learner, demo-worker or demo-admin with password {DEMO_PASSWORD!r}.",
        f"  Organisation: {DEMO_ORG}. API docs: {settings.base_url}/docs",
    ]
