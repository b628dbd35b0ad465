"""Changes the server originates: a credential arrived or left, its status changed, an action finished.

The credential store, claims and sharing call these inside their own transaction. Each goes through
the same shared merge rule as a device's op, with the server's own stamp and dot (node
``"server"``), under the learner's wallet lock, so it gets a ``seq`` and reaches every device on its
next sync (docs/sync.md §5, "server-originated changes"). Each returns the op it applied (``None``
when there was nothing to do), which tests use as the reference model's input. Facts about a
credential are a protocol row like any other (``facts``, docs/sync.md §5.4): written with the
server-only op ``facts.set`` and merged by the shared rule.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session
from wallet_protocol.sync import Op, validate_op
from wallet_protocol.sync.ops import ActionResult, EntryAdd, EntryRemove, FactsSet, affected_keys
from wallet_protocol.sync.state import EntryState, FactsState, entry_key, facts_key

from wallet.changelog.history import SERVER_NODE, LockedWallet, locked_wallet


def record_entry_added(
    db: Session, *, account_id: uuid.UUID, cred_hash: str, now: dt.datetime, minted: bool = False
) -> Op:
    """The learner now holds ``cred_hash`` (claimed, imported, awarded): add it to every device.

    ``minted``: the credential was signed in this transaction, so no row names its hash yet and none is
    looked up.
    """
    with locked_wallet(db, account_id=account_id, now=now) as history:
        op_seq = history.next_server_op_seq()
        op = EntryAdd(op_seq=op_seq, hlc=history.stamp(), cred=cred_hash, dot=(SERVER_NODE, op_seq))
        if minted:
            history.known_absent(affected_keys(op))
        history.apply(op)
    return op


def record_entry_removed(db: Session, *, account_id: uuid.UUID, cred_hash: str, now: dt.datetime) -> Op | None:
    """The learner deleted ``cred_hash`` outside sync: remove every add the server has seen (I9).

    Its facts are cleared too (:func:`clear_facts_of_absent`).
    """
    with locked_wallet(db, account_id=account_id, now=now) as history:
        row = history.load([entry_key(cred_hash)]).get(entry_key(cred_hash))
        if not isinstance(row, EntryState) or not row.presence.live:
            return None
        op = EntryRemove(
            op_seq=history.next_server_op_seq(), hlc=history.stamp(), cred=cred_hash, observed=row.presence.live
        )
        history.apply(op)
        clear_facts_of_absent(history, cred_hash=cred_hash)
    return op


def _write_facts(history: LockedWallet, *, cred_hash: str, facts: dict[str, Any] | None) -> Op | None:
    current = history.load([facts_key(cred_hash)]).get(facts_key(cred_hash))
    if isinstance(current, FactsState) and current.facts == facts:
        return None
    raw = {
        "type": FactsSet.TYPE,
        "op_seq": history.next_server_op_seq(),
        "hlc": history.stamp(),
        "cred": cred_hash,
        "facts": facts,
    }
    op = validate_op(raw, allow_server_ops=True)
    history.apply(op)
    return op


def record_server_facts(
    db: Session, *, account_id: uuid.UUID, cred_hash: str, facts: dict[str, Any], now: dt.datetime
) -> Op | None:
    """What the server established about a credential (verification outcome, revocation, expiry).

    A ``facts.set`` op with the server's stamp, joined by the shared rule (the later stamp wins);
    devices receive it as a ``facts`` row (docs/sync.md §5.4). Unchanged facts write nothing (I16).
    ``facts`` that are not a small JSON object raise ``wallet_protocol.sync.InvalidOp``: a bug here.
    """
    with locked_wallet(db, account_id=account_id, now=now) as history:
        return _write_facts(history, cred_hash=cred_hash, facts=facts)


def clear_facts_of_absent(history: LockedWallet, *, cred_hash: str) -> Op | None:
    """Clear the facts of a credential no longer in the wallet, so compaction can purge them.

    The cleared row (``facts: null``) is a tombstone; every device learns of it before the purge
    (or gets a reset), so a later re-add shows no stale facts anywhere.
    """
    row = history.load([entry_key(cred_hash)]).get(entry_key(cred_hash))
    if isinstance(row, EntryState) and row.presence.present:
        return None
    if not history.load([facts_key(cred_hash)]):
        return None
    return _write_facts(history, cred_hash=cred_hash, facts=None)


def record_action_result(
    db: Session, *, account_id: uuid.UUID, action_id: str, result: dict[str, Any], now: dt.datetime
) -> Op:
    """The outcome of a server action queued offline, shown to the learner on every device.

    ``result`` is ``{"action": "claim.redeem", "status": "done" | "failed" | "pending",
    "code": <error code or None>, "result": {...}}`` (the protocol's ``action.result`` fields).
    """
    with locked_wallet(db, account_id=account_id, now=now) as history:
        raw = {
            "type": ActionResult.TYPE,
            "op_seq": history.next_server_op_seq(),
            "hlc": history.stamp(),
            "action_id": action_id,
            **result,
        }
        op = validate_op(raw, allow_server_ops=True)
        history.apply(op)
    return op
