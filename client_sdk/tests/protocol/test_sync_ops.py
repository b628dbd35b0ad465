"""Ops: order-independent, idempotent application; agreement with the reference model; hostile input."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference_model import reference_view
from sync_strategies import BASE_MS, COLLS, CREDS, facts_ops, granular_ops
from wallet_protocol.sync.hlc import MAX_FUTURE_MS
from wallet_protocol.sync.model import view
from wallet_protocol.sync.ops import (
    REJECTION_CODES,
    ActionResult,
    EntryAdd,
    FactsSet,
    InvalidOp,
    Op,
    RowMerge,
    apply_op,
    apply_ops,
    op_to_wire,
    validate_op,
)

op_lists = st.lists(granular_ops, max_size=25)


@given(granular_ops)
def test_every_op_survives_its_wire_form(op: Op) -> None:
    assert validate_op(op_to_wire(op)) == op


@given(op_lists, st.data())
def test_any_permutation_with_duplicates_gives_the_same_state(ops: list[Op], data: st.DataObject) -> None:
    """I2 + I3: the state depends only on the set of ops."""
    expected = apply_ops({}, ops)
    duplicated = ops + data.draw(st.lists(st.sampled_from(ops), max_size=10)) if ops else []
    assert apply_ops({}, data.draw(st.permutations(duplicated))) == expected


@given(op_lists)
def test_the_merged_view_equals_the_reference_model(ops: list[Op]) -> None:
    assert view(apply_ops({}, ops)) == reference_view(ops)


@given(op_lists, op_lists)
def test_row_merge_of_another_replica_equals_receiving_its_ops(mine: list[Op], theirs: list[Op]) -> None:
    """Restore re-push (I14): joining another replica's rows via row.merge = applying its ops."""
    state = apply_ops({}, mine)
    for seq, (key, row) in enumerate(sorted(apply_ops({}, theirs).items()), start=1):
        merge = validate_op(op_to_wire(RowMerge(seq, "1763800000000-0000-node-b", key, row)))
        state, _ = apply_op(state, merge)
    assert state == apply_ops({}, mine + theirs)


@given(granular_ops, op_lists)
def test_changed_keys_name_exactly_the_rows_that_changed(op: Op, history: list[Op]) -> None:
    before = apply_ops({}, history)
    after, changed = apply_op(before, op)
    assert changed == {key for key in after if after.get(key) != before.get(key)}
    _, again = apply_op(after, op)
    assert again == frozenset()


def test_server_actions_change_nothing_until_the_server_writes_their_result() -> None:
    claim = validate_op(
        {
            "type": "claim.redeem",
            "op_seq": 1,
            "hlc": "1763800000000-0000-phone",
            "action_id": "f3a1",
            "code": "K7Q2-M9XD",
            "scanned_at": BASE_MS,
        }
    )
    state, changed = apply_op({}, claim)
    assert state == {} and changed == frozenset()
    result = validate_op(
        {
            "type": "action.result",
            "op_seq": 9,
            "hlc": "1763800000100-0000-server",
            "action_id": "f3a1",
            "action": "claim.redeem",
            "status": "done",
            "result": {"cred": CREDS[0]},
        },
        allow_server_ops=True,
    )
    assert isinstance(result, ActionResult)
    assert view(apply_op(state, result)[0])["actions"] == [
        {"action_id": "f3a1", "action": "claim.redeem", "status": "done", "code": None, "result": {"cred": CREDS[0]}}
    ]


with_facts = st.lists(st.one_of(granular_ops, facts_ops), max_size=25)


@given(facts_ops)
def test_facts_ops_survive_their_wire_form_on_the_server_side(op: Op) -> None:
    assert validate_op(op_to_wire(op), allow_server_ops=True) == op


@given(with_facts, st.data())
def test_facts_join_in_any_order_and_show_as_the_model_says(ops: list[Op], data: st.DataObject) -> None:
    """The server's facts are rows like any other: order-independent, idempotent, and in the view (I1-I3)."""
    expected = apply_ops({}, ops)
    assert apply_ops({}, data.draw(st.permutations(ops + ops))) == expected
    assert view(expected) == reference_view(ops)


def test_facts_show_on_a_present_credential_and_the_later_check_wins() -> None:
    add = EntryAdd(1, "1763800000000-0000-server", CREDS[0], ("server", 1))
    valid = FactsSet(2, "1763800000001-0000-server", CREDS[0], {"outcome": "valid", "checks": {"proof": "passed"}})
    revoked = FactsSet(3, "1763800000002-0000-server", CREDS[0], {"outcome": "invalid", "checks": {"status": "failed"}})
    shown = view(apply_ops({}, [revoked, add, valid]))
    assert shown["credentials"][0]["facts"] == {"outcome": "invalid", "checks": {"status": "failed"}}
    cleared = FactsSet(4, "1763800000003-0000-server", CREDS[0], None)
    assert view(apply_ops({}, [add, valid, cleared]))["credentials"][0]["facts"] is None
    assert view(apply_ops({}, [valid]))["credentials"] == []


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        ({"blob": "x" * 5000}, "op.too_large"),
        ({"outcome": float("nan")}, "op.bad_state"),
        ("valid", "op.bad_state"),
        ({"checks": {1: "passed"}}, "op.bad_state"),
    ],
)
def test_facts_must_be_small_plain_json_objects(facts: object, code: str) -> None:
    raw = {"type": "facts.set", "op_seq": 1, "hlc": "1763800000000-0000-server", "cred": CREDS[0], "facts": facts}
    with pytest.raises(InvalidOp) as rejected:
        validate_op(raw, allow_server_ops=True)
    assert rejected.value.code == code


# --- hostile input ----------------------------------------------------------------------------------

HLC = "1763800000000-0000-phone"
VALID: dict[str, dict] = {
    "entry.add": {"type": "entry.add", "op_seq": 3, "hlc": HLC, "cred": CREDS[1], "dot": ["phone", 3]},
    "entry.set": {"type": "entry.set", "op_seq": 3, "hlc": HLC, "cred": CREDS[1], "field": "note", "value": "x"},
    "tag.remove": {"type": "tag.remove", "op_seq": 3, "hlc": HLC, "cred": CREDS[1], "tag": "a", "observed": []},
    "collection.create": {"type": "collection.create", "op_seq": 3, "hlc": HLC, "coll": COLLS[0], "name": "Work"},
    "member.set_order": {
        "type": "member.set_order",
        "op_seq": 3,
        "hlc": HLC,
        "coll": COLLS[0],
        "cred": CREDS[1],
        "order_key": "a0",
    },
    "row.merge": {
        "type": "row.merge",
        "op_seq": 3,
        "hlc": HLC,
        "k": "tag",
        "id": [CREDS[1], "a"],
        "s": {"dots": [["phone", 1]], "rm": []},
    },
    "share.create": {"type": "share.create", "op_seq": 3, "hlc": HLC, "action_id": "s1", "coll": COLLS[0]},
    "import.url": {
        "type": "import.url",
        "op_seq": 3,
        "hlc": HLC,
        "action_id": "i1",
        "url": "https://issuer.example/badges/42",
    },
}


def mutated(op_type: str, /, **changes: object) -> dict:
    op = copy.deepcopy(VALID[op_type])
    for key, value in changes.items():
        if value is KeyError:
            del op[key]
        else:
            op[key] = value
    return op


HOSTILE = [
    ([1, 2], "op.not_object"),
    (mutated("entry.add", type=KeyError), "op.missing_field"),
    (mutated("entry.add", type="entry.explode"), "op.unknown_type"),
    (mutated("entry.add", type=["entry.add"]), "op.unknown_type"),
    (mutated("entry.add", admin=True), "op.unknown_field"),
    (mutated("entry.add", dot=KeyError), "op.missing_field"),
    (mutated("entry.add", op_seq="3"), "op.wrong_type"),
    (mutated("entry.add", op_seq=True), "op.wrong_type"),
    (mutated("entry.add", op_seq=0), "op.bad_op_seq"),
    (mutated("entry.add", op_seq=2**53), "op.bad_op_seq"),
    (mutated("entry.add", hlc="yesterday"), "op.bad_hlc"),
    (mutated("entry.add", hlc=1763800000000), "op.wrong_type"),
    (mutated("entry.add", cred="sha256:ABC"), "op.bad_cred"),
    (mutated("entry.add", cred="x" * 10_000_000), "op.too_large"),
    (mutated("entry.add", dot=["phone", -1]), "op.bad_dot"),
    (mutated("entry.add", dot={"node": "phone"}), "op.wrong_type"),
    (mutated("entry.set", field="cred_hash"), "op.bad_field"),
    (mutated("entry.set", field="pinned", value="yes"), "op.wrong_type"),
    (mutated("entry.set", value="n" * 2001), "op.too_large"),
    (mutated("entry.set", field="order_key", value="a00"), "op.bad_order_key"),
    (mutated("entry.set", value=[[[[[[[[[[[]]]]]]]]]]]), "op.wrong_type"),
    (mutated("tag.remove", tag="   "), "op.bad_tag"),
    (mutated("tag.remove", tag="t" * 65), "op.bad_tag"),
    (mutated("tag.remove", tag="\x07bell"), "op.bad_tag"),
    (mutated("tag.remove", observed=[["phone", 1]] * 1001), "op.too_large"),
    (mutated("collection.create", coll="../../etc/passwd"), "op.bad_id"),
    (mutated("collection.create", name=" Work"), "op.bad_value"),
    (mutated("member.set_order", order_key="a" * 129), "op.bad_order_key"),
    (mutated("row.merge", k="wallet"), "op.bad_kind"),
    (mutated("row.merge", k="action_result", id=["x"]), "op.server_only"),
    (mutated("row.merge", k="facts", id=[CREDS[1]], s={"facts": {"outcome": "valid"}, "t": HLC}), "op.server_only"),
    ({"type": "facts.set", "op_seq": 1, "hlc": HLC, "cred": CREDS[1], "facts": {"outcome": "valid"}}, "op.server_only"),
    (mutated("row.merge", s={"dots": "all"}), "op.bad_state"),
    (mutated("row.merge", s={"dots": [["phone", 1]] * 1001, "rm": []}), "op.too_large"),
    (mutated("share.create", creds=[CREDS[0]]), "op.bad_value"),
    (mutated("share.create", expires_in_days=10_000), "op.bad_value"),
    (mutated("import.url", url="file:///etc/passwd"), "op.bad_url"),
    (mutated("import.url", url="javascript:alert(1)"), "op.bad_url"),
    (mutated("import.url", action_id="a b"), "op.bad_id"),
    (
        {
            "type": "action.result",
            "op_seq": 1,
            "hlc": HLC,
            "action_id": "x",
            "action": "claim.redeem",
            "status": "done",
        },
        "op.server_only",
    ),
]


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_valid_examples_are_accepted(name: str) -> None:
    validate_op(VALID[name], client_id="phone", now_ms=BASE_MS)


@pytest.mark.parametrize(("raw", "code"), HOSTILE)
def test_hostile_ops_are_rejected_with_the_right_code(raw: object, code: str) -> None:
    with pytest.raises(InvalidOp) as rejected:
        validate_op(raw)
    assert rejected.value.code == code


def test_an_op_must_come_from_the_client_that_pushes_it() -> None:
    with pytest.raises(InvalidOp) as foreign_dot:
        validate_op(mutated("entry.add", dot=["tablet", 3]), client_id="phone")
    assert foreign_dot.value.code == "op.foreign_dot"
    with pytest.raises(InvalidOp) as foreign_stamp:
        validate_op(mutated("entry.set", hlc="1763800000000-0000-tablet"), client_id="phone")
    assert foreign_stamp.value.code == "op.foreign_hlc"


def test_a_stamp_from_the_future_is_rejected_as_clock_skew() -> None:
    future = f"{BASE_MS + MAX_FUTURE_MS + 1:013d}-0000-phone"
    with pytest.raises(InvalidOp) as skewed:
        validate_op(mutated("entry.set", hlc=future), now_ms=BASE_MS)
    assert skewed.value.code == "op.clock_skew"
    merge = mutated("row.merge", k="entry", id=[CREDS[0]])
    merge["s"] = {"dots": [], "rm": [], "hidden": None, "pinned": None, "note": [".", future], "order_key": None}
    with pytest.raises(InvalidOp) as hidden_skew:
        validate_op(merge, now_ms=BASE_MS)
    assert hidden_skew.value.code == "op.clock_skew"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@st.composite
def near_valid_ops(draw: st.DrawFn) -> object:
    """A valid op with one field replaced, removed or added: the shapes an attacker would try."""
    op = copy.deepcopy(VALID[draw(st.sampled_from(sorted(VALID)))])
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    key = draw(st.sampled_from(sorted(op)))
    if action == "replace":
        op[key] = draw(json_values)
    elif action == "remove":
        del op[key]
    else:
        op[draw(st.text(max_size=10))] = draw(json_values)
    return op


@given(st.one_of(json_values, near_valid_ops()))
def test_validate_op_raises_only_invalid_op_with_a_registered_code(raw: object) -> None:
    try:
        op = validate_op(raw)
    except InvalidOp as rejected:
        assert rejected.code in REJECTION_CODES
        return
    assert validate_op(op_to_wire(op)) == op


def test_every_rejection_code_is_documented_for_client_authors() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "sync.md").read_text(encoding="utf-8")
    documented = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `") and "." in line}
    assert set(REJECTION_CODES) <= documented
