"""Offline sync on the server: one wallet history per learner, its registered clients and its rows.

Rows are stored generically as the merged state of ``wallet_protocol.sync`` (one table for every row
kind, keyed by ``(account_id, kind, row_id)``), so the server holds exactly what the shared join
functions produce and ships it unchanged (docs/sync.md, "ship state, not history"). ``seq`` is the
per-learner change number that cursors count; it is assigned while the learner's ``sync_wallets``
row is locked, so commit order equals seq order (I6).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class SyncWallet(Base):
    """A learner's change history: ``epoch`` names it (a restore starts a new one), ``seq`` counts it."""

    __tablename__ = "sync_wallets"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    gc_floor: Mapped[int] = mapped_column(BigInteger, default=0, doc="Tombstones at or below were purged")
    hlc: Mapped[str | None] = mapped_column(String(100), doc="The server's hybrid logical clock for this wallet")
    server_op_seq: Mapped[int] = mapped_column(BigInteger, default=0, doc="Counter of the server's own dots")
    created_at: Mapped[dt.datetime]


class SyncClient(Base):
    """One device's replica of the wallet; ``last_op_seq`` makes pushes idempotent (I2, I5)."""

    __tablename__ = "sync_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    last_op_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]


class SyncRow(Base):
    """The merged state of one row (``state`` is ``wallet_protocol.sync.row_to_wire`` of it)."""

    __tablename__ = "sync_rows"
    __table_args__ = (Index("ix_sync_rows_account_seq", "account_id", "seq"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(200), primary_key=True, doc="JSON list of the key's ids")
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    seq: Mapped[int] = mapped_column(BigInteger)
    tombstone: Mapped[bool] = mapped_column(Boolean, default=False)
