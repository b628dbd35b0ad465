"""A reset snapshot bigger than one page: it finishes, even below the GC floor, and misses nothing that
happens while it is being downloaded (docs/sync.md §7.2, §9, I6, I10)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from sqlalchemy import func, select, update
from wallet_protocol.sync import view
from wallet_protocol.sync.state import state_from_wire
from wallet_protocol.sync.wire import decode_cursor

from tests.sync.conftest import Device, cred_of
from wallet.changelog import changes
from wallet.changelog.history import stored_rows
from wallet.models import SyncClient, SyncRow, SyncWallet
from wallet.sync.compaction import compact

CRED = cred_of("a badge with many tags")


def _account(device: Device) -> uuid.UUID:
    return uuid.UUID(device.client.get("/api/v1/me", headers=device.headers).json["id"])


def _server_view(db: Any, device: Device) -> dict[str, Any]:
    return view(stored_rows(db, account_id=_account(device)))


def _live_rows(db: Any) -> int:
    return db.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.tombstone.is_(False)))


def _download(device: Device, *, limit: int, max_requests: int = 50) -> tuple[list[dict[str, Any]], list[Any]]:
    """Sync until ``has_more`` is false, as a client keeps a snapshot: every page joined into one."""
    kept: list[dict[str, Any]] = []
    answers = []
    for _ in range(max_requests):
        answer = device.sync(limit=limit)
        answers.append(answer)
        if answer["reset"]:
            kept = []
        kept += answer["changes"]
        if not answer["has_more"]:
            return kept, answers
    raise AssertionError(f"the download did not finish in {max_requests} requests")


def _wallet_with_tombstones(phone: Device, db: Any, clock: Any, *, live: int, removed: int) -> list[dict[str, Any]]:
    """The phone's learner holds one credential; the phone tags it ``live + removed`` times, then takes
    the first ``removed`` tags off again (tombstones for compaction). Returns the tag.add ops."""
    changes.record_entry_added(db, account_id=_account(phone), cred_hash=CRED, now=clock.now)
    db.commit()
    adds = [phone.op("tag.add", cred=CRED, tag=f"tag {n:03}", dot=None) for n in range(live + removed)]
    phone.sync(adds)
    phone.sync([phone.op("tag.remove", cred=CRED, tag=a["tag"], observed=[a["dot"]]) for a in adds[:removed]])
    return adds


def _away_for_100_days(db: Any, clock: Any, *devices: Device) -> None:
    db.execute(
        update(SyncClient)
        .where(SyncClient.id.in_([uuid.UUID(d.client_id) for d in devices]))
        .values(last_seen_at=clock.now - dt.timedelta(days=100))
    )


def test_a_device_back_after_compaction_downloads_a_big_wallet_once(
    device: Any, sign_up: Any, db: Any, clock: Any
) -> None:
    sam = sign_up()
    phone, old_tablet = device(sam), device(sam)
    old_tablet.sync()
    _wallet_with_tombstones(phone, db, clock, live=23, removed=7)
    _away_for_100_days(db, clock, old_tablet)
    assert compact(db, now=clock.now).purged_rows == 7
    db.commit()
    floor = db.scalar(select(SyncWallet.gc_floor))
    assert decode_cursor(old_tablet.cursor).seq < floor

    rows, answers = _download(old_tablet, limit=5)

    live = _live_rows(db)
    assert live == 24  # the entry and its 23 tags
    assert len(answers) == math.ceil(live / 5)
    assert [a["reset"] for a in answers] == [True] + [False] * (len(answers) - 1)
    assert all(c["seq"] < floor for c in answers[0]["changes"])  # what used to restart the download
    assert view(state_from_wire(rows)) == _server_view(db, phone)
    assert old_tablet.sync()["changes"] == []


def test_a_first_sync_of_a_big_compacted_wallet_finishes(device: Any, sign_up: Any, db: Any, clock: Any) -> None:
    sam = sign_up()
    phone = device(sam)
    _wallet_with_tombstones(phone, db, clock, live=11, removed=5)
    assert compact(db, now=clock.now).purged_rows == 5
    db.commit()
    new_phone = device(sam)

    rows, answers = _download(new_phone, limit=4)

    assert len(answers) == math.ceil(12 / 4)
    assert answers[0]["reset"] is True and not any(a["reset"] for a in answers[1:])
    assert view(state_from_wire(rows)) == _server_view(db, phone)
    assert sorted(c["id"][-1] for c in rows if c["k"] == "tag") == [f"tag {n:03}" for n in range(5, 16)]


def test_edits_and_deletions_made_during_a_download_arrive_and_compaction_keeps_them(
    device: Any, sign_up: Any, db: Any, clock: Any
) -> None:
    sam = sign_up()
    phone = device(sam)
    adds = _wallet_with_tombstones(phone, db, clock, live=20, removed=4)
    compact(db, now=clock.now)
    db.commit()
    tablet = device(sam)
    first = tablet.sync(limit=6)
    assert first["reset"] is True and first["has_more"] is True
    sent_first = {c["id"][-1] for c in first["changes"]}
    already_sent = next(a for a in adds[4:] if a["tag"] in sent_first)
    not_yet_sent = next(a for a in reversed(adds) if a["tag"] not in sent_first)

    phone.sync(
        [
            phone.op("tag.remove", cred=CRED, tag=already_sent["tag"], observed=[already_sent["dot"]]),
            phone.op("tag.remove", cred=CRED, tag=not_yet_sent["tag"], observed=[not_yet_sent["dot"]]),
            phone.op("entry.set", cred=CRED, field="note", value="written mid-download"),
            phone.op("tag.add", cred=CRED, tag="new mid-download", dot=None),
        ]
    )
    assert compact(db, now=clock.now).purged_rows == 0  # the tablet's snapshot still needs both tombstones
    db.commit()
    rest, answers = _download(tablet, limit=6)

    assert not any(a["reset"] for a in answers)
    shown = view(state_from_wire(first["changes"] + rest))
    assert shown == _server_view(db, phone)
    assert shown["credentials"][0]["note"] == "written mid-download"
    tags = set(shown["credentials"][0]["tags"])
    assert "new mid-download" in tags
    assert not {already_sent["tag"], not_yet_sent["tag"]} & tags
    assert tablet.sync()["changes"] == []


def test_a_snapshot_abandoned_past_the_horizon_starts_again(device: Any, sign_up: Any, db: Any, clock: Any) -> None:
    sam = sign_up()
    phone = device(sam)
    adds = _wallet_with_tombstones(phone, db, clock, live=10, removed=0)
    tablet = device(sam)
    first = tablet.sync(limit=4)
    assert first["has_more"] is True
    last = adds[-1]
    phone.sync([phone.op("tag.remove", cred=CRED, tag=last["tag"], observed=[last["dot"]])])
    _away_for_100_days(db, clock, tablet)
    assert compact(db, now=clock.now).purged_rows == 1  # the deletion the snapshot would have needed
    db.commit()

    rows, answers = _download(tablet, limit=4)

    assert answers[0]["reset"] is True
    assert view(state_from_wire(rows)) == _server_view(db, phone)
    assert last["tag"] not in view(state_from_wire(rows))["credentials"][0]["tags"]
