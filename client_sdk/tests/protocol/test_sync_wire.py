"""Cursor codec and request envelope: strict, canonical, and never failing with a surprise exception."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wallet_protocol.sync.wire import (
    MAX_OPS_PER_REQUEST,
    Cursor,
    InvalidCursor,
    InvalidRequest,
    decode_cursor,
    encode_cursor,
    parse_sync_request,
    plan_ops,
)

cursors = st.builds(
    Cursor,
    st.uuids().map(str) | st.from_regex(r"[A-Za-z0-9-]{1,64}", fullmatch=True),
    st.integers(0, 2**63 - 1),
    st.none() | st.integers(0, 2**63 - 1),
)


@given(cursors)
def test_cursor_round_trips_and_is_url_safe(cursor: Cursor) -> None:
    text = encode_cursor(cursor)
    assert decode_cursor(text) == cursor
    assert decode_cursor(text.encode()) == cursor
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(st.one_of(st.text(), st.binary(), st.integers(), st.none(), st.lists(st.text(max_size=3))))
def test_cursor_parsing_raises_only_invalid_cursor(value: object) -> None:
    try:
        cursor = decode_cursor(value)
    except InvalidCursor:
        return
    assert encode_cursor(cursor) in (value, value.decode() if isinstance(value, bytes) else None)


@given(cursors, st.data())
def test_a_tampered_cursor_is_rejected_or_decodes_to_a_canonical_cursor(cursor: Cursor, data: st.DataObject) -> None:
    text = encode_cursor(cursor)
    index = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from("AZaz09-_=+/ "))
    tampered = text[:index] + replacement + text[index + 1 :]
    try:
        decoded = decode_cursor(tampered)
    except InvalidCursor:
        return
    assert encode_cursor(decoded) == tampered


@pytest.mark.parametrize("text", ["", "e30", "eyJlcG9jaCI6ImUiLCJzZXEiOi0xfQ", "eyJzZXEiOjEsImVwb2NoIjoiZSJ9"])
def test_cursor_rejects_empty_wrong_shape_negative_and_non_canonical(text: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(text)


@pytest.mark.parametrize(
    "payload",
    [
        '{"epoch":"e","seq":1,"snap":null}',
        '{"epoch":"e","seq":1,"snap":-1}',
        '{"epoch":"e","seq":1,"snap":true}',
        '{"epoch":"e","seq":1,"snap":"2"}',
        '{"epoch":"e","snap":2,"seq":1}',
        '{"epoch":"e","seq":1,"snap":2,"x":0}',
    ],
)
def test_a_snapshot_cursor_is_as_strict_as_a_plain_one(payload: str) -> None:
    text = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        decode_cursor(text)


def test_a_snapshot_cursor_carries_its_high_water_mark_and_a_plain_one_is_unchanged() -> None:
    assert decode_cursor(encode_cursor(Cursor("e", 7, snap=1200))) == Cursor("e", 7, 1200)
    assert encode_cursor(Cursor("e", 7)) == base64.urlsafe_b64encode(b'{"epoch":"e","seq":7}').rstrip(b"=").decode()


def request(**overrides: object) -> dict:
    body: dict = {"protocol": 1, "client_id": "0b9c", "cursor": None, "ops": [{"op_seq": 1, "type": "x"}]}
    body.update(overrides)
    return body


def test_a_request_envelope_parses() -> None:
    parsed = parse_sync_request(request(cursor=encode_cursor(Cursor("e1", 5)), limit=10))
    assert parsed.cursor == Cursor("e1", 5) and parsed.limit == 10 and not parsed.cursor_invalid


def test_a_bad_cursor_is_not_an_error_but_a_reset() -> None:
    parsed = parse_sync_request(request(cursor="not-a-cursor!"))
    assert parsed.cursor is None and parsed.cursor_invalid


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (request(protocol=3), "sync.protocol_unsupported"),
        (request(protocol=True), "sync.protocol_unsupported"),
        (request(ops=[{"op_seq": n} for n in range(1, MAX_OPS_PER_REQUEST + 2)]), "sync.too_many_ops"),
        (request(ops=[{"type": "entry.add"}]), "request.validation_failed"),
        (request(limit=0), "request.validation_failed"),
        (request(extra=1), "request.validation_failed"),
        (request(client_id="a b"), "request.validation_failed"),
        ([], "request.validation_failed"),
    ],
)
def test_unusable_envelopes_are_refused_with_a_code(body: object, code: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_sync_request(body)
    assert refused.value.code == code


@given(st.lists(st.integers(1, 12), max_size=12), st.integers(0, 8))
def test_plan_ops_applies_the_next_ops_in_order_and_stops_at_a_gap(op_seqs: list[int], last: int) -> None:
    """I2 + I5: duplicates are skipped, processing is in op_seq order and stops at the first gap."""
    selected, acked = plan_ops(op_seqs, last_op_seq=last)
    applied = [op_seqs[index] for index in selected]
    assert applied == list(range(last + 1, acked + 1))
    assert acked + 1 not in op_seqs
