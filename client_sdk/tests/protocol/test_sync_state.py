"""Row-state joins: the laws that make replicas converge, and the user-visible merge rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sync_strategies import BASE_MS, COLLS, CREDS, ROW_STRATEGIES
from wallet_protocol.sync import ops
from wallet_protocol.sync.dots import OrSet
from wallet_protocol.sync.hlc import Hlc, receive, send
from wallet_protocol.sync.model import view
from wallet_protocol.sync.state import (
    InvalidRow,
    Row,
    change_from_wire,
    change_to_wire,
    entry_key,
    join,
    join_states,
    normalise_tag,
    row_from_wire,
    row_to_wire,
)

KINDS = sorted(ROW_STRATEGIES)


def _three(kind: str) -> st.SearchStrategy[tuple[Row, Row, Row]]:
    rows = ROW_STRATEGIES[kind]
    return st.tuples(rows, rows, rows)


@pytest.mark.parametrize("kind", KINDS)
def test_join_is_commutative_associative_and_idempotent(kind: str) -> None:
    @given(_three(kind))
    def check(rows: tuple[Row, Row, Row]) -> None:
        a, b, c = rows
        assert join(a, b) == join(b, a)
        assert join(join(a, b), c) == join(a, join(b, c))
        assert join(a, a) == a
        assert join(join(a, b), b) == join(a, b)

    check()


@pytest.mark.parametrize("kind", KINDS)
def test_wire_form_round_trips(kind: str) -> None:
    @given(ROW_STRATEGIES[kind])
    def check(row: Row) -> None:
        assert row_from_wire(kind, row_to_wire(row)) == row

    check()


@given(st.lists(st.tuples(st.sampled_from(CREDS), ROW_STRATEGIES["entry"]), max_size=6), st.data())
def test_whole_replicas_join_like_their_rows(rows: list[tuple[str, Row]], data: st.DataObject) -> None:
    states = [{entry_key(cred): row} for cred, row in rows]
    left: dict = {}
    for state in states:
        left = join_states(left, state)
    shuffled = data.draw(st.permutations(states))
    right: dict = {}
    for state in [*shuffled, *shuffled]:
        right = join_states(right, state)
    assert left == right


def stamp(ms: int, node: str = "node-a") -> str:
    return str(Hlc(BASE_MS + ms, 0, node))


CRED = CREDS[0]
COLL = COLLS[0]


def test_add_wins_over_a_concurrent_remove_that_did_not_see_it() -> None:
    """I9: A removes the credential it saw; B re-added it concurrently → present everywhere."""
    first_add = ops.EntryAdd(1, stamp(1), CRED, ("node-a", 1))
    remove_seen = ops.EntryRemove(2, stamp(2), CRED, frozenset({("node-a", 1)}))
    concurrent_add = ops.EntryAdd(1, stamp(1, "node-b"), CRED, ("node-b", 1))
    for order in ([first_add, remove_seen, concurrent_add], [concurrent_add, remove_seen, first_add]):
        assert [c["cred"] for c in view(ops.apply_ops({}, order))["credentials"]] == [CRED]


def test_a_late_duplicate_of_a_removed_add_does_not_resurrect_it() -> None:
    add = ops.EntryAdd(1, stamp(1), CRED, ("node-a", 1))
    remove = ops.EntryRemove(2, stamp(2), CRED, frozenset({("node-a", 1)}))
    assert view(ops.apply_ops({}, [add, remove, add]))["credentials"] == []


def test_removal_wins_over_a_concurrent_edit_of_the_metadata() -> None:
    """Delete-wins for metadata: B pins the credential while A removes it → it stays gone."""
    add = ops.EntryAdd(1, stamp(1), CRED, ("node-a", 1))
    remove = ops.EntryRemove(2, stamp(2), CRED, frozenset({("node-a", 1)}))
    pin = ops.EntrySet(1, stamp(3, "node-b"), CRED, "pinned", True)
    tag = ops.TagAdd(2, stamp(4, "node-b"), CRED, "robotics", ("node-b", 2))
    member = ops.MemberAdd(3, stamp(5, "node-b"), COLL, CRED, ("node-b", 3))
    create = ops.CollectionCreate(4, stamp(0, "node-b"), COLL, "Work")
    shown = view(ops.apply_ops({}, [add, create, pin, remove, tag, member]))
    assert shown["credentials"] == []
    assert shown["collections"] == [{"coll": COLL, "name": "Work", "order_key": None, "members": []}]


def test_a_deleted_collection_is_never_undeleted() -> None:
    create = ops.CollectionCreate(1, stamp(1), COLL, "Work")
    delete = ops.CollectionDelete(2, stamp(2), COLL)
    later_rename = ops.CollectionSet(1, stamp(9, "node-b"), COLL, "name", "Job")
    recreate = ops.CollectionCreate(5, stamp(10), COLL, "Work again")
    member = ops.MemberAdd(2, stamp(11, "node-b"), COLL, CRED, ("node-b", 2))
    assert view(ops.apply_ops({}, [create, delete, later_rename, recreate, member]))["collections"] == []


def test_tag_add_wins_over_a_concurrent_remove_and_sequential_last_action_wins() -> None:
    add_a = ops.TagAdd(1, stamp(1), CRED, "Robotics", ("node-a", 1))
    entry = ops.EntryAdd(2, stamp(0), CRED, ("node-a", 2))
    remove_seen = ops.TagRemove(3, stamp(3), CRED, "robotics ", frozenset({("node-a", 1)}))
    add_b = ops.TagAdd(1, stamp(2, "node-b"), CRED, "ROBOTICS", ("node-b", 1))
    assert view(ops.apply_ops({}, [entry, add_a, remove_seen, add_b]))["credentials"][0]["tags"] == ["robotics"]
    assert view(ops.apply_ops({}, [entry, add_a, remove_seen]))["credentials"][0]["tags"] == []


def test_causal_lww_a_write_stamped_after_receiving_another_wins() -> None:
    """I8: B's clock is a day behind, but B saw A's note before writing: B's note wins."""
    a_stamp = send(None, now_ms=BASE_MS, node="node-a")
    b_clock = receive(None, a_stamp, now_ms=BASE_MS - 86_400_000, node="node-b")
    b_stamp = send(b_clock, now_ms=BASE_MS - 86_400_000, node="node-b")
    add = ops.EntryAdd(1, str(a_stamp), CRED, ("node-a", 1))
    a_note = ops.EntrySet(2, str(a_stamp), CRED, "note", "from A")
    b_note = ops.EntrySet(1, str(b_stamp), CRED, "note", "from B")
    for order in ([add, a_note, b_note], [b_note, a_note, add]):
        assert view(ops.apply_ops({}, order))["credentials"][0]["note"] == "from B"


@given(st.text(max_size=30))
def test_normalise_tag_is_idempotent(tag: str) -> None:
    once = normalise_tag(tag)
    assert normalise_tag(once) == once


def test_or_set_never_holds_a_removed_dot_live() -> None:
    assert OrSet(frozenset({("a", 1), ("a", 2)}), frozenset({("a", 1)})).live == frozenset({("a", 2)})


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"k": "entry", "id": ["sha256:xyz"], "s": {}}, "op.bad_id"),
        ({"k": "sprocket", "id": [CRED], "s": {}}, "op.bad_kind"),
        ({"k": "facts", "id": [CRED], "s": {"facts": ["valid"], "t": "1763800000000-0000-server"}}, "op.bad_state"),
        ({"k": "facts", "id": [CRED], "s": {"facts": None}}, "op.bad_state"),
        ({"k": "facts", "id": ["robotics"], "s": {"facts": None, "t": "1763800000000-0000-server"}}, "op.bad_id"),
        ({"k": "tag", "id": [CRED, "Robotics"], "s": {"dots": [], "rm": []}}, "op.bad_id"),
        ({"k": "tag", "id": [CRED, "robotics"], "s": {"dots": [["a", 0]], "rm": []}}, "op.bad_dot"),
        ({"k": "tag", "id": [CRED, "robotics"], "s": {"dots": [], "rm": [], "x": 1}}, "op.bad_state"),
        (
            {
                "k": "collection",
                "id": [COLL],
                "s": {"created": "yesterday", "name": None, "order_key": None, "deleted": None},
            },
            "op.bad_hlc",
        ),
    ],
)
def test_malformed_changes_are_refused_with_a_code(change: dict, code: str) -> None:
    with pytest.raises(InvalidRow) as refused:
        change_from_wire(change)
    assert refused.value.code == code


def test_change_wire_form_matches_the_documented_example() -> None:
    state = ops.apply_ops(
        {},
        [ops.EntryAdd(7, stamp(1, "0b9c"), CRED, ("0b9c", 7)), ops.EntrySet(8, stamp(2, "0b9c"), CRED, "pinned", True)],
    )
    change = change_to_wire(entry_key(CRED), state[entry_key(CRED)], seq=1291)
    assert change == {
        "k": "entry",
        "id": [CRED],
        "seq": 1291,
        "s": {
            "dots": [["0b9c", 7]],
            "rm": [],
            "hidden": None,
            "pinned": [True, "1763800000002-0000-0b9c"],
            "note": None,
            "order_key": None,
        },
    }
    assert change_from_wire(change) == (entry_key(CRED), state[entry_key(CRED)])
