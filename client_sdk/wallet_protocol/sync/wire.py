"""The envelope of ``POST /api/v1/sync``: protocol version, cursor codec and request parsing.

The cursor is opaque to clients (docs/sync.md §6): base64url without padding of the compact JSON
``{"epoch":"<uuid>","seq":<n>}``, or ``{"epoch":"<uuid>","seq":<n>,"snap":<m>}`` while a reset
snapshot is being paged (``snap`` is the wallet's ``seq`` when the snapshot began, so the pages that
follow continue it instead of starting again, and carry the deletions made meanwhile; I10).
Decoding is strict and canonical — re-encoding must give back the same text — and whatever it is given
it raises nothing but :class:`InvalidCursor`, so the server can map every bad cursor to one answer
(``reset``). ``epoch`` changes when the server's wallet history is replaced (restore from backup,
wallet reset): a cursor from another epoch is never trusted (I10, I14).

Two protocol versions are spoken (docs/sync.md §7.4). Version 1 as first written; version 2, which a
request chooses with ``"protocol": 2``, changes only what the server sends back: pages of up to
:data:`MAX_LIMIT_V2` rows cut at :data:`MAX_PAGE_BYTES`, changes without their informational ``seq``, and
no echo of the rows that only this request's own ops changed — the device joins those ops into its
base itself (:func:`ops_to_join`, with the response's ``applied_from``). A version-1 device gets exactly
the version-1 answers it always got.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from .dots import MAX_DOT_COUNTER
from .hlc import is_valid_node

PROTOCOL_VERSION = 2
"""The newest version; the server answers each request in the version it was sent in."""
PROTOCOL_VERSIONS = (1, 2)
SYNC_PATH = "/api/v1/sync"
REGISTER_CLIENT_PATH = "/api/v1/sync/clients"
BLOBS_PATH = "/api/v1/sync/blobs"
"""``POST {"creds": [...]}`` → ``{"blobs": {cred: base64}, "missing": [...]}``: credential bytes in batches."""
MAX_BLOBS_PER_FETCH = 100

DEFAULT_LIMIT = 500
"""Changes per response when a version-1 request gives no ``limit``."""
MAX_LIMIT = 1000
DEFAULT_LIMIT_V2 = MAX_LIMIT_V2 = 5000
"""Version 2: changes per response, so that a first sync of a 1,000-credential wallet is one page."""
MAX_PAGE_BYTES = 4 * 1024 * 1024
"""Version 2: a page stops once its row states reach this many bytes of JSON (at least one row)."""
MAX_OPS_PER_REQUEST = 500
"""More ops than this in one request is HTTP 413 ``sync.too_many_ops``; the client halves its batch."""
MAX_BLOBS_PER_REQUEST = 50
GC_HORIZON_DAYS = 90
"""Tombstones (and the cursors of clients not seen) older than this may be purged; see I10."""

REQUEST_FIELDS = frozenset({"protocol", "client_id", "cursor", "ops", "blobs", "limit"})
REQUIRED_REQUEST_FIELDS = frozenset({"protocol", "client_id", "cursor", "ops"})
RESPONSE_FIELDS_V1 = frozenset(
    {
        "protocol",
        "acked_op_seq",
        "next_op_seq",
        "rejected",
        "reset",
        "reregister",
        "changes",
        "missing_blobs",
        "cursor",
        "has_more",
        "server_hlc",
    }
)
RESPONSE_FIELDS = RESPONSE_FIELDS_V1 | {"applied_from"}
"""Version 2 adds ``applied_from``: the first ``op_seq`` this request applied (see :func:`ops_to_join`)."""
REJECTION_FIELDS = frozenset({"op_seq", "code", "detail"})

MAX_SEQ = 2**63 - 1
MAX_CURSOR_LENGTH = 200
_EPOCH = re.compile(r"[A-Za-z0-9-]{1,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]{1,200}")


class InvalidCursor(ValueError):
    """The cursor is not one this protocol issues (malformed, truncated, non-canonical or tampered)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in one wallet's change history: ``seq`` within history ``epoch``.

    ``snap`` is set only on the pages of a reset snapshot after the first: the wallet's ``seq`` when
    the snapshot began. Rows up to ``seq`` have been sent; tombstones at or below ``snap`` are not
    needed (the device started from an empty base), later ones are.
    """

    epoch: str
    seq: int
    snap: int | None = None


def encode_cursor(cursor: Cursor) -> str:
    if not (
        _EPOCH.fullmatch(cursor.epoch)
        and 0 <= cursor.seq <= MAX_SEQ
        and (cursor.snap is None or 0 <= cursor.snap <= MAX_SEQ)
    ):
        raise ValueError("epoch must be 1-64 of A-Z a-z 0-9 - and seq, snap in 0..2^63-1")
    fields: dict[str, Any] = {"epoch": cursor.epoch, "seq": cursor.seq}
    if cursor.snap is not None:
        fields["snap"] = cursor.snap
    payload = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()


def decode_cursor(text: object) -> Cursor:
    """The cursor written as ``text``; raises :class:`InvalidCursor` — and only that — otherwise."""
    try:
        return _decode_cursor(text)
    except InvalidCursor:
        raise
    except Exception as exc:  # the contract: one exception type, whatever the input
        raise InvalidCursor("malformed cursor") from exc


def _decode_cursor(text: object) -> Cursor:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise InvalidCursor("a cursor is ASCII") from None
    if not isinstance(text, str) or len(text) > MAX_CURSOR_LENGTH or not _B64URL.fullmatch(text):
        raise InvalidCursor("a cursor is 1-200 base64url characters")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise InvalidCursor("malformed cursor") from None
    if not isinstance(payload, dict) or set(payload) not in ({"epoch", "seq"}, {"epoch", "seq", "snap"}):
        raise InvalidCursor("malformed cursor")
    epoch, seq, snap = payload["epoch"], payload["seq"], payload.get("snap")
    if not isinstance(epoch, str) or not _is_int(seq) or not (snap is None or _is_int(snap)):
        raise InvalidCursor("malformed cursor")
    try:
        cursor = Cursor(epoch, seq, snap)
        canonical = encode_cursor(cursor)
    except ValueError:
        raise InvalidCursor("malformed cursor") from None
    if canonical != text:
        raise InvalidCursor("non-canonical cursor")
    return cursor


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class InvalidRequest(ValueError):
    """The sync request as a whole is unusable; ``code`` is an HTTP error code of ``wallet_protocol.errors``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """A parsed request envelope. ``ops`` stay raw: each is validated on its own and may be rejected
    individually (``rejected``) without failing the request.
    ``cursor`` is ``None`` on a first sync; an unusable cursor is reported in ``cursor_invalid`` and
    answered with ``reset`` rather than an error, so a client can always recover.
    """

    client_id: str
    cursor: Cursor | None
    cursor_invalid: bool
    ops: tuple[Any, ...]
    blobs: dict[str, str]
    limit: int
    protocol: int = 1


def parse_sync_request(body: object) -> SyncRequest:
    """The envelope of a ``POST /api/v1/sync`` body, or :class:`InvalidRequest`.

    Codes: ``sync.protocol_unsupported`` (400), ``sync.too_many_ops`` (413), otherwise
    ``request.validation_failed`` (422).
    """
    if not isinstance(body, dict):
        raise InvalidRequest("request.validation_failed", "the body is a JSON object")
    protocol = body.get("protocol")
    if protocol not in PROTOCOL_VERSIONS or isinstance(protocol, bool):
        raise InvalidRequest("sync.protocol_unsupported", f"this server speaks protocols {list(PROTOCOL_VERSIONS)}")
    unknown = set(body) - REQUEST_FIELDS
    missing = REQUIRED_REQUEST_FIELDS - set(body)
    if unknown or missing:
        raise InvalidRequest(
            "request.validation_failed",
            f"unknown fields {sorted(map(str, unknown))[:5]}, missing fields {sorted(missing)}",
        )
    client_id = body["client_id"]
    if not is_valid_node(client_id):
        raise InvalidRequest("request.validation_failed", "client_id is the id returned at registration")
    ops = body["ops"]
    if not isinstance(ops, list):
        raise InvalidRequest("request.validation_failed", "ops is an array")
    if len(ops) > MAX_OPS_PER_REQUEST:
        raise InvalidRequest("sync.too_many_ops", f"at most {MAX_OPS_PER_REQUEST} ops per request")
    for op in ops:
        op_seq = op.get("op_seq") if isinstance(op, dict) else None
        if not isinstance(op_seq, int) or isinstance(op_seq, bool) or not 1 <= op_seq <= MAX_DOT_COUNTER:
            raise InvalidRequest("request.validation_failed", "every op is an object with an op_seq in 1..2^53-1")
    blobs = body.get("blobs", {})
    if (
        not isinstance(blobs, dict)
        or len(blobs) > MAX_BLOBS_PER_REQUEST
        or not all(isinstance(value, str) for value in blobs.values())
    ):
        raise InvalidRequest("request.validation_failed", f"blobs maps at most {MAX_BLOBS_PER_REQUEST} ids to text")
    default_limit, max_limit = (DEFAULT_LIMIT, MAX_LIMIT) if protocol == 1 else (DEFAULT_LIMIT_V2, MAX_LIMIT_V2)
    limit = body.get("limit", default_limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= max_limit:
        raise InvalidRequest("request.validation_failed", f"limit is an integer in 1..{max_limit}")
    cursor: Cursor | None = None
    cursor_invalid = False
    if body["cursor"] is not None:
        try:
            cursor = decode_cursor(body["cursor"])
        except InvalidCursor:
            cursor_invalid = True
    return SyncRequest(client_id, cursor, cursor_invalid, tuple(ops), dict(blobs), limit, int(protocol))


def plan_ops(op_seqs: list[int], *, last_op_seq: int) -> tuple[list[int], int]:
    """Which pushed ops to process, in order, given the client's last applied ``op_seq`` (I2, I5).

    ``op_seqs`` are the ``op_seq`` of each pushed op (:func:`parse_sync_request` checked them).
    Returns the indexes into ``op_seqs`` to process and the ``acked_op_seq`` if all of them are
    applied or rejected: duplicates (``<= last_op_seq``) are skipped, and processing stops at the
    first gap (a missing ``last_op_seq + 1``) so ops are never applied out of order.
    """
    order = sorted(range(len(op_seqs)), key=lambda index: op_seqs[index])
    selected: list[int] = []
    expected = last_op_seq + 1
    for index in order:
        seq = op_seqs[index]
        if seq < expected:
            continue
        if seq > expected:
            break
        selected.append(index)
        expected += 1
    return selected, expected - 1


def ops_to_join(
    op_seqs: list[int], *, applied_from: int, acked_op_seq: int, rejected: set[int] | frozenset[int]
) -> list[int]:
    """Which of a device's sent ops to join into its base after a version-2 response (no echo).

    A version-2 server leaves out of ``changes`` the rows that only this request's own ops changed
    since the cursor; the device gets the same rows by joining those ops into its base, which is safe
    because an op is a join and the server's row is the join of its base row with them (I2, I3). They
    are the ops with ``applied_from <= op_seq <= acked_op_seq`` that were not ``rejected``. Ops below
    ``applied_from`` were applied by an earlier request whose answer was lost: their rows changed after
    the cursor, so they are in ``changes``, and a rejection of theirs was never heard, so they must not
    be joined.
    """
    return [seq for seq in sorted(op_seqs) if applied_from <= seq <= acked_op_seq and seq not in rejected]
