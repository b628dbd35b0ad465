"""The scheduled re-check: stale verifications are refreshed, fresh ones left alone, and bounded per run."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.holding.factories import json_reply, signed_bytes, status_list_credential
from wallet.credentials.fetcher import GuardedFetcher
from wallet.holding import services as holding

DAY = dt.timedelta(days=1)


def test_stale_credentials_are_reverified_and_revocation_is_noticed(db, sign_up, clock, server):
    account_id = uuid.UUID(sign_up().account_id)
    fetcher = GuardedFetcher(allow_private=True, timeout=2.0)
    server.routes["/status"] = json_reply(status_list_credential(server.url("/status"), revoked=False))
    watched = holding.import_credential(
        db,
        account_id=account_id,
        data=signed_bytes(status_url=server.url("/status")),
        content_type="application/json",
        fetcher=fetcher,
        now=clock.now,
    )
    assert watched.outcome == "valid"
    never_checked = holding.add_credential(
        db,
        account_id=account_id,
        raw=signed_bytes(name="Awarded"),
        media_type="application/json",
        source="award",
        now=clock.now,
    )
    assert never_checked.status_checked_at is None

    clock.advance(hours=2)
    assert holding.refresh_stale_verifications(db, now=clock.now, max_age=DAY, fetcher=fetcher, limit=10) == 1
    assert never_checked.outcome == "valid"
    assert never_checked.status_checked_at == clock.now
    assert watched.status_checked_at < clock.now

    server.routes["/status"] = json_reply(status_list_credential(server.url("/status"), revoked=True))
    clock.advance(days=2)
    assert holding.refresh_stale_verifications(db, now=clock.now, max_age=DAY, fetcher=fetcher, limit=1) == 1
    assert holding.refresh_stale_verifications(db, now=clock.now, max_age=DAY, fetcher=fetcher, limit=10) == 1
    assert watched.outcome == "invalid"
    assert watched.verified_at == clock.now
    assert holding.refresh_stale_verifications(db, now=clock.now, max_age=DAY, fetcher=fetcher, limit=10) == 0


def test_without_the_network_a_refresh_is_indeterminate_not_valid(db, sign_up, clock, server):
    account_id = uuid.UUID(sign_up().account_id)
    credential = holding.add_credential(
        db,
        account_id=account_id,
        raw=signed_bytes(status_url=server.url("/s")),
        media_type="application/json",
        source="award",
        now=clock.now,
    )
    holding.refresh_stale_verifications(db, now=clock.now, max_age=DAY, fetcher=None, limit=10)
    assert credential.outcome == "indeterminate"
