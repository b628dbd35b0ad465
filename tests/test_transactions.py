"""One unit of work for views: success commits, a refusal that recorded bookkeeping commits it and is
still reported, any other failure rolls back — no view commits a ``RecordedRefusal`` by hand."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.claims.redeem import RecordedRefusal
from wallet.errors import DomainError
from wallet.models.ratelimit import RateLimitBucket
from wallet.transactions import unit_of_work

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def _bucket(db: Session, key: str) -> None:
    db.add(RateLimitBucket(key=key, window_start=NOW, window_end=NOW + dt.timedelta(minutes=1), count=1))
    db.flush()


def _stored(db: Session, key: str) -> bool:
    return db.scalar(select(RateLimitBucket.key).where(RateLimitBucket.key == key)) is not None


@pytest.mark.parametrize(
    ("refusal", "kept"),
    [
        (RecordedRefusal("claim.wrong_pin", "That PIN is not right."), True),
        (RecordedRefusal("claim.locked_out", "Too many wrong PINs."), True),
        (DomainError("claim.unknown_code"), False),
        (RuntimeError("a bug"), False),
    ],
)
def test_a_refusal_keeps_its_bookkeeping_only_when_it_says_so(db: Session, refusal: Exception, kept: bool) -> None:
    key = f"uow-{uuid.uuid4()}"
    with pytest.raises(type(refusal)), unit_of_work(db):
        _bucket(db, key)
        raise refusal
    assert _stored(db, key) is kept


def test_success_commits(db: Session) -> None:
    key = f"uow-{uuid.uuid4()}"
    with unit_of_work(db):
        _bucket(db, key)
    db.rollback()  # nothing left to roll back: it was committed
    assert _stored(db, key)
