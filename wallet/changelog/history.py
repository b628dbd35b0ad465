"""A learner's change history, locked for one transaction: load rows, join ops in, number the changes.

Why a lock: every change gets the next per-learner ``seq`` while the learner's ``sync_wallets`` row is
held ``FOR UPDATE`` (SQLite serialises writers with ``BEGIN IMMEDIATE`` anyway), so a transaction
that numbers a change commits before any other can number a later one. A cursor at ``seq = n`` can
then never skip a change ``<= n`` that commits late (I6).

Server-originated changes (:mod:`.changes`), server actions and client ops in one transaction share
one :class:`LockedWallet` (kept in ``db.info``), so they see each other's rows and never number the
same change twice.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from wallet_protocol.sync import Hlc, Op, Row, RowKey, apply_op, receive, row_from_wire, row_to_wire, send
from wallet_protocol.sync.ops import affected_keys
from wallet_protocol.sync.state import is_tombstone

from wallet.db import add_inserted
from wallet.models import SyncRow, SyncWallet

SERVER_NODE = "server"
"""The node of the server's own stamps and dots (a client id is a UUID, so it can never collide)."""


def now_ms(now: dt.datetime) -> int:
    return int(now.timestamp() * 1000)


def row_id(key: RowKey) -> str:
    """The storage id of a row: the key's ids as compact JSON (``["sha256:…","robotics"]``)."""
    return json.dumps(list(key[1:]), separators=(",", ":"), ensure_ascii=False)


def row_key(kind: str, stored_id: str) -> RowKey:
    return (kind, *json.loads(stored_id))


def _insert_wallet(db: Session, *, account_id: uuid.UUID, now: dt.datetime) -> SyncWallet | None:
    """Create the learner's wallet row; None when another transaction created it first.

    A row this transaction inserted is as good as locked: no other transaction sees it before the
    commit, and one inserting the same learner waits on the unique key until then.
    """
    values = {
        "account_id": account_id,
        "epoch": str(uuid.uuid4()),
        "seq": 0,
        "gc_floor": 0,
        "hlc": None,
        "server_op_seq": 0,
        "created_at": now,
    }
    return add_inserted(db, SyncWallet, values, unique=["account_id"])


# Built once, with a bound parameter: building a statement and its cache key costs about as much as
# running it, and every claim and sync runs this one (docs/performance.md, fourth pass).
_LOCK_WALLET = (
    select(SyncWallet)
    .where(SyncWallet.account_id == bindparam("account_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def lock_wallet_row(db: Session, *, account_id: uuid.UUID, now: dt.datetime) -> SyncWallet:
    """The learner's wallet row, created on first use, locked until the transaction ends."""
    wallet = db.scalar(_LOCK_WALLET, {"account_id": account_id})
    if wallet is None:
        wallet = _insert_wallet(db, account_id=account_id, now=now)
    if wallet is None:
        wallet = db.scalars(_LOCK_WALLET, {"account_id": account_id}).one()
    return wallet


DEVICE = "device"
SERVER = "server"


@dataclass
class _Checkpoint:
    states: dict[RowKey, Any]
    objects: dict[RowKey, SyncRow | None]
    dirty: set[RowKey]


class LockedWallet:
    """The rows of one locked wallet, cached for the transaction; call :meth:`finish` to number changes."""

    def __init__(self, db: Session, wallet: SyncWallet, now: dt.datetime) -> None:
        self.db = db
        self.wallet = wallet
        self.now = now
        self._states: dict[RowKey, Any] = {}
        self._objects: dict[RowKey, SyncRow | None] = {}
        self._dirty: set[RowKey] = set()
        self._seq_before: dict[RowKey, int | None] = {}
        self._server_written: set[RowKey] = set()
        self.writer = SERVER
        """Who :meth:`put` writes for: ``DEVICE`` only while a sync applies a device's own op."""

    @property
    def account_id(self) -> uuid.UUID:
        return self.wallet.account_id

    def load(self, keys: Iterable[RowKey]) -> dict[RowKey, Row]:
        """The current states of ``keys`` (absent rows left out)."""
        result: dict[RowKey, Any] = {}
        for key in keys:
            if key not in self._objects:
                # No autoflush: every row of this wallet changed in the transaction is cached here, so
                # pending changes elsewhere cannot change the answer; they are flushed at finish.
                with self.db.no_autoflush:
                    stored = self.db.get(SyncRow, (self.account_id, key[0], row_id(key)))
                self._objects[key] = stored
                self._seq_before.setdefault(key, None if stored is None else stored.seq)
                if stored is not None:
                    self._states[key] = row_from_wire(key[0], stored.state)
            if key in self._states:
                result[key] = self._states[key]
        return result

    def known_absent(self, keys: Iterable[RowKey]) -> None:
        """Take ``keys`` as stored nowhere yet, without asking the database: rows named after a credential
        minted in this transaction (its content hash is new, so no device or earlier change can name it)."""
        for key in keys:
            if key not in self._objects:
                self._objects[key] = None
                self._seq_before.setdefault(key, None)

    def put(self, key: RowKey, state: Row) -> None:
        """Store a new state for ``key``; numbered at :meth:`finish`."""
        self.load([key])
        wire = row_to_wire(state)
        stored = self._objects.get(key)
        if stored is None:
            stored = SyncRow(
                account_id=self.account_id, kind=key[0], row_id=row_id(key), state=wire, seq=0, tombstone=False
            )
            self.db.add(stored)
            self._objects[key] = stored
        else:
            stored.state = wire
        self._states[key] = state
        self._dirty.add(key)
        if self.writer != DEVICE:
            self._server_written.add(key)

    def apply(self, op: Op) -> frozenset[RowKey]:
        """Join ``op`` into its rows with the shared rule (``wallet_protocol.sync.apply_op``)."""
        state = self.load(affected_keys(op))
        updated, changed = apply_op(state, op)
        for key in changed:
            self.put(key, updated[key])
        return changed

    def merge_row(self, key: RowKey, row: Row) -> bool:
        """Join a full row state in (server side of ``row.merge``); whether it changed."""
        state = self.load([key])
        current = state.get(key)
        merged = row if current is None else current.join(row)
        if merged == current:
            return False
        self.put(key, merged)
        return True

    def observe(self, stamp: str) -> None:
        """Ratchet the server clock past an accepted stamp, so ``server_hlc`` exceeds all it has seen (I8)."""
        last = Hlc.parse(self.wallet.hlc) if self.wallet.hlc else None
        self.wallet.hlc = str(receive(last, Hlc.parse(stamp), now_ms=now_ms(self.now), node=SERVER_NODE))

    def stamp(self) -> str:
        """A fresh server stamp (HLC send rule)."""
        last = Hlc.parse(self.wallet.hlc) if self.wallet.hlc else None
        self.wallet.hlc = str(send(last, now_ms=now_ms(self.now), node=SERVER_NODE))
        return self.wallet.hlc

    def next_server_op_seq(self) -> int:
        """The number of the server's next own op; its adds use the dot ``("server", n)``."""
        self.wallet.server_op_seq += 1
        return self.wallet.server_op_seq

    def checkpoint(self) -> _Checkpoint:
        return _Checkpoint(dict(self._states), dict(self._objects), set(self._dirty))

    def restore(self, checkpoint: _Checkpoint) -> None:
        """Forget what happened since ``checkpoint`` (after its savepoint was rolled back)."""
        self._states, self._objects, self._dirty = checkpoint.states, checkpoint.objects, checkpoint.dirty
        for key, stored in list(self._objects.items()):
            if stored is not None and stored not in self.db:
                del self._objects[key]
                self._states.pop(key, None)

    def changed_keys(self) -> set[RowKey]:
        return set(self._dirty)

    def changed_only_by_device(self, *, seen_up_to: int) -> set[RowKey]:
        """Rows this transaction changed only with the device's own ops, and that had not changed
        since ``seen_up_to`` before it (their ``seq`` was at or below it, or they did not exist).

        The device that sent those ops already holds exactly the server's row once it joins them
        into its base, so a version-2 answer leaves these rows out (docs/sync.md §7.4). Anything the
        server wrote itself (an action's result, a claimed entry's server dot, facts) is not in it.
        """
        return {
            key
            for key in self._dirty - self._server_written
            if (before := self._seq_before.get(key)) is None or before <= seen_up_to
        }

    def finish(self) -> None:
        """Give every changed row the next ``seq`` (in key order, so numbering is deterministic) and flush."""
        for key in sorted(self._dirty):
            self.wallet.seq += 1
            stored = self._objects[key]
            assert stored is not None
            stored.seq = self.wallet.seq
            stored.tombstone = is_tombstone(self._states[key])
        self._dirty.clear()
        self.db.flush()


@contextmanager
def locked_wallet(db: Session, *, account_id: uuid.UUID, now: dt.datetime) -> Iterator[LockedWallet]:
    """The learner's :class:`LockedWallet` for this transaction; changes are numbered on exit.

    Nested use (a server action recording a change inside a sync) yields the same instance and
    leaves numbering to the outermost block.
    """
    key = ("wallet.sync.locked", account_id)
    active = db.info.get(key)
    if active is not None:
        yield active
        return
    history = LockedWallet(db, lock_wallet_row(db, account_id=account_id, now=now), now)
    db.info[key] = history
    try:
        yield history
        history.finish()
    finally:
        db.info.pop(key, None)


def stored_rows(db: Session, *, account_id: uuid.UUID) -> dict[RowKey, Row]:
    """Every stored row of the learner as ``RowKey -> state``; tests and export."""
    rows = db.scalars(select(SyncRow).where(SyncRow.account_id == account_id))
    return {row_key(row.kind, row.row_id): row_from_wire(row.kind, row.state) for row in rows}
