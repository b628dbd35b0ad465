"""The binary blob batch and the protocol-2 rules a device follows: round trips, hostile bytes, and which
ops to join when the server does not echo them (docs/sync.md §7.3, §7.4)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wallet_protocol.sync.blobs import (
    BlobRequest,
    InvalidBlobBatch,
    InvalidBlobRequest,
    decode_blob_batch,
    encode_blob_batch,
    parse_blob_request,
)
from wallet_protocol.sync.wire import ops_to_join


def _id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


blob_lists = st.lists(st.binary(max_size=300), max_size=8, unique=True)
ids = st.binary(min_size=1, max_size=8).map(_id)


@given(blob_lists, st.lists(ids, max_size=4), st.booleans())
def test_a_batch_round_trips_byte_exact(blobs: list[bytes], missing: list[str], more: bool) -> None:
    batch = decode_blob_batch(encode_blob_batch([(_id(raw), raw) for raw in blobs], missing=missing, more=more))
    assert batch.blobs == {_id(raw): raw for raw in blobs}
    assert (batch.missing, batch.more, batch.refused) == (missing, more, [])


@given(st.binary(min_size=1, max_size=200), st.integers(0, 199), st.integers(1, 255))
def test_a_blob_changed_on_the_way_is_refused_not_kept(raw: bytes, at: int, flip: int) -> None:
    changed = bytearray(raw)
    changed[at % len(raw)] ^= flip
    batch = decode_blob_batch(encode_blob_batch([(_id(raw), bytes(changed))], missing=[], more=False))
    assert batch.blobs == {} and batch.refused == [_id(raw)]


@given(st.binary(max_size=400))
def test_any_bytes_decode_or_raise_invalid_blob_batch_only(data: bytes) -> None:
    try:
        batch = decode_blob_batch(data)
    except InvalidBlobBatch:
        return
    assert all(_id(raw) == cred for cred, raw in batch.blobs.items())


@given(blob_lists.filter(bool), st.data())
def test_a_truncated_batch_is_refused(blobs: list[bytes], data: st.DataObject) -> None:
    encoded = encode_blob_batch([(_id(raw), raw) for raw in blobs], missing=[], more=False)
    cut = data.draw(st.integers(1, len(encoded) - 1))
    try:
        batch = decode_blob_batch(encoded[:cut])
    except InvalidBlobBatch:
        return
    assert len(batch.blobs) < len(blobs)  # cut exactly between frames: the rest is simply not there


def test_blob_requests_are_ids_or_all() -> None:
    cred = _id(b"x")
    assert parse_blob_request({"creds": [cred, cred]}, max_creds=2) == BlobRequest((cred,))
    assert parse_blob_request({"all": True}, max_creds=2) == BlobRequest(None, None)
    assert parse_blob_request({"all": True, "after": cred}, max_creds=2) == BlobRequest(None, cred)
    for bad in ({"creds": [cred] * 3}, {"creds": []}, {"all": 1}, {"all": True, "after": "x"}, [], {"creds": ["x"]}):
        with pytest.raises(InvalidBlobRequest):
            parse_blob_request(bad, max_creds=2)


@given(
    st.lists(st.integers(1, 30), unique=True, max_size=15),
    st.integers(1, 31),
    st.integers(0, 30),
    st.sets(st.integers(1, 30)),
)
def test_the_ops_joined_are_exactly_those_this_request_applied(
    sent: list[int], applied_from: int, acked: int, rejected: set[int]
) -> None:
    joined = ops_to_join(sent, applied_from=applied_from, acked_op_seq=acked, rejected=rejected)
    assert joined == sorted(joined)
    for seq in sent:
        assert (seq in joined) == (applied_from <= seq <= acked and seq not in rejected)
