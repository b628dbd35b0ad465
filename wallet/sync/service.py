"""Registering sync clients and the sync itself: push ops and pull changes in one transaction.

The algorithm is docs/sync.md §5: lock the learner's wallet; refuse a client of another learner (I12);
on a cursor from another epoch answer ``reset`` + ``reregister`` before touching any op (I14); apply
ops in ``op_seq`` order, skipping duplicates and stopping at a gap (I2, I5); record permanent
rejections and still advance; number every changed row under the lock (I6); then read the changes
since the cursor in the same transaction, so the ack and the changes agree (I4, I7).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from wallet_protocol.sync import InvalidOp, Op, encode_cursor, validate_op
from wallet_protocol.sync.ops import (
    ClaimRedeem,
    EntryAdd,
    ImportUrl,
    RequestBadge,
    RowMerge,
    ShareCreate,
    affected_keys,
)
from wallet_protocol.sync.state import ENTRY, ActionResultState, EntryState, action_result_key, entry_key
from wallet_protocol.sync.wire import MAX_PAGE_BYTES, Cursor, SyncRequest, plan_ops

from wallet.changelog.changes import clear_facts_of_absent
from wallet.changelog.history import (
    DEVICE,
    SERVER,
    LockedWallet,
    lock_wallet_row,
    locked_wallet,
    now_ms,
    row_id,
    row_key,
)
from wallet.credentials.fetcher import LocalFirstFetcher
from wallet.errors import DomainError
from wallet.holding import services as holding
from wallet.holding.summary import content_hash
from wallet.models import HeldCredential, SyncClient, SyncRow, SyncWallet
from wallet.sync.actions import UNSUPPORTED, ActionTable, Deferred, run_action

SERVER_ACTION_TYPES = (ClaimRedeem, ShareCreate, ImportUrl, RequestBadge)


class Rejection(Exception):
    """An op the server refuses after validation (it needs the database or a verifier)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Registration:
    client_id: uuid.UUID
    next_op_seq: int
    server_hlc: str


def _parse_client_id(text: str) -> uuid.UUID | None:
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return None
    return parsed if str(parsed) == text else None


def register_client(
    db: Session, *, account_id: uuid.UUID, device_id: uuid.UUID | None, client_id: uuid.UUID | None, now: dt.datetime
) -> Registration:
    """Bind a device's replica to the learner (I12); registering the same id again is harmless.

    A device may choose its id (a random UUID) while still offline, so its first ops already carry
    their final dots; an id another learner registered is ``request.conflict``.
    """
    with locked_wallet(db, account_id=account_id, now=now) as history:
        client = db.get(SyncClient, client_id) if client_id is not None else None
        if client is not None and client.account_id != account_id:
            raise DomainError("request.conflict", "That sync client id is taken; choose another random id.")
        if client is None:
            client = SyncClient(
                id=client_id or uuid.uuid4(),
                account_id=account_id,
                device_id=device_id,
                last_op_seq=0,
                last_cursor=0,
                created_at=now,
                last_seen_at=now,
            )
            db.add(client)
        stamp = history.stamp()
    return Registration(client.id, client.last_op_seq + 1, stamp)


def _client(db: Session, *, account_id: uuid.UUID, client_id: str) -> SyncClient:
    parsed = _parse_client_id(client_id)
    client = db.get(SyncClient, parsed) if parsed is not None else None
    if client is None or client.account_id != account_id:
        raise DomainError(
            "sync.client_unknown", "Register this device's sync client first (POST /api/v1/sync/clients)."
        )
    return client


def _held(db: Session, *, account_id: uuid.UUID, creds: list[str]) -> set[str]:
    if not creds:
        return set()
    return set(
        db.scalars(
            select(HeldCredential.content_hash).where(
                HeldCredential.account_id == account_id, HeldCredential.content_hash.in_(creds)
            )
        )
    )


def _accept_blob(
    db: Session, *, account_id: uuid.UUID, cred: str, encoded: str, now: dt.datetime, fetcher: Any | None
) -> None:
    """Verify and hold a credential a device imported offline (I11): bytes must hash to ``cred``.

    ``fetcher`` answers this service's own documents only (status lists, issuer profiles): nothing is
    fetched from elsewhere while the wallet is locked, so a badge issued here is checked in full and
    another issuer's is held as indeterminate until the nightly re-check."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Rejection("credential.invalid", "the blob is not base64") from exc
    if content_hash(raw) != cred:
        raise Rejection("credential.hash_mismatch", "the blob's sha256 differs from the credential id")
    try:
        with db.begin_nested():
            held = holding.import_credential(
                db, account_id=account_id, data=raw, content_type=None, fetcher=fetcher, now=now, source="sync"
            )
            if held.content_hash != cred:
                raise Rejection("credential.hash_mismatch", "send the credential itself, not an image baked with it")
    except DomainError as error:
        if error.code == "credential.duplicate":
            raise Rejection("credential.invalid", "another copy of this credential is already held") from error
        raise Rejection("credential.invalid", error.detail) from error


class _Session:
    """The state of one sync request while its ops are applied."""

    def __init__(
        self,
        db: Session,
        history: LockedWallet,
        client: SyncClient,
        request: SyncRequest,
        now: dt.datetime,
        fetcher: Any | None,
        handlers: ActionTable,
        claim_guard: Any | None,
    ) -> None:
        self.db = db
        self.history = history
        self.client = client
        self.request = request
        self.now = now
        self.fetcher = fetcher
        self.handlers = handlers
        self.claim_guard = claim_guard
        self.rejected: list[dict[str, Any]] = []
        self.used_blobs: set[str] = set()
        self.refused_blobs: set[str] = set()
        """Blobs sent for entries the server lacks bytes for that it could not accept: still missing."""
        self.arrived = False
        """Whether a credential from elsewhere was verified and held in this sync."""
        self.own_documents = (
            LocalFirstFetcher(local=fetcher.local, remote=None) if isinstance(fetcher, LocalFirstFetcher) else None
        )

    def run(self) -> None:
        indexes, _ = plan_ops([op["op_seq"] for op in self.request.ops], last_op_seq=self.client.last_op_seq)
        for index in indexes:
            raw = self.request.ops[index]
            op_seq = raw["op_seq"]
            try:
                op = validate_op(raw, client_id=str(self.client.id), now_ms=now_ms(self.now))
            except InvalidOp as error:
                self.rejected.append({"op_seq": op_seq, "code": error.code, "detail": error.detail})
                if error.code == "op.clock_skew":
                    break  # not acked: the device re-stamps it after adopting server_hlc (§3)
                self.client.last_op_seq = op_seq
                continue
            try:
                self._apply(op)
            except Deferred as deferred:
                # Transient (docs/sync.md I5): stop here, not acked; the device sends it again later.
                self.rejected.append(
                    {
                        "op_seq": op_seq,
                        "code": deferred.code,
                        "detail": deferred.detail,
                        "retry_after": deferred.retry_after,
                    }
                )
                break
            except Rejection as error:
                self.rejected.append({"op_seq": op_seq, "code": error.code, "detail": error.detail})
            else:
                self.history.observe(op.hlc)
            self.client.last_op_seq = op_seq
        self._accept_standalone_blobs()

    def _apply(self, op: Op) -> None:
        account_id = self.history.account_id
        if isinstance(op, EntryAdd):
            blob = self.request.blobs.get(op.cred)
            if blob is not None and not _held(self.db, account_id=account_id, creds=[op.cred]):
                _accept_blob(
                    self.db, account_id=account_id, cred=op.cred, encoded=blob, now=self.now, fetcher=self.own_documents
                )
                self.used_blobs.add(op.cred)
                self.arrived = True
            elif not (
                _held(self.db, account_id=account_id, creds=[op.cred]) or self.history.load([entry_key(op.cred)])
            ):
                raise Rejection("credential.blob_missing", "send the credential's bytes in blobs with this add")
        if isinstance(op, SERVER_ACTION_TYPES):
            self._run_action(op)
            return
        self.history.writer = DEVICE
        try:
            if isinstance(op, RowMerge):
                self.history.merge_row(op.key, op.row)
            else:
                self.history.apply(op)
        finally:
            self.history.writer = SERVER
        self._forget_removed(op)

    def _forget_removed(self, op: Op) -> None:
        """Drop the held bytes of credentials this op took out of the wallet, so the credential list,
        exports and share pages agree with what every device shows."""
        for key in affected_keys(op):
            if key[0] != ENTRY:
                continue
            row = self.history.load([key]).get(key)
            if not (isinstance(row, EntryState) and row.presence.present):
                holding.forget_credential(self.db, account_id=self.history.account_id, cred_hash=key[1])
                clear_facts_of_absent(self.history, cred_hash=key[1])

    def _run_action(self, op: ClaimRedeem | ShareCreate | ImportUrl | RequestBadge) -> None:
        key = action_result_key(op.action_id)
        existing = self.history.load([key]).get(key)
        if isinstance(existing, ActionResultState) and existing.action != op.TYPE:
            raise Rejection("action.duplicate", "this action_id was already used for another action")
        if op.TYPE not in self.handlers:
            raise Rejection(UNSUPPORTED, f"this server does not perform {op.TYPE} yet")
        checkpoint = self.history.checkpoint()
        try:
            status, code, result = run_action(
                self.db,
                handlers=self.handlers,
                account_id=self.history.account_id,
                op=op,
                now=self.now,
                fetcher=self.fetcher,
                claim_guard=self.claim_guard,
            )
        except Deferred:
            self.history.restore(checkpoint)
            raise
        if status == "failed":
            self.history.restore(checkpoint)
        elif isinstance(op, ImportUrl):
            self.arrived = True
        self.history.observe(op.hlc)
        outcome = validate_op(
            {
                "type": "action.result",
                "op_seq": self.history.next_server_op_seq(),
                "hlc": self.history.stamp(),
                "action_id": op.action_id,
                "action": op.TYPE,
                "status": status,
                "code": code,
                "result": result,
            },
            allow_server_ops=True,
        )
        self.history.apply(outcome)

    def _accept_standalone_blobs(self) -> None:
        """Blobs sent without an add: answers to ``missing_blobs`` for entries the server cannot serve."""
        account_id = self.history.account_id
        offered = [cred for cred in self.request.blobs if cred not in self.used_blobs]
        if not offered:
            return
        held = _held(self.db, account_id=account_id, creds=offered)
        for cred in offered:
            if cred in held or not self.history.load([entry_key(cred)]):
                continue
            try:
                _accept_blob(
                    self.db,
                    account_id=account_id,
                    cred=cred,
                    encoded=self.request.blobs[cred],
                    now=self.now,
                    fetcher=self.own_documents,
                )
            except Rejection:
                self.refused_blobs.add(cred)  # nothing to ack: listed in missing_blobs again
            else:
                self.arrived = True


def _change(row: SyncRow, *, protocol: int) -> dict[str, Any]:
    """A row as sent: version 2 leaves out the ``seq``, which clients never needed (the cursor counts)."""
    change = {"k": row.kind, "id": json.loads(row.row_id), "s": row.state}
    if protocol == 1:
        change["seq"] = row.seq
    return change


def _missing_blobs(db: Session, *, account_id: uuid.UUID, rows: list[SyncRow]) -> list[str]:
    present = [row_key(row.kind, row.row_id)[1] for row in rows if row.kind == ENTRY and not row.tombstone]
    return sorted(set(present) - _held(db, account_id=account_id, creds=present))


@dataclass(frozen=True)
class _Page:
    rows: list[SyncRow]
    reset: bool
    has_more: bool
    cursor: Cursor
    held_seq: int
    """What the device has seen, for compaction (the client's ``last_cursor``)."""


def _rows_within(rows: list[SyncRow], budget: int) -> int:
    """How many of ``rows`` fit in a page of ``budget`` bytes of row state (always at least one)."""
    used = 0
    for count, row in enumerate(rows):
        used += len(json.dumps(row.state, separators=(",", ":"))) + 48
        if used > budget and count:
            return count
    return len(rows)


def _continues_snapshot(cursor: Cursor, wallet: SyncWallet) -> bool:
    """Whether a snapshot cursor can go on: it is from this history, and GC has kept every tombstone it
    still needs — those above both ``seq`` and ``snap`` (an active device's ``last_cursor`` holds the
    floor there; one that stopped mid-snapshot and stayed away past the horizon starts again)."""
    assert cursor.snap is not None
    return cursor.seq <= wallet.seq and cursor.snap <= wallet.seq and wallet.gc_floor <= max(cursor.seq, cursor.snap)


def _page(db: Session, *, account_id: uuid.UUID, wallet: SyncWallet, request: SyncRequest) -> _Page:
    """The changes to send after the ops were applied (docs/sync.md §7.2, §9).

    Three cases. An incremental cursor gets every row changed since it, tombstones included (I6). A
    missing, unusable or too old cursor (below ``gc_floor``: tombstones it needs were purged, I10)
    starts a snapshot of the live rows, ``reset: true``. A snapshot longer than ``limit`` is paged with
    a snapshot cursor that carries ``snap``, the wallet's ``seq`` when it began: its pages continue —
    never restarted for ``gc_floor``, since the rows they skip below it were sent already — with the
    live rows after ``seq`` and any tombstone newer than ``snap``, so a row deleted mid-download reaches
    the device too. Only the first page says ``reset``; the last page returns the plain cursor.
    """
    cursor = request.cursor
    query = select(SyncRow).where(SyncRow.account_id == account_id)
    snap: int | None
    if cursor is not None and cursor.snap is not None and _continues_snapshot(cursor, wallet):
        reset, snap = False, cursor.snap
        query = query.where(SyncRow.seq > cursor.seq, or_(SyncRow.tombstone.is_(False), SyncRow.seq > snap))
    elif (
        cursor is None
        or request.cursor_invalid
        or cursor.snap is not None
        or cursor.seq < wallet.gc_floor
        or cursor.seq > wallet.seq
    ):
        reset, snap = True, wallet.seq
        query = query.where(SyncRow.tombstone.is_(False))
    else:
        reset, snap = False, None
        query = query.where(SyncRow.seq > cursor.seq)
    rows = list(db.scalars(query.order_by(SyncRow.seq).limit(request.limit + 1)))
    has_more = len(rows) > request.limit
    rows = rows[: request.limit]
    if request.protocol >= 2:
        fitting = _rows_within(rows, MAX_PAGE_BYTES)
        has_more = has_more or fitting < len(rows)
        rows = rows[:fitting]
    if not has_more:
        return _Page(rows, reset, False, Cursor(wallet.epoch, wallet.seq), wallet.seq)
    if snap is None:
        return _Page(rows, reset, True, Cursor(wallet.epoch, rows[-1].seq), rows[-1].seq)
    return _Page(rows, reset, True, Cursor(wallet.epoch, rows[-1].seq, snap), max(rows[-1].seq, snap))


def sync(
    db: Session,
    *,
    account_id: uuid.UUID,
    request: SyncRequest,
    now: dt.datetime,
    actions: ActionTable,
    fetcher: Any | None = None,
    claim_guard: Any | None = None,
    recognise: Callable[[Session, uuid.UUID, dt.datetime], object] | None = None,
) -> dict[str, Any]:
    """One sync (docs/sync.md §5); returns the response body. The caller commits.

    ``recognise`` (the app's :func:`wallet.pathways.services.recogniser`) runs once if this sync brought
    credentials from elsewhere into the wallet (a device's offline import, an ``import.url`` action), so
    a pathway they complete awards its outcome badge in this very sync.

    ``claim_guard`` is the claim-code budget reserved for this sync's queued claims (docs/claim-codes.md).

    ``actions`` is the app's table of server actions (:func:`wallet.sync.actions.action_handlers`).
    """
    wallet = lock_wallet_row(db, account_id=account_id, now=now)
    client = _client(db, account_id=account_id, client_id=request.client_id)
    cursor = request.cursor
    applied_from = client.last_op_seq + 1
    if cursor is not None and cursor.epoch != wallet.epoch:
        with locked_wallet(db, account_id=account_id, now=now) as history:
            stamp = history.stamp()
        return _versioned(request, applied_from) | {
            "acked_op_seq": client.last_op_seq,
            "next_op_seq": client.last_op_seq + 1,
            "rejected": [],
            "reset": True,
            "reregister": True,
            "changes": [],
            "missing_blobs": [],
            "cursor": encode_cursor(Cursor(wallet.epoch, 0)),
            "has_more": False,
            "server_hlc": stamp,
        }

    with locked_wallet(db, account_id=account_id, now=now) as history:
        session = _Session(db, history, client, request, now, fetcher, actions, claim_guard)
        session.run()
        touched = [key for key in history.changed_keys() if key[0] == ENTRY]
        incremental = cursor is not None and cursor.snap is None and not request.cursor_invalid
        own: set[tuple[str, str]] = set()
        if request.protocol >= 2 and incremental:
            assert cursor is not None
            own = {(key[0], row_id(key)) for key in history.changed_only_by_device(seen_up_to=cursor.seq)}
        server_hlc = history.stamp()

    if session.arrived and recognise is not None:
        recognise(db, account_id, now)  # its outcome badges are in this sync's page
    page = _page(db, account_id=account_id, wallet=wallet, request=request)
    client.last_cursor = page.held_seq
    client.last_seen_at = now
    touched_rows = [row for key in touched if (row := db.get(SyncRow, (account_id, key[0], row_id(key)))) is not None]
    missing = _missing_blobs(db, account_id=account_id, rows=[*page.rows, *touched_rows])
    missing = sorted(set(missing) | session.refused_blobs)
    db.flush()
    # Rows only this request's ops changed are not echoed: the device joins those ops itself (§7.4).
    sent = page.rows if page.reset else [row for row in page.rows if (row.kind, row.row_id) not in own]
    return _versioned(request, applied_from) | {
        "acked_op_seq": client.last_op_seq,
        "next_op_seq": client.last_op_seq + 1,
        "rejected": session.rejected,
        "reset": page.reset,
        "reregister": False,
        "changes": [_change(row, protocol=request.protocol) for row in sent],
        "missing_blobs": missing,
        "cursor": encode_cursor(page.cursor),
        "has_more": page.has_more,
        "server_hlc": server_hlc,
    }


def _versioned(request: SyncRequest, applied_from: int) -> dict[str, Any]:
    """The fields that depend on the request's protocol version: ``protocol`` itself, and from
    version 2 ``applied_from`` (the first ``op_seq`` this request may have applied)."""
    if request.protocol == 1:
        return {"protocol": 1}
    return {"protocol": request.protocol, "applied_from": applied_from}


def read_blob(db: Session, *, account_id: uuid.UUID, cred: str) -> HeldCredential:
    """A credential the learner holds, by content hash (immutable: the hash names the bytes, I11)."""
    credential = db.scalar(
        select(HeldCredential).where(HeldCredential.account_id == account_id, HeldCredential.content_hash == cred)
    )
    if credential is None:
        raise DomainError("credential.not_found")
    return credential


def read_blobs(db: Session, *, account_id: uuid.UUID, creds: list[str]) -> dict[str, bytes]:
    """The bytes of those of ``creds`` the learner holds, by content hash; others are simply absent,
    so a hash that names another learner's credential reveals nothing (I12)."""
    if not creds:
        return {}
    held = db.execute(
        select(HeldCredential.content_hash, HeldCredential.raw).where(
            HeldCredential.account_id == account_id, HeldCredential.content_hash.in_(set(creds))
        )
    )
    return {cred: bytes(raw) for cred, raw in held}


@dataclass(frozen=True)
class BlobBatch:
    blobs: list[tuple[str, bytes]]
    missing: list[str]
    more: bool


def read_blob_batch(
    db: Session, *, account_id: uuid.UUID, creds: tuple[str, ...] | None, after: str | None, budget: int, count: int
) -> BlobBatch:
    """The learner's credential bytes for a binary batch (docs/sync.md §7.3): those of ``creds``, or,
    when ``creds`` is ``None``, every credential with an id after ``after`` in id order, at most
    ``count`` — stopping once ``budget`` bytes are reached (at least one blob; ``more`` says so).

    Sizes are read first, so a batch of large baked images never loads more bytes than it sends.
    """
    sizes = select(HeldCredential.content_hash, func.length(HeldCredential.raw)).where(
        HeldCredential.account_id == account_id
    )
    if creds is not None:
        found = {cred: size for cred, size in db.execute(sizes.where(HeldCredential.content_hash.in_(set(creds))))}
        order = [cred for cred in creds if cred in found]
        missing = [cred for cred in creds if cred not in found]
        more_after = False
    else:
        if after is not None:
            sizes = sizes.where(HeldCredential.content_hash > after)
        listed = [
            (cred, size) for cred, size in db.execute(sizes.order_by(HeldCredential.content_hash).limit(count + 1))
        ]
        more_after = len(listed) > count
        found = dict(listed[:count])
        order = [cred for cred, _ in listed[:count]]
        missing = []
    chosen: list[str] = []
    used = 0
    for cred in order:
        if chosen and used + int(found[cred]) > budget:
            break
        chosen.append(cred)
        used += int(found[cred])
    raws = read_blobs(db, account_id=account_id, creds=chosen)
    return BlobBatch(
        [(cred, raws[cred]) for cred in chosen if cred in raws], missing, more_after or len(chosen) < len(order)
    )
