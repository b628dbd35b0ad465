"""Row states of a synced wallet and their joins (state-based CRDTs).

A wallet replica is a mapping ``RowKey -> row state``. Every row kind is a join-semilattice:
:func:`join` is commutative, associative and idempotent (docs/sync.md, I1-I3), so replicas that have
seen the same rows — in any order, any number of times — hold equal states. Ops (``ops.py``) are
applied as joins with a small delta state, which makes op application order-independent too.

Row kinds and their keys (``RowKey`` is a tuple whose first item is the kind):

=================  ===============================  ===========================================
kind               key                              merge
=================  ===============================  ===========================================
``entry``          ``("entry", cred)``              OR-Set presence + LWW ``hidden``, ``pinned``,
                                                    ``note``, ``order_key`` (I8, I9)
``tag``            ``("tag", cred, tag_norm)``      OR-Set per (entry, normalised tag) (I9)
``collection``     ``("collection", coll)``         created (min stamp), LWW ``name`` and
                                                    ``order_key``, tombstone-once ``deleted`` (min)
``member``         ``("member", coll, cred)``       OR-Set presence + LWW ``order_key``
``action_result``  ``("action_result", action_id)`` server-written outcome of a server action,
                                                    LWW by stamp
``facts``          ``("facts", cred)``              server-written facts about a credential
                                                    (verification outcome), LWW by stamp
=================  ===============================  ===========================================

Metadata of an absent entry is kept and still merged, but never shown (:mod:`.model`'s view):
from the user's view a removal wins over a concurrent edit ("delete-wins for metadata").
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .dots import Dot, OrSet, dot_from_wire, dots_to_wire
from .fractional import is_valid_key
from .hlc import Hlc, InvalidHlc

RowKey = tuple[str, ...]
Scalar = str | bool | None

ENTRY, TAG, COLLECTION, MEMBER = "entry", "tag", "collection", "member"
ACTION_RESULT, FACTS = "action_result", "facts"
ROW_KINDS = (ENTRY, TAG, COLLECTION, MEMBER, ACTION_RESULT, FACTS)
CLIENT_ROW_KINDS = (ENTRY, TAG, COLLECTION, MEMBER)
"""Kinds a client may push in ``row.merge``; ``action_result`` and ``facts`` rows are written by the server only."""
SERVER_ROW_KINDS = (ACTION_RESULT, FACTS)

ENTRY_FIELDS = ("hidden", "pinned", "note", "order_key")
COLLECTION_FIELDS = ("name", "order_key")
ACTION_STATUSES = ("pending", "done", "failed")

MAX_DOTS = 1000
"""Most dots one wire list may hold (live or removed); larger lists are ``op.too_large``."""
MAX_NOTE_LENGTH = 2000
MAX_NAME_LENGTH = 200
MAX_TAG_LENGTH = 64
MAX_FACTS_BYTES = 4096
"""Largest ``facts`` object, as canonical JSON in UTF-8 bytes (``op.too_large`` above it)."""

_CRED = re.compile(r"sha256:[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ACTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class InvalidRow(ValueError):
    """A row key or wire state is malformed. ``code`` is a rejection code from :mod:`.ops`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def is_cred_hash(value: object) -> bool:
    """Whether ``value`` is a credential id: ``"sha256:"`` + 64 lowercase hex digits (I11)."""
    return isinstance(value, str) and _CRED.fullmatch(value) is not None


def is_collection_id(value: object) -> bool:
    """Whether ``value`` is a collection id: a lowercase canonical UUID chosen by the creating client."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def is_action_id(value: object) -> bool:
    return isinstance(value, str) and _ACTION_ID.fullmatch(value) is not None


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text)


def normalise_tag(tag: str) -> str:
    """The identity of a tag: trimmed, inner whitespace runs collapsed to one space, case-folded, NFC.

    Repeated to a fixed point (case folding and NFC do not commute for every code point) so that
    ``normalise_tag(normalise_tag(t)) == normalise_tag(t)``. "Robotics", " robotics " and
    "ROBOTICS" are one tag; the wallet shows the normalised form.
    """
    current = tag
    for _ in range(4):
        normalised = unicodedata.normalize("NFC", " ".join(current.split()).casefold())
        if normalised == current:
            break
        current = normalised
    return current


def is_valid_tag_norm(tag_norm: object) -> bool:
    """Whether ``tag_norm`` is a usable normalised tag (non-empty, ≤ 64 characters, printable)."""
    return (
        isinstance(tag_norm, str)
        and 0 < len(tag_norm) <= MAX_TAG_LENGTH
        and normalise_tag(tag_norm) == tag_norm
        and not has_control_characters(tag_norm)
    )


def canonical_json(value: Any) -> str:
    """Sorted-keys, compact, UTF-8 JSON: the tie-break order between equal stamps (docs/sync.md §5)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Register:
    """A last-writer-wins register: a value and the HLC text stamp of the write that set it (I8)."""

    value: Scalar
    stamp: str

    def sort_key(self) -> tuple[str, str]:
        """Stamp first; equal stamps (only from a faulty client) fall back to the value's JSON."""
        return (self.stamp, canonical_json(self.value))


def lww(a: Register | None, b: Register | None) -> Register | None:
    """The register with the larger ``(stamp, value)``; ``None`` (never written) loses to any write."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a.sort_key() >= b.sort_key() else b


def _min_stamp(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True, slots=True)
class EntryState:
    """One credential in the wallet: presence (OR-Set) and per-field LWW metadata."""

    presence: OrSet = field(default_factory=OrSet)
    hidden: Register | None = None
    pinned: Register | None = None
    note: Register | None = None
    order_key: Register | None = None

    def join(self, other: EntryState) -> EntryState:
        return EntryState(
            self.presence.join(other.presence),
            lww(self.hidden, other.hidden),
            lww(self.pinned, other.pinned),
            lww(self.note, other.note),
            lww(self.order_key, other.order_key),
        )


@dataclass(frozen=True, slots=True)
class TagState:
    """Whether one (normalised) tag is on one credential: an OR-Set, so a concurrent add wins."""

    presence: OrSet = field(default_factory=OrSet)

    def join(self, other: TagState) -> TagState:
        return TagState(self.presence.join(other.presence))


@dataclass(frozen=True, slots=True)
class CollectionState:
    """A collection: shown iff ``created`` is set and ``deleted`` is not (a 2P-set: never undeleted).

    ``created`` and ``deleted`` keep the earliest stamp seen (min is a join), so both are
    order-independent; once ``deleted`` is set no op or merge can clear it (I9, tombstone-once).
    """

    created: str | None = None
    name: Register | None = None
    order_key: Register | None = None
    deleted: str | None = None

    @property
    def live(self) -> bool:
        return self.created is not None and self.deleted is None

    def join(self, other: CollectionState) -> CollectionState:
        return CollectionState(
            _min_stamp(self.created, other.created),
            lww(self.name, other.name),
            lww(self.order_key, other.order_key),
            _min_stamp(self.deleted, other.deleted),
        )


@dataclass(frozen=True, slots=True)
class MemberState:
    """A credential's membership of a collection (OR-Set) and its position there (LWW order key)."""

    presence: OrSet = field(default_factory=OrSet)
    order_key: Register | None = None

    def join(self, other: MemberState) -> MemberState:
        return MemberState(self.presence.join(other.presence), lww(self.order_key, other.order_key))


@dataclass(frozen=True, slots=True)
class ActionResultState:
    """The server's answer to a server action (``claim.redeem``, ``share.create``, ``import.url``).

    Written only by the server; a later stamp replaces an earlier one (``pending`` → ``done``).
    ``code`` is an error code from ``wallet_protocol.errors`` when ``status == "failed"``;
    ``result`` is the action's JSON result (e.g. ``{"cred": "sha256:…"}``).
    """

    action: str
    status: str
    stamp: str
    code: str | None = None
    result: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[str, str]:
        return (self.stamp, canonical_json([self.action, self.status, self.code, self.result]))

    def join(self, other: ActionResultState) -> ActionResultState:
        return self if self.sort_key() >= other.sort_key() else other

    def __hash__(self) -> int:
        return hash(self.sort_key())


@dataclass(frozen=True, slots=True)
class FactsState:
    """What the server established about one credential: ``{"outcome", "checks", "checked_at"}``.

    Written only by the server (``wallet.holding`` after each verification), so there are no
    concurrent writers to reconcile: the later stamp wins, equal stamps fall back to the canonical
    JSON of ``facts`` (a join, so replicas still converge whatever order they see the rows in).
    ``facts is None`` means "cleared": the server clears the facts of a credential that left the
    wallet, which makes the row a tombstone that compaction purges (I10, I15).
    """

    facts: Mapping[str, Any] | None
    stamp: str

    def sort_key(self) -> tuple[str, str]:
        return (self.stamp, canonical_json(self.facts))

    def join(self, other: FactsState) -> FactsState:
        return self if self.sort_key() >= other.sort_key() else other

    def __hash__(self) -> int:
        return hash(self.sort_key())


Row = EntryState | TagState | CollectionState | MemberState | ActionResultState | FactsState
State = Mapping[RowKey, Row]

ROW_TYPES: dict[str, type] = {
    ENTRY: EntryState,
    TAG: TagState,
    COLLECTION: CollectionState,
    MEMBER: MemberState,
    ACTION_RESULT: ActionResultState,
    FACTS: FactsState,
}


def join(a: Row, b: Row) -> Row:
    """The join of two states of the same row (same kind); commutative, associative, idempotent."""
    if type(a) is not type(b):
        raise TypeError(f"cannot join {type(a).__name__} with {type(b).__name__}")
    return a.join(b)  # type: ignore[arg-type]


def join_states(a: State, b: State) -> dict[RowKey, Row]:
    """The join of two whole replicas: row-wise join, rows missing on one side taken as they are."""
    merged = dict(a)
    for key, row in b.items():
        mine = merged.get(key)
        merged[key] = row if mine is None else join(mine, row)
    return merged


def join_row_into(state: State, key: RowKey, row: Row) -> tuple[dict[RowKey, Row], bool]:
    """``state`` with ``row`` joined into ``state[key]``, and whether that row changed."""
    validate_row_key(key)
    if type(row) is not ROW_TYPES[key[0]]:
        raise TypeError(f"a {key[0]} row cannot hold {type(row).__name__}")
    current = state.get(key)
    merged = row if current is None else join(current, row)
    if merged == current:
        return dict(state), False
    updated = dict(state)
    updated[key] = merged
    return updated, True


def is_tombstone(row: Row) -> bool:
    """Whether a row only records a removal (no live dots / deleted collection / cleared facts).

    The server may purge tombstones whose change ``seq`` is below its GC floor (I10); a client
    whose cursor is older than the floor gets ``reset`` instead of the purge.
    """
    if isinstance(row, EntryState | TagState | MemberState):
        return not row.presence.present
    if isinstance(row, CollectionState):
        return row.deleted is not None
    if isinstance(row, FactsState):
        return row.facts is None
    return False


# --- keys --------------------------------------------------------------------------------------


def entry_key(cred: str) -> RowKey:
    return (ENTRY, cred)


def tag_key(cred: str, tag_norm: str) -> RowKey:
    return (TAG, cred, tag_norm)


def collection_key(coll: str) -> RowKey:
    return (COLLECTION, coll)


def member_key(coll: str, cred: str) -> RowKey:
    return (MEMBER, coll, cred)


def action_result_key(action_id: str) -> RowKey:
    return (ACTION_RESULT, action_id)


def facts_key(cred: str) -> RowKey:
    return (FACTS, cred)


def validate_row_key(key: object) -> RowKey:
    """``key`` if it is a well-formed row key, else :class:`InvalidRow` (``op.bad_kind``/``op.bad_id``)."""
    if not isinstance(key, tuple) or not key or not isinstance(key[0], str) or key[0] not in ROW_TYPES:
        raise InvalidRow("op.bad_kind", "unknown row kind")
    kind, ids = key[0], key[1:]
    ok = False
    if kind == ENTRY:
        ok = len(ids) == 1 and is_cred_hash(ids[0])
    elif kind == TAG:
        ok = len(ids) == 2 and is_cred_hash(ids[0]) and is_valid_tag_norm(ids[1])
    elif kind == COLLECTION:
        ok = len(ids) == 1 and is_collection_id(ids[0])
    elif kind == MEMBER:
        ok = len(ids) == 2 and is_collection_id(ids[0]) and is_cred_hash(ids[1])
    elif kind == ACTION_RESULT:
        ok = len(ids) == 1 and is_action_id(ids[0])
    elif kind == FACTS:
        ok = len(ids) == 1 and is_cred_hash(ids[0])
    if not ok:
        raise InvalidRow("op.bad_id", f"malformed id for a {kind} row")
    return key  # type: ignore[return-value]


# --- wire form ---------------------------------------------------------------------------------


def _register_to_wire(register: Register | None) -> list[Scalar] | None:
    return None if register is None else [register.value, register.stamp]


def _presence_to_wire(presence: OrSet) -> dict[str, Any]:
    return {"dots": dots_to_wire(presence.live), "rm": dots_to_wire(presence.removed)}


def row_to_wire(row: Row) -> dict[str, Any]:
    """The JSON object ``s`` of a change or a ``row.merge`` op (docs/sync.md §4 "Row states")."""
    if isinstance(row, EntryState):
        wire = _presence_to_wire(row.presence)
        wire.update({name: _register_to_wire(getattr(row, name)) for name in ENTRY_FIELDS})
        return wire
    if isinstance(row, TagState):
        return _presence_to_wire(row.presence)
    if isinstance(row, CollectionState):
        return {
            "created": row.created,
            "name": _register_to_wire(row.name),
            "order_key": _register_to_wire(row.order_key),
            "deleted": row.deleted,
        }
    if isinstance(row, MemberState):
        wire = _presence_to_wire(row.presence)
        wire["order_key"] = _register_to_wire(row.order_key)
        return wire
    if isinstance(row, FactsState):
        return {"facts": None if row.facts is None else dict(row.facts), "t": row.stamp}
    return {
        "action": row.action,
        "status": row.status,
        "code": row.code,
        "result": dict(row.result),
        "t": row.stamp,
    }


def _stamp_from_wire(value: object, where: str) -> str:
    try:
        return str(Hlc.parse(value))
    except InvalidHlc:
        raise InvalidRow("op.bad_hlc", f"{where}: not a stamp") from None


def _optional_stamp(value: object, where: str) -> str | None:
    return None if value is None else _stamp_from_wire(value, where)


def _dots_from_wire(value: object, where: str) -> frozenset[Dot]:
    if not isinstance(value, list):
        raise InvalidRow("op.bad_state", f"{where} must be a list of dots")
    if len(value) > MAX_DOTS:
        raise InvalidRow("op.too_large", f"{where} holds more than {MAX_DOTS} dots")
    try:
        return frozenset(dot_from_wire(item) for item in value)
    except ValueError as exc:
        raise InvalidRow("op.bad_dot", f"{where}: {exc}") from None


def _presence_from_wire(s: Mapping[str, Any]) -> OrSet:
    return OrSet(_dots_from_wire(s["dots"], "dots"), _dots_from_wire(s["rm"], "rm"))


def check_field_value(field_name: str, value: object) -> Scalar:
    """``value`` if it is acceptable for an LWW field, else :class:`InvalidRow`.

    Shared by ``entry.set``/``collection.set`` and by ``row.merge`` so that no path can store a
    value the other would refuse.
    """
    if field_name in ("hidden", "pinned"):
        if not isinstance(value, bool):
            raise InvalidRow("op.wrong_type", f"{field_name} must be a boolean")
    elif field_name == "note":
        if not isinstance(value, str):
            raise InvalidRow("op.wrong_type", "note must be a string")
        if len(value) > MAX_NOTE_LENGTH:
            raise InvalidRow("op.too_large", f"note longer than {MAX_NOTE_LENGTH} characters")
        if any(unicodedata.category(ch) in ("Cs", "Co", "Cn") or ch == "\x00" for ch in value):
            raise InvalidRow("op.bad_value", "note holds characters that cannot be stored")
    elif field_name == "name":
        if not isinstance(value, str):
            raise InvalidRow("op.wrong_type", "name must be a string")
        if len(value) > MAX_NAME_LENGTH:
            raise InvalidRow("op.too_large", f"name longer than {MAX_NAME_LENGTH} characters")
        if not value.strip() or value != value.strip() or has_control_characters(value):
            raise InvalidRow("op.bad_value", "name must be non-empty, trimmed and printable")
    elif field_name == "order_key":
        if not isinstance(value, str):
            raise InvalidRow("op.wrong_type", "order_key must be a string")
        if not is_valid_key(value):
            raise InvalidRow("op.bad_order_key", "not a fractional-index key")
    else:
        raise InvalidRow("op.bad_field", f"unknown field {field_name[:40]!r}")
    return value  # type: ignore[return-value]


def check_facts(value: object) -> dict[str, Any] | None:
    """``value`` if it can be a credential's facts (``None`` or a small JSON object), else :class:`InvalidRow`.

    Facts are the server's own JSON, but a device stores and re-serialises them, so they must be
    plain JSON (string keys, finite numbers) and bounded (:data:`MAX_FACTS_BYTES`).
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRow("op.bad_state", "facts must be null or a JSON object")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidRow("op.bad_state", "facts must be plain JSON") from None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidRow("op.bad_state", "facts hold text that is not valid Unicode") from None
    if size > MAX_FACTS_BYTES:
        raise InvalidRow("op.too_large", f"facts larger than {MAX_FACTS_BYTES} bytes")
    if json.loads(text) != value:
        raise InvalidRow("op.bad_state", "facts must be plain JSON (string keys, no tuples)")
    return value


def _register_from_wire(value: object, field_name: str) -> Register | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise InvalidRow("op.bad_state", f"{field_name} must be null or [value, stamp]")
    return Register(check_field_value(field_name, value[0]), _stamp_from_wire(value[1], field_name))


def _require_fields(s: object, fields: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(s, dict):
        raise InvalidRow("op.bad_state", "a row state is a JSON object")
    if set(s) != set(fields):
        unknown = sorted(set(s) - set(fields))
        missing = sorted(set(fields) - set(s))
        raise InvalidRow("op.bad_state", f"unknown fields {unknown[:5]}, missing fields {missing}"[:300])
    return s


def row_from_wire(kind: str, s: object) -> Row:
    """The row state written as ``s`` for a row of ``kind``; strict (:class:`InvalidRow` otherwise).

    Every field must be present (``null`` when never written) and no other field is allowed;
    ``dots`` overlapping ``rm`` are normalised away (the join would do the same).
    """
    if kind == ENTRY:
        fields = _require_fields(s, ("dots", "rm", *ENTRY_FIELDS))
        return EntryState(
            _presence_from_wire(fields),
            *(_register_from_wire(fields[name], name) for name in ENTRY_FIELDS),
        )
    if kind == TAG:
        return TagState(_presence_from_wire(_require_fields(s, ("dots", "rm"))))
    if kind == COLLECTION:
        fields = _require_fields(s, ("created", "name", "order_key", "deleted"))
        return CollectionState(
            _optional_stamp(fields["created"], "created"),
            _register_from_wire(fields["name"], "name"),
            _register_from_wire(fields["order_key"], "order_key"),
            _optional_stamp(fields["deleted"], "deleted"),
        )
    if kind == MEMBER:
        fields = _require_fields(s, ("dots", "rm", "order_key"))
        return MemberState(_presence_from_wire(fields), _register_from_wire(fields["order_key"], "order_key"))
    if kind == ACTION_RESULT:
        fields = _require_fields(s, ("action", "status", "code", "result", "t"))
        if not isinstance(fields["action"], str) or fields["status"] not in ACTION_STATUSES:
            raise InvalidRow("op.bad_state", "action must be a string and status one of pending/done/failed")
        if fields["code"] is not None and not isinstance(fields["code"], str):
            raise InvalidRow("op.bad_state", "code must be null or a string")
        if not isinstance(fields["result"], dict):
            raise InvalidRow("op.bad_state", "result must be an object")
        return ActionResultState(
            fields["action"], fields["status"], _stamp_from_wire(fields["t"], "t"), fields["code"], fields["result"]
        )
    if kind == FACTS:
        fields = _require_fields(s, ("facts", "t"))
        return FactsState(check_facts(fields["facts"]), _stamp_from_wire(fields["t"], "t"))
    raise InvalidRow("op.bad_kind", "unknown row kind")


def change_to_wire(key: RowKey, row: Row, *, seq: int | None = None) -> dict[str, Any]:
    """One element of a response's ``changes``: ``{"k", "id", "s"}`` plus ``"seq"`` from the server."""
    change: dict[str, Any] = {"k": key[0], "id": list(key[1:]), "s": row_to_wire(row)}
    if seq is not None:
        change["seq"] = seq
    return change


def key_from_wire(kind: object, ids: object) -> RowKey:
    """The row key for wire fields ``k`` and ``id`` (``id`` is always a list of strings)."""
    if not isinstance(kind, str) or kind not in ROW_TYPES:
        raise InvalidRow("op.bad_kind", "unknown row kind")
    if not isinstance(ids, list) or len(ids) > 2 or not all(isinstance(item, str) for item in ids):
        raise InvalidRow("op.bad_id", "id must be a list of one or two strings")
    return validate_row_key((kind, *ids))


def change_from_wire(change: object) -> tuple[RowKey, Row]:
    """The key and row of one ``changes`` element (the ``seq`` is informational and ignored)."""
    if not isinstance(change, dict) or not {"k", "id", "s"} <= set(change) <= {"k", "id", "s", "seq"}:
        raise InvalidRow("op.bad_state", "a change is an object with k, id, s (and seq)")
    key = key_from_wire(change["k"], change["id"])
    return key, row_from_wire(key[0], change["s"])


def state_to_wire(state: State) -> list[dict[str, Any]]:
    """A whole replica as a sorted list of changes (for snapshots, persistence and tests)."""
    return [change_to_wire(key, state[key]) for key in sorted(state)]


def state_from_wire(changes: Iterable[object]) -> dict[RowKey, Row]:
    state: dict[RowKey, Row] = {}
    for change in changes:
        key, row = change_from_wire(change)
        state, _ = join_row_into(state, key, row)
    return state
