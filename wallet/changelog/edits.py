"""The learner's own edits made on the server (the web pages, the API): pins, notes, tags, collections.

These are the same edits a phone makes offline, and they must reach every device, so there is one
place they are written: the learner's synced wallet (docs/sync.md §3). Each function builds the very
op a device would push — ``entry.set``, ``tag.add``, ``collection.create``, ``member.add``… — stamped
with the server's clock and dot (node ``"server"``), checks it with the shared rule
(``wallet_protocol.sync.validate_op``) and joins it under the wallet lock, so the change gets a ``seq``
and every device sees it after its next sync; a device's edit is read back through :func:`wallet_view`.
No second copy of this metadata exists anywhere else.

Removals observe the live dots the server holds (docs/sync.md §5.2): a removal made here never undoes
an add it had not seen (add wins, I9). Bad input raises ``DomainError("request.validation_failed")``
with the protocol's words; an unknown credential or collection is ``credential.not_found`` /
``collection.not_found`` (another learner's ids are simply unknown here, I12).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session
from wallet_protocol.sync import InvalidOp, validate_op, view
from wallet_protocol.sync.fractional import key_for_position
from wallet_protocol.sync.state import (
    CollectionState,
    EntryState,
    MemberState,
    TagState,
    collection_key,
    entry_key,
    member_key,
    normalise_tag,
    tag_key,
)

from wallet.changelog.history import SERVER_NODE, LockedWallet, locked_wallet, now_ms, stored_rows
from wallet.errors import DomainError

MAX_TAGS_PER_BADGE = 30
"""A form may set at most this many tags at once (the protocol itself has no limit per credential)."""


def wallet_view(db: Session, *, account_id: uuid.UUID) -> dict[str, Any]:
    """The learner's wallet exactly as every synced device shows it (``wallet_protocol.sync.view``)."""
    return view(stored_rows(db, account_id=account_id))


def _apply(history: LockedWallet, op_type: str, *, dot: bool = False, **fields: Any) -> None:
    op_seq = history.next_server_op_seq()
    raw: dict[str, Any] = {"type": op_type, "op_seq": op_seq, "hlc": history.stamp(), **fields}
    if dot:
        raw["dot"] = [SERVER_NODE, op_seq]
    try:
        op = validate_op(raw, client_id=SERVER_NODE, now_ms=now_ms(history.now))
    except InvalidOp as error:
        raise DomainError("request.validation_failed", error.detail, errors={"form": [error.detail]}) from error
    history.apply(op)


def _present_entry(history: LockedWallet, cred_hash: str) -> EntryState:
    row = history.load([entry_key(cred_hash)]).get(entry_key(cred_hash))
    if not isinstance(row, EntryState) or not row.presence.present:
        raise DomainError("credential.not_found")
    return row


def _live_collection(history: LockedWallet, coll: str) -> CollectionState:
    try:
        canonical = str(uuid.UUID(coll))
    except (ValueError, AttributeError, TypeError):
        raise DomainError("collection.not_found") from None
    row = history.load([collection_key(canonical)]).get(collection_key(canonical))
    if canonical != coll or not isinstance(row, CollectionState) or not row.live:
        raise DomainError("collection.not_found")
    return row


def _dots(row: object) -> list[list[Any]]:
    if isinstance(row, EntryState | TagState | MemberState):
        return [[node, n] for node, n in sorted(row.presence.live)]
    return []


def set_pinned(db: Session, *, account_id: uuid.UUID, cred_hash: str, pinned: bool, now: dt.datetime) -> None:
    """Pin a badge (pinned badges come first) or unpin it."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _present_entry(history, cred_hash)
        _apply(history, "entry.set", cred=cred_hash, field="pinned", value=bool(pinned))


def set_note(db: Session, *, account_id: uuid.UUID, cred_hash: str, note: str, now: dt.datetime) -> None:
    """The learner's own note on a badge (at most 2000 characters; an empty note clears it)."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _present_entry(history, cred_hash)
        _apply(history, "entry.set", cred=cred_hash, field="note", value=note.replace("\r\n", "\n"))


def add_tag(db: Session, *, account_id: uuid.UUID, cred_hash: str, tag: str, now: dt.datetime) -> str:
    """Tag a badge; returns the tag as every device shows it (``normalise_tag``)."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _present_entry(history, cred_hash)
        _apply(history, "tag.add", dot=True, cred=cred_hash, tag=tag)
    return normalise_tag(tag)


def remove_tag(db: Session, *, account_id: uuid.UUID, cred_hash: str, tag: str, now: dt.datetime) -> None:
    """Take a tag off a badge (the adds the server has seen; a concurrent add elsewhere survives)."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _present_entry(history, cred_hash)
        norm = normalise_tag(tag)
        row = history.load([tag_key(cred_hash, norm)]).get(tag_key(cred_hash, norm)) if norm else None
        observed = _dots(row)
        if observed:
            _apply(history, "tag.remove", cred=cred_hash, tag=tag, observed=observed)


def tags_of(db: Session, *, account_id: uuid.UUID) -> dict[str, list[str]]:
    """Every present credential's tags, by content hash (what devices show)."""
    return {item["cred"]: item["tags"] for item in wallet_view(db, account_id=account_id)["credentials"]}


def set_tags(db: Session, *, account_id: uuid.UUID, cred_hash: str, tags: Sequence[str], now: dt.datetime) -> list[str]:
    """Make a badge's tags exactly ``tags`` (adds and removes only the difference); returns them normalised."""
    wanted: dict[str, str] = {}
    for tag in tags:
        wanted.setdefault(normalise_tag(tag), tag)
    wanted.pop("", None)
    if len(wanted) > MAX_TAGS_PER_BADGE:
        detail = f"At most {MAX_TAGS_PER_BADGE} tags on one badge."
        raise DomainError("request.validation_failed", detail, errors={"json": {"tags": [detail]}})
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _present_entry(history, cred_hash)
        current = set(tags_of(db, account_id=account_id).get(cred_hash, []))
        for norm, raw in wanted.items():
            if norm not in current:
                _apply(history, "tag.add", dot=True, cred=cred_hash, tag=raw)
        for norm in current - set(wanted):
            row = history.load([tag_key(cred_hash, norm)]).get(tag_key(cred_hash, norm))
            _apply(history, "tag.remove", cred=cred_hash, tag=norm, observed=_dots(row))
    return sorted(wanted)


def create_collection(db: Session, *, account_id: uuid.UUID, name: str, now: dt.datetime) -> str:
    """A new, empty collection at the end of the list; returns its id (a fresh UUID, never reused)."""
    coll = str(uuid.uuid4())
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _apply(history, "collection.create", coll=coll, name=" ".join(name.split()))
    return coll


def rename_collection(db: Session, *, account_id: uuid.UUID, coll: str, name: str, now: dt.datetime) -> None:
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _live_collection(history, coll)
        _apply(history, "collection.set", coll=coll, field="name", value=" ".join(name.split()))


def delete_collection(db: Session, *, account_id: uuid.UUID, coll: str, now: dt.datetime) -> None:
    """Delete a collection everywhere (its badges stay in the wallet; links to it stop working)."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _live_collection(history, coll)
        _apply(history, "collection.delete", coll=coll)


def move_collection(db: Session, *, account_id: uuid.UUID, coll: str, index: int, now: dt.datetime) -> None:
    """Show collection ``coll`` at position ``index`` of the list (clamped), with a fractional key."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _live_collection(history, coll)
        collections = wallet_view(db, account_id=account_id)["collections"]
        others = [c["order_key"] for c in collections if c["coll"] != coll]
        key = key_for_position(others, max(0, min(index, len(others))))
        _apply(history, "collection.set", coll=coll, field="order_key", value=key)


def _member_keys(db: Session, history: LockedWallet, *, coll: str, without: str) -> list[str | None]:
    """The order keys of a collection's other members, as displayed (I13)."""
    collections = wallet_view(db, account_id=history.account_id)["collections"]
    members = next((c["members"] for c in collections if c["coll"] == coll), [])
    keys: list[str | None] = []
    for other in members:
        if other == without:
            continue
        row = history.load([member_key(coll, other)]).get(member_key(coll, other))
        keys.append(row.order_key.value if isinstance(row, MemberState) and row.order_key else None)  # type: ignore[misc]
    return keys


def add_member(db: Session, *, account_id: uuid.UUID, coll: str, cred_hash: str, now: dt.datetime) -> None:
    """Put a badge in a collection, after its last ordered badge."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _live_collection(history, coll)
        _present_entry(history, cred_hash)
        keys = _member_keys(db, history, coll=coll, without=cred_hash)
        _apply(history, "member.add", dot=True, coll=coll, cred=cred_hash)
        _apply(history, "member.set_order", coll=coll, cred=cred_hash, order_key=key_for_position(keys, len(keys)))


def remove_member(db: Session, *, account_id: uuid.UUID, coll: str, cred_hash: str, now: dt.datetime) -> None:
    """Take a badge out of a collection (the badge stays in the wallet)."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _live_collection(history, coll)
        row = history.load([member_key(coll, cred_hash)]).get(member_key(coll, cred_hash))
        observed = _dots(row)
        if not observed:
            raise DomainError("credential.not_found")
        _apply(history, "member.remove", coll=coll, cred=cred_hash, observed=observed)


def move_member(db: Session, *, account_id: uuid.UUID, coll: str, cred_hash: str, index: int, now: dt.datetime) -> None:
    """Show a collection's badge at position ``index`` of that collection (clamped)."""
    with locked_wallet(db, account_id=account_id, now=now) as history:
        _live_collection(history, coll)
        row = history.load([member_key(coll, cred_hash)]).get(member_key(coll, cred_hash))
        if not (isinstance(row, MemberState) and row.presence.present):
            raise DomainError("credential.not_found")
        keys = _member_keys(db, history, coll=coll, without=cred_hash)
        key = key_for_position(keys, max(0, min(index, len(keys))))
        _apply(history, "member.set_order", coll=coll, cred=cred_hash, order_key=key)
