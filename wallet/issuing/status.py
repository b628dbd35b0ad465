"""Revocation status lists (W3C Bitstring Status List v1.0) kept and signed by the issuer.

Invariants:

1. A counter value is handed out once: ``next_index`` only grows, either by one in the issuing
   transaction (one conditional ``UPDATE … SET next_index = next_index + 1 WHERE next_index < capacity
   … RETURNING``) or by a block of :data:`INDEX_BLOCK` in a short committed transaction that hands the
   block to one process (PostgreSQL); ``(status_list_id, status_index)`` is unique on
   ``issued_credentials``. A value reserved and never used leaves its bit 0 forever: harmless.
2. At most one list per organisation and purpose has room: a new list (``list_no`` + 1, unique) is
   created only when that UPDATE finds none; two creators racing collide on the unique constraint and
   the loser retries the UPDATE.
3. Counter values are spread over the list by a bijection (an odd multiplier and an offset modulo the
   list size, a power of two, both derived from the list id), so neighbouring credentials do not sit on
   neighbouring bits and the bit position does not reveal the order of issuance (the spec's advice to
   assign indexes randomly).
4. ``signed_document`` is always the signed credential for the current ``bits``: flipping a bit locks the
   row, bumps ``version`` and re-signs in the same transaction, so readers never sign and never see a
   stale list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.credentials import dataintegrity
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential, set_bit
from wallet.errors import DomainError
from wallet.issuing.keys import ensure_active_key, private_key_of
from wallet.issuing.profiles import issuer_did, signing_method
from wallet.models import Organisation, StatusList

REVOCATION = "revocation"
INDEX_BLOCK = 64
"""Counter values a process reserves at a time on PostgreSQL (see :func:`allocate_index`)."""


def status_list_url(base_url: str, slug: str, list_no: int, purpose: str = REVOCATION) -> str:
    return f"{base_url.rstrip('/')}/status/{slug}/{purpose}/{list_no}"


def bit_position(list_id: uuid.UUID, counter: int, size_bits: int) -> int:
    """The bit that counter value ``counter`` of list ``list_id`` uses (a bijection on ``range(size_bits)``)."""
    if size_bits <= 0 or size_bits & (size_bits - 1):
        raise ValueError("a status list's size must be a power of two")
    digest = hashlib.sha256(list_id.bytes).digest()
    multiplier = int.from_bytes(digest[:8], "big") | 1
    offset = int.from_bytes(digest[8:16], "big")
    return (counter * multiplier + offset) % size_bits


def isoformat(moment: dt.datetime) -> str:
    """ISO 8601 to the second, UTC, with ``Z`` — the form every date in our credentials takes."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sign_status_list(
    db: Session, status_list: StatusList, *, organisation: Organisation, kek: bytes, base_url: str, now: dt.datetime
) -> None:
    """Store the signed ``BitstringStatusListCredential`` for the list's current bits."""
    key = ensure_active_key(db, organisation_id=organisation.id, kek=kek, now=now)
    unsigned = build_status_list_credential(
        list_id=status_list_url(base_url, organisation.slug, status_list.list_no, status_list.purpose),
        issuer=issuer_did(organisation, key, base_url=base_url),
        purpose=status_list.purpose,
        bits=status_list.bits,
        valid_from=now.replace(microsecond=0),
    )
    signed = dataintegrity.sign(
        unsigned,
        private_key=private_key_of(key, kek=kek),
        verification_method=signing_method(organisation, key, base_url=base_url),
        created=isoformat(now),
        cryptosuite="eddsa-rdfc-2022",
    )
    status_list.signed_document = json.dumps(signed, ensure_ascii=False)
    status_list.updated_at = now


@dataclass(frozen=True)
class ListRef:
    """What a new credential needs to know of the status list it is entered in."""

    id: uuid.UUID
    list_no: int
    purpose: str
    size_bits: int


@dataclass
class _Block:
    """Counter values ``next`` … ``end - 1`` of one list, taken for this process in a committed transaction."""

    ref: ListRef
    next: int
    end: int


class _IndexBlocks:
    """The blocks one process holds, per (organisation, purpose): taken :data:`INDEX_BLOCK` at a time.

    Reservations use a connection of their own (a one-connection pool beside the app's), so they never
    wait for the app's pool: every request thread may be holding one of its connections.
    """

    def __init__(self, engine: Engine) -> None:
        self.lock = threading.Lock()
        self.blocks: dict[tuple[uuid.UUID, str, int], _Block] = {}
        self.engine = create_engine(engine.url, pool_size=1, max_overflow=0, pool_pre_ping=True)


_BLOCKS: weakref.WeakKeyDictionary[Engine, _IndexBlocks] = weakref.WeakKeyDictionary()
_BLOCKS_LOCK = threading.Lock()


def _claim_counter(
    db: Session, *, organisation_id: uuid.UUID, purpose: str, capacity: int
) -> tuple[uuid.UUID, int] | None:
    latest = (
        select(func.max(StatusList.list_no))
        .where(StatusList.organisation_id == organisation_id, StatusList.purpose == purpose)
        .scalar_subquery()
    )
    row = db.execute(
        update(StatusList)
        .where(
            StatusList.organisation_id == organisation_id,
            StatusList.purpose == purpose,
            StatusList.list_no == latest,
            StatusList.next_index < capacity,
        )
        .values(next_index=StatusList.next_index + 1)
        .returning(StatusList.id, StatusList.next_index)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else (row[0], row[1] - 1)


def _reserve_block(engine: Engine, *, organisation_id: uuid.UUID, purpose: str, capacity: int) -> _Block | None:
    """Take up to :data:`INDEX_BLOCK` counter values of the current list in a transaction of its own.

    It commits at once, so the list's row is locked for two statements, not through a caller's signing.
    ``FOR NO KEY UPDATE``, the lock an UPDATE of non-key columns takes, so the share locks every in-flight
    issuance holds on the list (its foreign key) do not get in the way; ``SKIP LOCKED``: a row locked by
    someone else (another reservation, a revocation, or the caller's own transaction) gives None, and the
    caller takes its value in its own transaction instead — never a wait on itself. None too when no
    committed list has room (the caller opens the next one).
    """
    latest = (
        select(func.max(StatusList.list_no))
        .where(StatusList.organisation_id == organisation_id, StatusList.purpose == purpose)
        .scalar_subquery()
    )
    with engine.begin() as connection:
        row = connection.execute(
            select(StatusList.id, StatusList.list_no, StatusList.next_index, func.length(StatusList.bits))
            .where(
                StatusList.organisation_id == organisation_id,
                StatusList.purpose == purpose,
                StatusList.list_no == latest,
                StatusList.next_index < capacity,
            )
            .with_for_update(key_share=True, skip_locked=True)
        ).first()
        if row is None:
            return None
        list_id, list_no, first, size_bytes = row
        end = min(first + INDEX_BLOCK, capacity)
        connection.execute(update(StatusList).where(StatusList.id == list_id).values(next_index=end))
    return _Block(ListRef(list_id, list_no, purpose, size_bytes * 8), first, end)


def _from_block(db: Session, *, organisation_id: uuid.UUID, purpose: str, capacity: int) -> tuple[ListRef, int] | None:
    """A counter value from this process's block (PostgreSQL, on an engine of its own), or None."""
    engine = db.get_bind()
    if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
        return None  # SQLite has one writer anyway; a test's outer transaction cannot be left
    with _BLOCKS_LOCK:
        blocks = _BLOCKS.get(engine)
        if blocks is None:
            blocks = _BLOCKS[engine] = _IndexBlocks(engine)
    key = (organisation_id, purpose, capacity)
    with blocks.lock:
        block = blocks.blocks.get(key)
        if block is None or block.next >= block.end:
            block = _reserve_block(blocks.engine, organisation_id=organisation_id, purpose=purpose, capacity=capacity)
            if block is None:
                blocks.blocks.pop(key, None)
                return None
            blocks.blocks[key] = block
        counter = block.next
        block.next += 1
    return block.ref, bit_position(block.ref.id, counter, block.ref.size_bits)


def allocate_index(
    db: Session,
    *,
    organisation: Organisation,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
    purpose: str = REVOCATION,
    capacity: int = MIN_BITS,
) -> tuple[ListRef, int]:
    """A fresh (list, bit index) for a new credential; opens a new list when the current one is full.

    On PostgreSQL the value comes from a block this process reserved in a transaction of its own (an
    index left unused when the process stops is harmless: its bit stays 0 and no credential names it),
    so issuing holds no lock on the organisation's list. Otherwise — SQLite, a list being opened, a
    reservation that found the row locked — the counter moves in the caller's transaction.
    ``capacity`` (at most the list's size) is how many credentials one list takes; tests lower it.
    """
    taken = _from_block(db, organisation_id=organisation.id, purpose=purpose, capacity=capacity)
    if taken is not None:
        return taken
    for _attempt in range(5):
        claimed = _claim_counter(db, organisation_id=organisation.id, purpose=purpose, capacity=capacity)
        if claimed is not None:
            list_id, counter = claimed
            list_no, size_bytes = db.execute(
                select(StatusList.list_no, func.length(StatusList.bits)).where(StatusList.id == list_id)
            ).one()
            ref = ListRef(list_id, list_no, purpose, size_bytes * 8)
            return ref, bit_position(list_id, counter, ref.size_bits)
        highest = (
            db.scalar(
                select(func.max(StatusList.list_no)).where(
                    StatusList.organisation_id == organisation.id, StatusList.purpose == purpose
                )
            )
            or 0
        )
        status_list = StatusList(
            id=uuid.uuid4(),
            organisation_id=organisation.id,
            purpose=purpose,
            list_no=highest + 1,
            bits=bytes(MIN_BITS // 8),
            next_index=0,
            version=1,
            updated_at=now,
        )
        sign_status_list(db, status_list, organisation=organisation, kek=kek, base_url=base_url, now=now)
        try:
            with db.begin_nested():
                db.add(status_list)
                db.flush()
        except IntegrityError:
            continue
    raise DomainError("server.unavailable", "Could not allocate a status list entry; try again.")


def new_status_entry(
    db: Session, *, organisation: Organisation, kek: bytes, base_url: str, now: dt.datetime
) -> tuple[ListRef, int, dict[str, str]]:
    """A fresh revocation index for a new credential (:func:`allocate_index`) and the credential's
    ``credentialStatus`` naming it: the one way a badge and an endorsement get their place in a list."""
    ref, index = allocate_index(db, organisation=organisation, kek=kek, base_url=base_url, now=now)
    list_url = status_list_url(base_url, organisation.slug, ref.list_no, ref.purpose)
    entry = {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": ref.purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
    return ref, index, entry


def set_status(
    db: Session,
    *,
    organisation: Organisation,
    status_list_id: uuid.UUID,
    index: int,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
) -> StatusList:
    """Set bit ``index`` and re-sign the list, holding the row lock so concurrent flips are not lost.

    ``FOR NO KEY UPDATE``: credentials being issued into the list (their foreign key's share lock) do not
    hold a revocation up.
    """
    status_list = db.execute(
        select(StatusList)
        .where(StatusList.id == status_list_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    bits = bytearray(status_list.bits)
    set_bit(bits, index)
    status_list.bits = bytes(bits)
    status_list.version += 1
    sign_status_list(db, status_list, organisation=organisation, kek=kek, base_url=base_url, now=now)
    db.flush()
    return status_list


def published_list(db: Session, *, slug: str, purpose: str, list_no: int) -> StatusList:
    """The list served at its public URL; ``request.not_found`` for anything unknown."""
    status_list = db.scalar(
        select(StatusList)
        .join(Organisation, Organisation.id == StatusList.organisation_id)
        .where(Organisation.slug == slug, StatusList.purpose == purpose, StatusList.list_no == list_no)
    )
    if status_list is None:
        raise DomainError("request.not_found", "No such status list.")
    return status_list
