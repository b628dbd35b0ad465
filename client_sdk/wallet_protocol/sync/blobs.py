"""Credential bytes in bulk: the binary blob batch of ``POST /api/v1/sync/blobs`` (docs/sync.md §7.3).

Rows name credentials by hash (I11); a device fetches the bytes it lacks. The JSON answer carries
each blob as base64 (+33 %); a client that sends ``Accept: application/vnd.learner-wallet.blob-batch``
gets them as they are, framed::

    batch  := header_length:uint32be header frame*
    header := UTF-8 JSON {"missing": [cred, …], "more": bool}
    frame  := digest:32 bytes (sha256 of the blob) length:uint32be blob

``missing``: asked-for ids the server holds no bytes for in the learner's wallet. ``more``: the server
stopped at its byte budget (:data:`MAX_BATCH_BYTES`; at least one blob is always sent) — ask again for
what neither came nor was missing (with ``{"all": true}``: with ``after`` = the largest id received).
A reader keeps a blob only if its sha256 is the digest it came with and an id it asked for (or any
id, when it asked for all).

Requests are JSON, in both formats: ``{"creds": [1…1000 ids]}``, or ``{"all": true, "after": id|null}``
for every credential of the wallet in id order — what a new device with no bytes at all asks.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .state import is_cred_hash

BLOB_BATCH_MEDIA_TYPE = "application/vnd.learner-wallet.blob-batch"
MAX_BATCH_BYTES = 8 * 1024 * 1024
"""The server stops adding blobs to a binary batch past this many bytes (``more``)."""
MAX_BINARY_CREDS = 1000
"""Ids one binary-batch request may list; a JSON answer stays at ``wire.MAX_BLOBS_PER_FETCH`` (100)."""
MAX_HEADER_BYTES = 1024 * 1024
_LENGTH = struct.Struct(">I")


class InvalidBlobBatch(ValueError):
    """The bytes are not a blob batch (truncated, corrupt header, a frame past the end)."""


class InvalidBlobRequest(ValueError):
    """The request is neither 1…N credential ids nor ``{"all": true, "after": …}``."""


@dataclass(frozen=True, slots=True)
class BlobRequest:
    """``creds`` (in the order asked, duplicates dropped), or ``None`` for every credential after ``after``."""

    creds: tuple[str, ...] | None
    after: str | None = None


def parse_blob_request(body: object, *, max_creds: int) -> BlobRequest:
    """The request body of ``POST /api/v1/sync/blobs``, or :class:`InvalidBlobRequest`."""
    if not isinstance(body, dict):
        raise InvalidBlobRequest("the body is a JSON object")
    if set(body) == {"creds"}:
        creds = body["creds"]
        if (
            not isinstance(creds, list)
            or not 1 <= len(creds) <= max_creds
            or not all(isinstance(cred, str) and is_cred_hash(cred) for cred in creds)
        ):
            raise InvalidBlobRequest(f"creds lists 1 to {max_creds} ids of the form sha256:<64 hex>")
        return BlobRequest(tuple(dict.fromkeys(creds)))
    if set(body) in ({"all"}, {"all", "after"}) and body["all"] is True:
        after = body.get("after")
        if after is not None and not (isinstance(after, str) and is_cred_hash(after)):
            raise InvalidBlobRequest("after is a credential id or null")
        return BlobRequest(None, after)
    raise InvalidBlobRequest('send {"creds": [...]} or {"all": true, "after": <id or null>}')


def encode_blob_batch(blobs: Iterable[tuple[str, bytes]], *, missing: Iterable[str], more: bool) -> bytes:
    """A binary batch of ``(cred, bytes)`` pairs (each cred must be the sha256 id of its bytes)."""
    header = json.dumps({"missing": list(missing), "more": more}, separators=(",", ":")).encode()
    parts = [_LENGTH.pack(len(header)), header]
    for cred, raw in blobs:
        parts += [bytes.fromhex(cred.removeprefix("sha256:")), _LENGTH.pack(len(raw)), raw]
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class BlobBatch:
    blobs: dict[str, bytes]
    """Blobs whose bytes hash to the digest they came with, by id."""
    refused: list[str]
    """Ids whose bytes did not hash to their digest (corrupted on the way, or a faulty server): not kept."""
    missing: list[str]
    more: bool


def decode_blob_batch(data: bytes) -> BlobBatch:
    """Read a binary batch; raises :class:`InvalidBlobBatch` (only) if it is not one."""
    try:
        return _decode(memoryview(data))
    except InvalidBlobBatch:
        raise
    except Exception as exc:  # one exception type for any input
        raise InvalidBlobBatch("malformed blob batch") from exc


def _decode(data: memoryview) -> BlobBatch:
    if len(data) < _LENGTH.size:
        raise InvalidBlobBatch("no header")
    (header_length,) = _LENGTH.unpack_from(data, 0)
    offset = _LENGTH.size + header_length
    if header_length > MAX_HEADER_BYTES or offset > len(data):
        raise InvalidBlobBatch("the header runs past the end")
    header: Any = json.loads(bytes(data[_LENGTH.size : offset]).decode("utf-8"))
    if (
        not isinstance(header, dict)
        or not isinstance(header.get("missing"), list)
        or not all(isinstance(cred, str) and is_cred_hash(cred) for cred in header["missing"])
        or not isinstance(header.get("more"), bool)
    ):
        raise InvalidBlobBatch("the header is not {missing, more}")
    blobs: dict[str, bytes] = {}
    refused: list[str] = []
    while offset < len(data):
        if offset + 32 + _LENGTH.size > len(data):
            raise InvalidBlobBatch("a frame runs past the end")
        digest = bytes(data[offset : offset + 32])
        (length,) = _LENGTH.unpack_from(data, offset + 32)
        start = offset + 32 + _LENGTH.size
        if start + length > len(data):
            raise InvalidBlobBatch("a blob runs past the end")
        raw = bytes(data[start : start + length])
        cred = "sha256:" + digest.hex()
        if hashlib.sha256(raw).digest() == digest:
            blobs[cred] = raw
        else:
            refused.append(cred)
        offset = start + length
    return BlobBatch(blobs, refused, list(header["missing"]), header["more"])
