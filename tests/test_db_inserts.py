"""``wallet.db.add_inserted``: a row written with one table statement comes back as if it had been loaded."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.db import add_inserted
from wallet.models import Account, SyncWallet

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def _account(**values: object) -> dict[str, object]:
    name = f"kim-{uuid.uuid4().hex[:8]}"
    return {
        "username": name,
        "password_hash": "x",
        "display_name": "Kim",
        "subject_id": name,
        "created_at": NOW,
    } | values


def _stored(db: Session, account_id: uuid.UUID) -> tuple[object, ...]:
    row = db.execute(
        select(Account.display_name, Account.must_change_password, Account.is_operator).where(Account.id == account_id)
    ).one()
    return tuple(row)


def test_the_row_is_stored_with_its_defaults_and_held_as_a_loaded_object(db: Session) -> None:
    account = add_inserted(db, Account, _account())
    assert account is not None and account in db
    assert isinstance(account.id, uuid.UUID)  # the callable default
    assert (account.must_change_password, account.is_operator, account.email) == (False, False, None)
    assert not db.new and not db.dirty  # nothing left to flush: it is persistent, not pending
    assert db.get(Account, account.id) is account
    assert _stored(db, account.id) == ("Kim", False, False)


def test_a_later_change_to_it_is_written_as_an_update(db: Session) -> None:
    account = add_inserted(db, Account, _account())
    assert account is not None
    account.display_name = "Kim R."
    db.flush()
    assert _stored(db, account.id) == ("Kim R.", False, False)


def test_a_row_whose_unique_columns_are_taken_is_not_inserted_and_the_first_is_untouched(db: Session) -> None:
    first = add_inserted(db, Account, _account())
    assert first is not None
    again = add_inserted(db, Account, _account(username=first.username, display_name="Other"), unique=["username"])
    assert again is None
    assert _stored(db, first.id) == ("Kim", False, False)
    assert db.scalars(select(Account).where(Account.username == first.username)).all() == [first]


def test_objects_still_pending_are_written_first_so_the_row_may_refer_to_them(db: Session) -> None:
    pending = Account(**_account(id=uuid.uuid4()))
    db.add(pending)
    wallet = add_inserted(
        db,
        SyncWallet,
        {"account_id": pending.id, "epoch": "e", "hlc": None, "created_at": NOW},
    )
    assert wallet is not None and (wallet.seq, wallet.gc_floor, wallet.server_op_seq) == (0, 0, 0)
    assert pending not in db.new
    assert db.scalar(select(SyncWallet.epoch).where(SyncWallet.account_id == pending.id)) == "e"
