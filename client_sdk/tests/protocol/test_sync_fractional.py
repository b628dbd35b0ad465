"""Fractional order keys: always strictly between, total deterministic order, compatible with the JS library."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wallet_protocol.sync.fractional import (
    InvalidOrderKey,
    is_valid_key,
    key_between,
    key_for_position,
    keys_between,
    validate_key,
)
from wallet_protocol.sync.model import order_sort_key

# Vectors from rocicorp/fractional-indexing src/test.js (CC0), base-62 cases.
VECTORS = [
    (None, None, "a0"),
    (None, "a0", "Zz"),
    (None, "Zz", "Zy"),
    ("a0", None, "a1"),
    ("a1", None, "a2"),
    ("a0", "a1", "a0V"),
    ("a1", "a2", "a1V"),
    ("a0V", "a1", "a0l"),
    ("Zz", "a0", "ZzV"),
    ("Zz", "a1", "a0"),
    (None, "Y00", "Xzzz"),
    ("bzz", None, "c000"),
    ("a0", "a0V", "a0G"),
    ("a0", "a0G", "a08"),
    ("b125", "b129", "b127"),
    ("a0", "a1V", "a1"),
    ("Zz", "a01", "a0"),
    (None, "a0V", "a0"),
    (None, "b999", "b99"),
    (None, "A000000000000000000000000001", "A000000000000000000000000000V"),
    ("zzzzzzzzzzzzzzzzzzzzzzzzzzy", None, "zzzzzzzzzzzzzzzzzzzzzzzzzzz"),
    ("zzzzzzzzzzzzzzzzzzzzzzzzzzz", None, "zzzzzzzzzzzzzzzzzzzzzzzzzzzV"),
]


@pytest.mark.parametrize(("a", "b", "expected"), VECTORS)
def test_matches_the_reference_library(a: str | None, b: str | None, expected: str) -> None:
    assert key_between(a, b) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [(None, "A00000000000000000000000000"), ("a00", None), ("a00", "a1"), ("0", "1"), ("a1", "a0"), ("a1", "a1")],
)
def test_rejects_what_the_reference_library_rejects(a: str | None, b: str | None) -> None:
    with pytest.raises(InvalidOrderKey):
        key_between(a, b)


def test_n_keys_between() -> None:
    assert keys_between(None, None, 3) == ["a0", "a1", "a2"]
    assert keys_between("a0", "a1", 0) == []


@st.composite
def insertion_histories(draw: st.DrawFn) -> list[str]:
    """Keys of a list built by inserting at arbitrary positions (as users drag items around)."""
    keys: list[str] = []
    for position in draw(st.lists(st.integers(0, 10_000), max_size=60)):
        index = position % (len(keys) + 1)
        before = keys[index - 1] if index else None
        after = keys[index] if index < len(keys) else None
        key = key_between(before, after)
        assert (before is None or before < key) and (after is None or key < after)
        keys.insert(index, key)
    return keys


@given(insertion_histories())
def test_any_insertion_history_keeps_the_list_sorted_and_keys_valid(keys: list[str]) -> None:
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert all(is_valid_key(key) for key in keys)


@given(insertion_histories(), st.data())
def test_keys_between_are_sorted_distinct_and_inside_the_gap(keys: list[str], data: st.DataObject) -> None:
    bounds = [None, *keys, None]
    index = data.draw(st.integers(0, len(bounds) - 2))
    low, high = bounds[index], bounds[index + 1]
    n = data.draw(st.integers(0, 20))
    new = keys_between(low, high, n)
    assert len(new) == n == len(set(new))
    assert new == sorted(new)
    assert all((low is None or low < key) and (high is None or key < high) for key in new)


@given(
    st.lists(st.tuples(st.sampled_from(["a0", "a0V", "a1", None]), st.uuids().map(str)), max_size=12),
    st.randoms(),
)
def test_key_then_id_order_is_total_and_the_same_on_every_replica(
    items: list[tuple[str | None, str]], rnd: random.Random
) -> None:
    """I13: duplicate keys (concurrent inserts into one gap) are ordered by id, whatever the arrival order."""
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert sorted(items, key=lambda kv: order_sort_key(*kv)) == sorted(shuffled, key=lambda kv: order_sort_key(*kv))


@given(
    st.lists(st.sampled_from(["a0", "a1", "a1V", "a2"]), max_size=8).map(sorted),
    st.integers(0, 1000),
    st.integers(0, 3),
)
def test_key_for_position_lands_between_the_neighbours_distinct_keys(
    keyed: list[str], position: int, unkeyed: int
) -> None:
    ordered: list[str | None] = [*keyed, *([None] * unkeyed)]
    index = position % (len(ordered) + 1)
    key = key_for_position(ordered, index)
    earlier = [k for k in ordered[:index] if k is not None]
    later = [k for k in ordered[index:] if k is not None]
    assert all(k < key for k in earlier)
    assert all(key < k for k in later if not earlier or k > earlier[-1])


def test_appending_ten_thousand_items_keeps_keys_short() -> None:
    key = None
    for _ in range(10_000):
        key = key_between(key, None)
    assert key is not None and len(key) <= 4


@given(st.one_of(st.text(max_size=200), st.integers(), st.none()))
def test_validation_raises_only_invalid_order_key(value: object) -> None:
    try:
        validate_key(value)
    except InvalidOrderKey:
        return
    assert isinstance(value, str) and key_between(value, None) > value
