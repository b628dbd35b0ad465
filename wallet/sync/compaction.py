"""Purging tombstones (I10, I15): a job function, idempotent, run nightly by the scheduler.

Per wallet, ``gc_floor`` rises to the oldest cursor among the devices seen within the horizon (or the
wallet's ``seq`` when none was): every such device has already pulled each tombstone at or below it,
so the tombstone has done its work. Devices not seen for longer than the horizon are not waited for;
their next sync carries a cursor below the floor and gets ``reset`` — after their pending ops are
applied in that same request, so nothing they wrote is lost, only their stale copy of the wallet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wallet.changelog.history import lock_wallet_row
from wallet.models import SyncClient, SyncRow, SyncWallet

DEFAULT_HORIZON = dt.timedelta(days=90)


@dataclass(frozen=True)
class CompactionReport:
    wallets: int
    purged_rows: int


def compact(db: Session, *, now: dt.datetime, horizon: dt.timedelta = DEFAULT_HORIZON) -> CompactionReport:
    """Raise every wallet's ``gc_floor`` and delete the tombstones at or below it. The caller commits.

    ``horizon`` comes from the ``sync_tombstone_horizon_days`` setting in the scheduler.
    """
    purged = 0
    wallets = 0
    active_since = now - horizon
    for account_id in db.scalars(select(SyncWallet.account_id).order_by(SyncWallet.account_id)).all():
        wallet = lock_wallet_row(db, account_id=account_id, now=now)
        oldest_cursor = db.scalar(
            select(func.min(SyncClient.last_cursor)).where(
                SyncClient.account_id == account_id, SyncClient.last_seen_at >= active_since
            )
        )
        floor = wallet.seq if oldest_cursor is None else min(wallet.seq, oldest_cursor)
        if floor <= wallet.gc_floor:
            continue
        result = db.execute(
            delete(SyncRow).where(SyncRow.account_id == account_id, SyncRow.tombstone.is_(True), SyncRow.seq <= floor)
        )
        purged += result.rowcount or 0  # type: ignore[attr-defined]
        wallet.gc_floor = floor
        wallets += 1
    db.flush()
    return CompactionReport(wallets=wallets, purged_rows=purged)
