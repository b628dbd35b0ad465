"""Hybrid logical clock: monotonic under skewed and jumping clocks, causal, sortable as text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wallet_protocol.sync.hlc import (
    MAX_COUNTER,
    MAX_FUTURE_MS,
    ClockSkew,
    Hlc,
    InvalidHlc,
    check_not_future,
    receive,
    send,
)

DAY_MS = 86_400_000
BASE = 1_763_800_000_000
wall_clocks = st.integers(BASE - 30 * DAY_MS, BASE + 30 * DAY_MS)
node_names = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)
any_stamp = st.builds(Hlc, st.integers(0, 10**13 - 1), st.integers(0, MAX_COUNTER), node_names)


@given(st.lists(wall_clocks, min_size=1, max_size=50))
def test_send_is_strictly_monotonic_even_when_the_wall_clock_jumps_back(clock_readings: list[int]) -> None:
    last = None
    for now in clock_readings:
        stamp = send(last, now_ms=now, node="phone")
        assert last is None or stamp > last
        assert stamp.physical_ms >= now
        last = stamp


@given(st.none() | any_stamp, any_stamp, wall_clocks)
def test_receive_is_after_both_the_local_clock_and_the_remote_stamp(last: Hlc | None, remote: Hlc, now: int) -> None:
    stamp = receive(last, remote, now_ms=now, node="phone")
    assert stamp > remote
    assert last is None or stamp > last
    bound = max(remote.physical_ms, now, last.physical_ms if last else 0)
    assert bound <= stamp.physical_ms <= bound + 1


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(-30 * DAY_MS, 30 * DAY_MS)), max_size=40),
    st.integers(0, 10_000),
)
def test_a_write_made_after_seeing_another_gets_a_larger_stamp_whatever_the_skew(
    steps: list[tuple[str, int]], drift: int
) -> None:
    """I8: three devices with clocks up to 30 days apart; each stamp exceeds everything its device saw."""
    offsets = {"a": -30 * DAY_MS, "b": 0, "c": 30 * DAY_MS}
    clocks: dict[str, Hlc | None] = dict.fromkeys(offsets)
    seen: dict[str, Hlc | None] = dict.fromkeys(offsets)
    now = BASE
    for node, jump in steps:
        now += drift
        local_now = now + offsets[node] + jump
        if seen[node] is not None:
            clocks[node] = receive(clocks[node], seen[node], now_ms=local_now, node=node)
        stamp = send(clocks[node], now_ms=local_now, node=node)
        assert seen[node] is None or stamp > seen[node]
        clocks[node] = stamp
        for other in offsets:
            if other != node:
                seen[other] = stamp if seen[other] is None else max(seen[other], stamp)


@given(any_stamp, any_stamp)
def test_text_form_sorts_like_the_tuple(a: Hlc, b: Hlc) -> None:
    assert (str(a) < str(b)) == (a < b)
    assert (str(a) == str(b)) == (a == b)
    assert Hlc.parse(str(a)) == a


def test_text_form_is_fixed_width() -> None:
    assert str(Hlc(1_763_800_000_123, 7, "0b9c")) == "1763800000123-0007-0b9c"


def test_counter_overflow_advances_the_physical_part_by_one_millisecond() -> None:
    full = Hlc(BASE, MAX_COUNTER, "phone")
    assert send(full, now_ms=BASE - 5, node="phone") == Hlc(BASE + 1, 0, "phone")
    assert receive(None, full, now_ms=BASE, node="phone") == Hlc(BASE + 1, 0, "phone")


def test_max_future_check_refuses_a_stamp_more_than_five_minutes_ahead() -> None:
    check_not_future(Hlc(BASE + MAX_FUTURE_MS, 0, "x"), now_ms=BASE)
    with pytest.raises(ClockSkew):
        check_not_future(Hlc(BASE + MAX_FUTURE_MS + 1, 0, "x"), now_ms=BASE)


@given(st.one_of(st.text(max_size=100), st.integers(), st.none(), st.binary()))
def test_parse_raises_only_invalid_hlc(text: object) -> None:
    try:
        stamp = Hlc.parse(text)
    except InvalidHlc:
        return
    assert str(stamp) == text


@pytest.mark.parametrize(
    "text",
    [
        "1763800000123-0000-",
        "176380000012-0000-x",
        "1763800000123-00000-x",
        "1763800000123-0000-a b",
        "\uff11763800000123-0000-x",
    ],
)
def test_parse_rejects_non_canonical_text(text: str) -> None:
    with pytest.raises(InvalidHlc):
        Hlc.parse(text)
