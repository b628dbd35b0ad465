"""The shared rules of offline sync: clocks, merge rules, ops, wire codec and the reference model.

Both the server (``wallet/sync/``) and the SDK replica (``wallet_client``) import this package, so
a merge rule cannot differ between them. Everything is pure: plain dataclasses and JSON-ready dicts,
no database, no HTTP, the clock passed in. The protocol, with its numbered invariants (I1-I16) that
the docstrings cite, is written in ``docs/sync.md``.

Modules: :mod:`.hlc` (hybrid logical clock), :mod:`.dots` (add-wins OR-Set), :mod:`.fractional`
(order keys), :mod:`.state` (row states and joins), :mod:`.ops` (op validation and application),
:mod:`.wire` (cursor and request envelope), :mod:`.model` (the user's view and the reference model).
"""

from .dots import Dot, OrSet
from .fractional import InvalidOrderKey, key_between, key_for_position, keys_between
from .hlc import ClockSkew, Hlc, InvalidHlc, check_not_future, receive, send
from .model import view
from .ops import REJECTION_CODES, InvalidOp, Op, apply_op, apply_ops, op_delta, op_to_wire, validate_op
from .state import (
    ActionResultState,
    CollectionState,
    EntryState,
    FactsState,
    InvalidRow,
    MemberState,
    Register,
    Row,
    RowKey,
    TagState,
    change_from_wire,
    change_to_wire,
    join,
    join_states,
    normalise_tag,
    row_from_wire,
    row_to_wire,
)
from .wire import PROTOCOL_VERSION, Cursor, InvalidCursor, decode_cursor, encode_cursor

__all__ = [
    "PROTOCOL_VERSION",
    "REJECTION_CODES",
    "ActionResultState",
    "ClockSkew",
    "CollectionState",
    "Cursor",
    "Dot",
    "EntryState",
    "FactsState",
    "Hlc",
    "InvalidCursor",
    "InvalidHlc",
    "InvalidOp",
    "InvalidOrderKey",
    "InvalidRow",
    "MemberState",
    "Op",
    "OrSet",
    "Register",
    "Row",
    "RowKey",
    "TagState",
    "apply_op",
    "apply_ops",
    "change_from_wire",
    "change_to_wire",
    "check_not_future",
    "decode_cursor",
    "encode_cursor",
    "join",
    "join_states",
    "key_between",
    "key_for_position",
    "keys_between",
    "normalise_tag",
    "op_delta",
    "op_to_wire",
    "receive",
    "row_from_wire",
    "row_to_wire",
    "send",
    "validate_op",
    "view",
]
