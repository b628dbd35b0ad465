"""Sync operations: their wire form, strict validation of hostile input, and pure application.

Every op is a JSON object ``{"type", "op_seq", "hlc", ...}`` (docs/sync.md §5). The server validates
each pushed op with :func:`validate_op`; a refusal is an :class:`InvalidOp` whose ``code`` is one of
:data:`REJECTION_CODES` and goes back in the response's ``rejected`` list (the op is still acked, I5).
A client runs the same function on the ops it creates before applying them optimistically, so its
view and the server's can only differ by ops the server has not seen.

:func:`apply_op` is pure: ``apply_op(state, op) = join(state, op_delta(op))``. Because every delta is
joined, applying any permutation of a set of ops, with any duplicates, yields the same state
(I2 idempotence, I3 order independence). Server actions (``claim.redeem``, ``share.create``,
``import.url``, ``badge.request``) change no row here: the server performs them and writes their outcome as an
``action.result`` op (server only) plus whatever rows the action creates (e.g. an ``entry.add``
with the server's own dot). What the server learns about a credential (its verification outcome)
is a ``facts.set`` op, also server only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .dots import MAX_DOT_COUNTER, Dot, OrSet, dot_from_wire, dots_to_wire
from .hlc import MAX_PHYSICAL_MS, ClockSkew, Hlc, InvalidHlc, check_not_future
from .state import (
    ACTION_STATUSES,
    CLIENT_ROW_KINDS,
    COLLECTION_FIELDS,
    ENTRY_FIELDS,
    MAX_DOTS,
    MAX_NAME_LENGTH,
    ActionResultState,
    CollectionState,
    EntryState,
    FactsState,
    InvalidRow,
    MemberState,
    Register,
    Row,
    RowKey,
    Scalar,
    State,
    TagState,
    action_result_key,
    canonical_json,
    check_facts,
    check_field_value,
    collection_key,
    entry_key,
    facts_key,
    has_control_characters,
    is_action_id,
    is_collection_id,
    is_cred_hash,
    is_valid_tag_norm,
    join,
    key_from_wire,
    member_key,
    normalise_tag,
    row_from_wire,
    row_to_wire,
    tag_key,
)

REJECTION_CODES: Mapping[str, str] = MappingProxyType(
    {
        # Raised by validate_op (shape and content of one op).
        "op.not_object": "the op is not a JSON object",
        "op.unknown_type": "the op's type is missing from the protocol or not a string",
        "op.server_only": "the op type may only be written by the server",
        "op.unknown_field": "the op has a field its type does not define",
        "op.missing_field": "a required field is missing",
        "op.wrong_type": "a field has the wrong JSON type",
        "op.bad_op_seq": "op_seq is not an integer in 1..2^53-1",
        "op.bad_hlc": "a stamp is not in the HLC text form",
        "op.bad_dot": "a dot is not [node, n] with a valid node and 1 <= n < 2^53",
        "op.bad_cred": 'a credential id is not "sha256:" + 64 lowercase hex digits',
        "op.bad_id": "a collection id, action id or row id is malformed",
        "op.bad_tag": "a tag is empty, too long or unprintable once normalised",
        "op.bad_field": "the field is not one the op may set",
        "op.bad_value": "a value is out of its allowed range or format",
        "op.bad_order_key": "an order key is not a valid fractional-index key",
        "op.bad_url": "the URL is not an absolute http(s) URL",
        "op.bad_kind": "a row.merge names an unknown row kind",
        "op.bad_state": "a row.merge state is malformed",
        "op.too_large": "a string or list exceeds its size limit",
        "op.foreign_dot": "an add's dot is not [this client's id, this op's op_seq]",
        "op.foreign_hlc": "the op's stamp does not carry this client's id",
        "op.clock_skew": "the op's stamp is more than 5 minutes ahead of the server's clock",
        # Checked by the server implementation in wallet/sync/ (they need the database or a verifier).
        "credential.blob_missing": "entry.add of a credential the server does not hold, without its blob",
        "credential.hash_mismatch": "the blob's sha256 differs from the cred id (I11)",
        "credential.invalid": "the credential's proof or format does not verify (I11)",
        "action.duplicate": "an action_id was already used for a different action",
        "action.unsupported": "this server does not perform that server action",
    }
)
"""Every reason an op can be rejected, with its meaning. Codes are stable once published."""


class InvalidOp(ValueError):
    """An op the protocol refuses. ``code`` is a key of :data:`REJECTION_CODES`; ``detail`` is prose."""

    def __init__(self, code: str, detail: str) -> None:
        assert code in REJECTION_CODES, code
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


MAX_CLAIM_CODE_LENGTH = 64
MAX_PIN_LENGTH = 12
MAX_URL_LENGTH = 2048
MAX_RAW_TAG_LENGTH = 256
MAX_SHARE_CREDS = 100
MAX_SHARE_DAYS = 365
MAX_NARRATIVE_LENGTH = 8000
MAX_WITNESS_LENGTH = 120
BADGE_REQUEST_LINKS = 10
SERVER_ACTIONS = ("claim.redeem", "share.create", "import.url", "badge.request")


@dataclass(frozen=True, slots=True)
class EntryAdd:
    TYPE: ClassVar[str] = "entry.add"
    op_seq: int
    hlc: str
    cred: str
    dot: Dot


@dataclass(frozen=True, slots=True)
class EntryRemove:
    TYPE: ClassVar[str] = "entry.remove"
    op_seq: int
    hlc: str
    cred: str
    observed: frozenset[Dot]


@dataclass(frozen=True, slots=True)
class EntrySet:
    TYPE: ClassVar[str] = "entry.set"
    op_seq: int
    hlc: str
    cred: str
    field: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class TagAdd:
    TYPE: ClassVar[str] = "tag.add"
    op_seq: int
    hlc: str
    cred: str
    tag: str
    dot: Dot


@dataclass(frozen=True, slots=True)
class TagRemove:
    TYPE: ClassVar[str] = "tag.remove"
    op_seq: int
    hlc: str
    cred: str
    tag: str
    observed: frozenset[Dot]


@dataclass(frozen=True, slots=True)
class CollectionCreate:
    TYPE: ClassVar[str] = "collection.create"
    op_seq: int
    hlc: str
    coll: str
    name: str


@dataclass(frozen=True, slots=True)
class CollectionSet:
    TYPE: ClassVar[str] = "collection.set"
    op_seq: int
    hlc: str
    coll: str
    field: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class CollectionDelete:
    TYPE: ClassVar[str] = "collection.delete"
    op_seq: int
    hlc: str
    coll: str


@dataclass(frozen=True, slots=True)
class MemberAdd:
    TYPE: ClassVar[str] = "member.add"
    op_seq: int
    hlc: str
    coll: str
    cred: str
    dot: Dot


@dataclass(frozen=True, slots=True)
class MemberRemove:
    TYPE: ClassVar[str] = "member.remove"
    op_seq: int
    hlc: str
    coll: str
    cred: str
    observed: frozenset[Dot]


@dataclass(frozen=True, slots=True)
class MemberSetOrder:
    TYPE: ClassVar[str] = "member.set_order"
    op_seq: int
    hlc: str
    coll: str
    cred: str
    order_key: str


@dataclass(frozen=True, slots=True)
class RowMerge:
    """Join a full row state (restore re-push, I14; bulk import). Wire fields ``k``, ``id``, ``s``."""

    TYPE: ClassVar[str] = "row.merge"
    op_seq: int
    hlc: str
    key: RowKey
    row: Row


@dataclass(frozen=True, slots=True)
class ClaimRedeem:
    """Claim a badge from a QR code scanned offline; ``scanned_at`` is ms since the Unix epoch."""

    TYPE: ClassVar[str] = "claim.redeem"
    op_seq: int
    hlc: str
    action_id: str
    code: str
    scanned_at: int
    pin: str | None = None


@dataclass(frozen=True, slots=True)
class ShareCreate:
    """Create a share link for some credentials (``creds``) or for one collection (``coll``)."""

    TYPE: ClassVar[str] = "share.create"
    op_seq: int
    hlc: str
    action_id: str
    creds: tuple[str, ...] | None = None
    coll: str | None = None
    expires_in_days: int | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class ImportUrl:
    TYPE: ClassVar[str] = "import.url"
    op_seq: int
    hlc: str
    action_id: str
    url: str


@dataclass(frozen=True, slots=True)
class RequestBadge:
    """Ask an organisation for a badge (docs/requests.md), written offline: what the learner did
    (``narrative``), links to evidence they control, and the name of a youth worker who saw it.
    Photos and files are attached once online; the outcome's ``result`` carries the ``request_id``."""

    TYPE: ClassVar[str] = "badge.request"
    op_seq: int
    hlc: str
    action_id: str
    achievement: str
    narrative: str
    links: tuple[str, ...] = ()
    witness: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """Server only: the outcome of a server action, stored as an ``action_result`` row."""

    TYPE: ClassVar[str] = "action.result"
    op_seq: int
    hlc: str
    action_id: str
    action: str
    status: str
    code: str | None = None
    result: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.op_seq, self.hlc, self.action_id, self.action, self.status, self.code))


@dataclass(frozen=True, slots=True)
class FactsSet:
    """Server only: what the server established about ``cred`` (``None`` clears it), as a ``facts`` row."""

    TYPE: ClassVar[str] = "facts.set"
    op_seq: int
    hlc: str
    cred: str
    facts: Mapping[str, Any] | None

    def __hash__(self) -> int:
        return hash((self.op_seq, self.hlc, self.cred, canonical_json(self.facts)))


Op = (
    EntryAdd
    | EntryRemove
    | EntrySet
    | TagAdd
    | TagRemove
    | CollectionCreate
    | CollectionSet
    | CollectionDelete
    | MemberAdd
    | MemberRemove
    | MemberSetOrder
    | RowMerge
    | ClaimRedeem
    | ShareCreate
    | ImportUrl
    | RequestBadge
    | ActionResult
    | FactsSet
)

OP_TYPES: Mapping[str, type] = MappingProxyType(
    {
        cls.TYPE: cls
        for cls in (
            EntryAdd,
            EntryRemove,
            EntrySet,
            TagAdd,
            TagRemove,
            CollectionCreate,
            CollectionSet,
            CollectionDelete,
            MemberAdd,
            MemberRemove,
            MemberSetOrder,
            RowMerge,
            ClaimRedeem,
            ShareCreate,
            ImportUrl,
            RequestBadge,
            ActionResult,
            FactsSet,
        )
    }
)
SERVER_ONLY_TYPES = frozenset({ActionResult.TYPE, FactsSet.TYPE})


# --- field parsers: each takes the raw JSON value and returns the parsed one or raises InvalidOp ----


def _string(value: object, name: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidOp("op.wrong_type", f"{name} must be a string")
    if len(value) > max_length:
        raise InvalidOp("op.too_large", f"{name} longer than {max_length} characters")
    return value


def _cred(value: object, name: str = "cred") -> str:
    if not is_cred_hash(_string(value, name, 71)):
        raise InvalidOp("op.bad_cred", f'{name} must be "sha256:" + 64 lowercase hex digits')
    return value  # type: ignore[return-value]


def _coll(value: object) -> str:
    if not is_collection_id(_string(value, "coll", 36)):
        raise InvalidOp("op.bad_id", "coll must be a lowercase canonical UUID")
    return value  # type: ignore[return-value]


def _action_id(value: object) -> str:
    if not is_action_id(_string(value, "action_id", 64)):
        raise InvalidOp("op.bad_id", "action_id must be 1-64 characters from A-Z a-z 0-9 _ . : -")
    return value  # type: ignore[return-value]


def _dot(value: object) -> Dot:
    if not isinstance(value, list):
        raise InvalidOp("op.wrong_type", "dot must be a [node, n] array")
    try:
        return dot_from_wire(value)
    except ValueError as exc:
        raise InvalidOp("op.bad_dot", str(exc)) from None


def _observed(value: object) -> frozenset[Dot]:
    if not isinstance(value, list):
        raise InvalidOp("op.wrong_type", "observed must be an array of dots")
    if len(value) > MAX_DOTS:
        raise InvalidOp("op.too_large", f"observed holds more than {MAX_DOTS} dots")
    return frozenset(_dot(item) for item in value)


def _tag(value: object) -> str:
    tag = _string(value, "tag", MAX_RAW_TAG_LENGTH)
    if not is_valid_tag_norm(normalise_tag(tag)):
        raise InvalidOp("op.bad_tag", "tag must be 1-64 printable characters once normalised")
    return tag


def _field_value(name: str, value: object) -> Scalar:
    try:
        return check_field_value(name, value)
    except InvalidRow as exc:
        raise InvalidOp(exc.code, exc.detail) from None


def _claim_code(value: object) -> str:
    code = _string(value, "code", MAX_CLAIM_CODE_LENGTH)
    if not code or not code.isascii() or not code.isprintable() or code.strip() != code:
        raise InvalidOp("op.bad_value", "code must be 1-64 printable ASCII characters")
    return code


def _pin(value: object) -> str | None:
    if value is None:
        return None
    pin = _string(value, "pin", MAX_PIN_LENGTH)
    if not pin or not pin.isascii() or not pin.isdigit():
        raise InvalidOp("op.bad_value", "pin must be 1-12 ASCII digits")
    return pin


def _int(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidOp("op.wrong_type", f"{name} must be an integer")
    if not low <= value <= high:
        raise InvalidOp("op.bad_value", f"{name} must be in {low}..{high}")
    return value


def _url(value: object) -> str:
    url = _string(value, "url", MAX_URL_LENGTH)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidOp("op.bad_url", "url does not parse") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in url)
        or has_control_characters(url)
    ):
        raise InvalidOp("op.bad_url", "url must be an absolute http(s) URL without spaces")
    return url


def _creds(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidOp("op.wrong_type", "creds must be an array")
    if len(value) > MAX_SHARE_CREDS:
        raise InvalidOp("op.too_large", f"creds holds more than {MAX_SHARE_CREDS} ids")
    creds = tuple(_cred(item, "creds[]") for item in value)
    if not creds or len(set(creds)) != len(creds):
        raise InvalidOp("op.bad_value", "creds must be non-empty and without duplicates")
    return creds


def _label(value: object) -> str | None:
    if value is None:
        return None
    label = _string(value, "label", MAX_NAME_LENGTH)
    if has_control_characters(label):
        raise InvalidOp("op.bad_value", "label must be printable")
    return label


def _uuid_text(value: object, name: str) -> str:
    if not is_collection_id(_string(value, name, 36)):
        raise InvalidOp("op.bad_id", f"{name} must be a lowercase canonical UUID")
    return value  # type: ignore[return-value]


def _prose(value: object, name: str, max_length: int, *, multiline: bool) -> str:
    text = _string(value, name, max_length)
    allowed = "\n\r\t" if multiline else ""
    if has_control_characters("".join(ch for ch in text if ch not in allowed)):
        raise InvalidOp("op.bad_value", f"{name} must be printable text")
    return text


def _links(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidOp("op.wrong_type", "links must be an array of URLs")
    if len(value) > BADGE_REQUEST_LINKS:
        raise InvalidOp("op.too_large", f"links holds more than {BADGE_REQUEST_LINKS} URLs")
    return tuple(_url(item) for item in value)


_Parser = Callable[[object], Any]
_REQUIRED, _OPTIONAL = True, False

_FIELDS: dict[str, dict[str, tuple[_Parser, bool]]] = {
    "entry.add": {"cred": (_cred, _REQUIRED), "dot": (_dot, _REQUIRED)},
    "entry.remove": {"cred": (_cred, _REQUIRED), "observed": (_observed, _REQUIRED)},
    "entry.set": {"cred": (_cred, _REQUIRED), "field": (lambda v: v, _REQUIRED), "value": (lambda v: v, _REQUIRED)},
    "tag.add": {"cred": (_cred, _REQUIRED), "tag": (_tag, _REQUIRED), "dot": (_dot, _REQUIRED)},
    "tag.remove": {"cred": (_cred, _REQUIRED), "tag": (_tag, _REQUIRED), "observed": (_observed, _REQUIRED)},
    "collection.create": {"coll": (_coll, _REQUIRED), "name": (lambda v: _field_value("name", v), _REQUIRED)},
    "collection.set": {
        "coll": (_coll, _REQUIRED),
        "field": (lambda v: v, _REQUIRED),
        "value": (lambda v: v, _REQUIRED),
    },
    "collection.delete": {"coll": (_coll, _REQUIRED)},
    "member.add": {"coll": (_coll, _REQUIRED), "cred": (_cred, _REQUIRED), "dot": (_dot, _REQUIRED)},
    "member.remove": {"coll": (_coll, _REQUIRED), "cred": (_cred, _REQUIRED), "observed": (_observed, _REQUIRED)},
    "member.set_order": {
        "coll": (_coll, _REQUIRED),
        "cred": (_cred, _REQUIRED),
        "order_key": (lambda v: _field_value("order_key", v), _REQUIRED),
    },
    "row.merge": {"k": (lambda v: v, _REQUIRED), "id": (lambda v: v, _REQUIRED), "s": (lambda v: v, _REQUIRED)},
    "claim.redeem": {
        "action_id": (_action_id, _REQUIRED),
        "code": (_claim_code, _REQUIRED),
        "scanned_at": (lambda v: _int(v, "scanned_at", 0, MAX_PHYSICAL_MS), _REQUIRED),
        "pin": (_pin, _OPTIONAL),
    },
    "share.create": {
        "action_id": (_action_id, _REQUIRED),
        "creds": (_creds, _OPTIONAL),
        "coll": (lambda v: None if v is None else _coll(v), _OPTIONAL),
        "expires_in_days": (
            lambda v: None if v is None else _int(v, "expires_in_days", 1, MAX_SHARE_DAYS),
            _OPTIONAL,
        ),
        "label": (_label, _OPTIONAL),
    },
    "import.url": {"action_id": (_action_id, _REQUIRED), "url": (_url, _REQUIRED)},
    "badge.request": {
        "action_id": (_action_id, _REQUIRED),
        "achievement": (lambda v: _uuid_text(v, "achievement"), _REQUIRED),
        "narrative": (lambda v: _prose(v, "narrative", MAX_NARRATIVE_LENGTH, multiline=True), _REQUIRED),
        "links": (_links, _OPTIONAL),
        "witness": (
            lambda v: None if v is None else _prose(v, "witness", MAX_WITNESS_LENGTH, multiline=False),
            _OPTIONAL,
        ),
    },
    "action.result": {
        "action_id": (_action_id, _REQUIRED),
        "action": (lambda v: v, _REQUIRED),
        "status": (lambda v: v, _REQUIRED),
        "code": (lambda v: v, _OPTIONAL),
        "result": (lambda v: v, _OPTIONAL),
    },
    "facts.set": {"cred": (_cred, _REQUIRED), "facts": (lambda v: v, _REQUIRED)},
}

_DOT_FIELD_TYPES = frozenset({"entry.add", "tag.add", "member.add"})


def validate_op(
    raw: object,
    *,
    client_id: str | None = None,
    now_ms: int | None = None,
    allow_server_ops: bool = False,
) -> Op:
    """The op that the JSON value ``raw`` denotes, or :class:`InvalidOp` with a stable code.

    Never raises anything else, whatever ``raw`` is. With ``client_id`` (the server, knowing who
    pushed), adds must carry the dot ``[client_id, op_seq]`` (unique dots, I9) and the op's stamp
    must carry ``client_id`` as its node (unique stamps, I8). With ``now_ms`` the op's stamp (and
    every stamp inside a ``row.merge``) may be at most :data:`~.hlc.MAX_FUTURE_MS` ahead.
    ``allow_server_ops`` admits ``action.result`` and ``action_result`` rows: the server's own ops.
    """
    if not isinstance(raw, dict):
        raise InvalidOp("op.not_object", "an op is a JSON object")
    if "type" not in raw:
        raise InvalidOp("op.missing_field", "type is required")
    op_type = raw["type"]
    if not isinstance(op_type, str) or op_type not in OP_TYPES:
        raise InvalidOp("op.unknown_type", "unknown op type")
    if op_type in SERVER_ONLY_TYPES and not allow_server_ops:
        raise InvalidOp("op.server_only", f"{op_type} is written by the server only")
    spec = _FIELDS[op_type]
    unknown = [name for name in raw if name not in spec and name not in ("type", "op_seq", "hlc")]
    if unknown:
        raise InvalidOp("op.unknown_field", f"unknown field {str(unknown[0])[:40]!r}")
    missing = [name for name, (_, required) in spec.items() if required and name not in raw]
    missing += [name for name in ("op_seq", "hlc") if name not in raw]
    if missing:
        raise InvalidOp("op.missing_field", f"{missing[0]} is required")

    op_seq = raw["op_seq"]
    if not isinstance(op_seq, int) or isinstance(op_seq, bool):
        raise InvalidOp("op.wrong_type", "op_seq must be an integer")
    if not 1 <= op_seq <= MAX_DOT_COUNTER:
        raise InvalidOp("op.bad_op_seq", "op_seq must be in 1..2^53-1")
    if not isinstance(raw["hlc"], str):
        raise InvalidOp("op.wrong_type", "hlc must be a string")
    try:
        stamp = Hlc.parse(raw["hlc"])
    except InvalidHlc:
        raise InvalidOp("op.bad_hlc", "hlc must look like 0001763800000123-0000-node") from None

    values: dict[str, Any] = {name: parse(raw[name]) for name, (parse, _) in spec.items() if name in raw}
    op = _build(op_type, op_seq, str(stamp), values, allow_server_ops=allow_server_ops)

    if client_id is not None:
        if op_type in _DOT_FIELD_TYPES and values["dot"] != (client_id, op_seq):
            raise InvalidOp("op.foreign_dot", "an add's dot must be [client_id, op_seq]")
        if stamp.node != client_id:
            raise InvalidOp("op.foreign_hlc", "the op's stamp must carry the pushing client's id")
    if now_ms is not None:
        stamps = [stamp]
        if isinstance(op, RowMerge):
            stamps += [Hlc.parse(text) for text in _stamps_in(op.row)]
        try:
            for each in stamps:
                check_not_future(each, now_ms=now_ms)
        except ClockSkew as exc:
            raise InvalidOp("op.clock_skew", str(exc)) from None
    return op


def _build(op_type: str, op_seq: int, stamp: str, values: dict[str, Any], *, allow_server_ops: bool) -> Op:
    if op_type in ("entry.set", "collection.set"):
        allowed = ENTRY_FIELDS if op_type == "entry.set" else COLLECTION_FIELDS
        name = values["field"]
        if not isinstance(name, str):
            raise InvalidOp("op.wrong_type", "field must be a string")
        if name not in allowed:
            raise InvalidOp("op.bad_field", f"field must be one of {', '.join(allowed)}")
        values["value"] = _field_value(name, values["value"])
    elif op_type == "row.merge":
        try:
            key = key_from_wire(values.pop("k"), values.pop("id"))
            if key[0] not in CLIENT_ROW_KINDS and not allow_server_ops:
                raise InvalidOp("op.server_only", f"{key[0]} rows are written by the server only")
            values["key"] = key
            values["row"] = row_from_wire(key[0], values.pop("s"))
        except InvalidRow as exc:
            raise InvalidOp(exc.code, exc.detail) from None
    elif op_type == "share.create":
        if (values.get("creds") is None) == (values.get("coll") is None):
            raise InvalidOp("op.bad_value", "share.create takes exactly one of creds and coll")
    elif op_type == "facts.set":
        try:
            values["facts"] = check_facts(values["facts"])
        except InvalidRow as exc:
            raise InvalidOp(exc.code, exc.detail) from None
    elif op_type == "action.result":
        if values["action"] not in SERVER_ACTIONS or values["status"] not in ACTION_STATUSES:
            raise InvalidOp("op.bad_value", "unknown action or status")
        if values.get("code") is not None and not isinstance(values["code"], str):
            raise InvalidOp("op.wrong_type", "code must be a string")
        if not isinstance(values.setdefault("result", {}), dict):
            raise InvalidOp("op.wrong_type", "result must be an object")
    return OP_TYPES[op_type](op_seq=op_seq, hlc=stamp, **values)


def _stamps_in(row: Row) -> list[str]:
    if isinstance(row, ActionResultState | FactsState):
        return [row.stamp]
    if isinstance(row, CollectionState):
        stamps = [row.created, row.deleted]
        registers = [row.name, row.order_key]
    elif isinstance(row, EntryState):
        stamps, registers = [], [row.hidden, row.pinned, row.note, row.order_key]
    elif isinstance(row, MemberState):
        stamps, registers = [], [row.order_key]
    else:
        stamps, registers = [], []
    return [s for s in stamps if s is not None] + [r.stamp for r in registers if r is not None]


def op_to_wire(op: Op) -> dict[str, Any]:
    """The JSON object for ``op`` (optional fields left out when ``None``); inverse of :func:`validate_op`."""
    wire: dict[str, Any] = {"type": op.TYPE}
    for item in dataclasses.fields(op):
        value = getattr(op, item.name)
        if item.name == "key":
            wire["k"], wire["id"] = value[0], list(value[1:])
        elif item.name == "row":
            wire["s"] = row_to_wire(value)
        elif item.name == "dot":
            wire["dot"] = [value[0], value[1]]
        elif item.name == "observed":
            wire["observed"] = dots_to_wire(value)
        elif item.name == "creds" and value is not None:
            wire["creds"] = list(value)
        elif item.name == "links":
            if value:
                wire["links"] = list(value)
        elif item.name == "result":
            wire["result"] = dict(value)
        elif item.name == "facts":
            wire["facts"] = None if value is None else dict(value)
        elif value is not None:
            wire[item.name] = value
    return wire


def op_delta(op: Op) -> dict[RowKey, Row]:
    """The rows ``op`` joins into a replica: the op expressed as a (tiny) state."""
    stamp = op.hlc
    match op:
        case EntryAdd(cred=cred, dot=dot):
            return {entry_key(cred): EntryState(OrSet(frozenset((dot,))))}
        case EntryRemove(cred=cred, observed=observed):
            return {entry_key(cred): EntryState(OrSet(frozenset(), observed))}
        case EntrySet(cred=cred, field=name, value=value):
            return {entry_key(cred): EntryState(**{name: Register(value, stamp)})}
        case TagAdd(cred=cred, tag=tag, dot=dot):
            return {tag_key(cred, normalise_tag(tag)): TagState(OrSet(frozenset((dot,))))}
        case TagRemove(cred=cred, tag=tag, observed=observed):
            return {tag_key(cred, normalise_tag(tag)): TagState(OrSet(frozenset(), observed))}
        case CollectionCreate(coll=coll, name=name):
            return {collection_key(coll): CollectionState(created=stamp, name=Register(name, stamp))}
        case CollectionSet(coll=coll, field=name, value=value):
            return {collection_key(coll): CollectionState(**{name: Register(value, stamp)})}
        case CollectionDelete(coll=coll):
            return {collection_key(coll): CollectionState(deleted=stamp)}
        case MemberAdd(coll=coll, cred=cred, dot=dot):
            return {member_key(coll, cred): MemberState(OrSet(frozenset((dot,))))}
        case MemberRemove(coll=coll, cred=cred, observed=observed):
            return {member_key(coll, cred): MemberState(OrSet(frozenset(), observed))}
        case MemberSetOrder(coll=coll, cred=cred, order_key=order_key):
            return {member_key(coll, cred): MemberState(order_key=Register(order_key, stamp))}
        case RowMerge(key=key, row=row):
            return {key: row}
        case ActionResult():
            result = ActionResultState(op.action, op.status, stamp, op.code, dict(op.result))
            return {action_result_key(op.action_id): result}
        case FactsSet(cred=cred, facts=facts):
            return {facts_key(cred): FactsState(None if facts is None else dict(facts), stamp)}
        case _:
            return {}


def affected_keys(op: Op) -> tuple[RowKey, ...]:
    """The rows ``op`` may change: what the server must lock/load before applying it."""
    return tuple(op_delta(op))


def apply_op(state: State, op: Op) -> tuple[dict[RowKey, Row], frozenset[RowKey]]:
    """``state`` joined with ``op``'s delta, and the keys of rows whose state changed.

    Pure: ``state`` is not modified. The server passes just the rows of :func:`affected_keys` and
    bumps ``seq`` for each changed key (unchanged rows keep their ``seq``: no spurious changes, I16).
    """
    updated = dict(state)
    changed: set[RowKey] = set()
    for key, row in op_delta(op).items():
        current = updated.get(key)
        merged = row if current is None else join(current, row)
        if merged != current:
            updated[key] = merged
            changed.add(key)
    return updated, frozenset(changed)


def apply_ops(state: State, ops: list[Op] | tuple[Op, ...]) -> dict[RowKey, Row]:
    """``state`` after every op in turn (any order gives the same result, I3)."""
    current = dict(state)
    for op in ops:
        current, _ = apply_op(current, op)
    return current
