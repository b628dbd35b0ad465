"""Revocation status lists (W3C Bitstring Status List v1.0) kept and signed by the issuer.

Invariants:

1. A counter value is handed out once: ``next_index`` moves only through one conditional
   ``UPDATE … SET next_index = next_index + 1 WHERE next_index < capacity … RETURNING``, and
   ``(status_list_id, status_index)`` is unique on ``issued_credentials``.
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
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.credentials import dataintegrity
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential, set_bit
from wallet.errors import DomainError
from wallet.issuing.keys import ensure_active_key, private_key_of
from wallet.issuing.profiles import issuer_did, signing_method
from wallet.models import Organisation, StatusList

REVOCATION = "revocation"


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


def allocate_index(
    db: Session,
    *,
    organisation: Organisation,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
    purpose: str = REVOCATION,
    capacity: int = MIN_BITS,
) -> tuple[StatusList, int]:
    """A fresh (list, bit index) for a new credential; opens a new list when the current one is full.

    ``capacity`` (at most the list's size) is how many credentials one list takes; tests lower it.
    """
    for _attempt in range(5):
        claimed = _claim_counter(db, organisation_id=organisation.id, purpose=purpose, capacity=capacity)
        if claimed is not None:
            list_id, counter = claimed
            status_list = db.get(StatusList, list_id)
            assert status_list is not None
            return status_list, bit_position(list_id, counter, len(status_list.bits) * 8)
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
    """Set bit ``index`` and re-sign the list, holding the row lock so concurrent flips are not lost."""
    status_list = db.execute(
        select(StatusList)
        .where(StatusList.id == status_list_id)
        .with_for_update()
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
