"""Hypothesis strategies for the sync protocol tests: small pools so that collisions happen often."""

from __future__ import annotations

from hypothesis import strategies as st
from wallet_protocol.sync import ops
from wallet_protocol.sync.dots import OrSet
from wallet_protocol.sync.hlc import Hlc
from wallet_protocol.sync.state import (
    ActionResultState,
    CollectionState,
    EntryState,
    FactsState,
    MemberState,
    Register,
    TagState,
)

NODES = ("node-a", "node-b", "node-c", "server")
CREDS = tuple("sha256:" + ch * 64 for ch in "0a7f")
COLLS = tuple(f"0000000{n}-0000-4000-8000-00000000000{n}" for n in range(1, 4))
TAGS = ("robotics", "Robotics ", "first aid", "FIRST  AID", "música")
ORDER_KEYS = ("a0", "a0V", "a1", "Zz", "b00")
NOTES = ("", "hello", "remember", "é")
BASE_MS = 1_763_800_000_000

nodes = st.sampled_from(NODES)
stamps = st.builds(Hlc, st.integers(BASE_MS, BASE_MS + 5), st.integers(0, 3), nodes)
stamp_texts = stamps.map(str)
dots = st.tuples(nodes, st.integers(1, 12))
dot_sets = st.frozensets(dots, max_size=4)
or_sets = st.builds(OrSet, dot_sets, dot_sets)

FIELD_VALUES = {
    "hidden": st.booleans(),
    "pinned": st.booleans(),
    "note": st.sampled_from(NOTES),
    "order_key": st.sampled_from(ORDER_KEYS),
    "name": st.sampled_from(("Work", "Sport", "Volunteering")),
}


def registers(field: str) -> st.SearchStrategy[Register | None]:
    return st.none() | st.builds(Register, FIELD_VALUES[field], stamp_texts)


entry_states = st.builds(
    EntryState, or_sets, registers("hidden"), registers("pinned"), registers("note"), registers("order_key")
)
tag_states = st.builds(TagState, or_sets)
collection_states = st.builds(
    CollectionState,
    st.none() | stamp_texts,
    registers("name"),
    registers("order_key"),
    st.none() | stamp_texts,
)
member_states = st.builds(MemberState, or_sets, registers("order_key"))
action_result_states = st.builds(
    ActionResultState,
    st.sampled_from(("claim.redeem", "import.url")),
    st.sampled_from(("pending", "done", "failed")),
    stamp_texts,
    st.none() | st.sampled_from(("claim.expired_code", "claim.session_full")),
    st.sampled_from(({}, {"cred": CREDS[0]})),
)
FACTS = (
    None,
    {"outcome": "valid", "checks": {"proof": "passed"}, "checked_at": "2026-11-23T10:00:00+00:00"},
    {
        "outcome": "invalid",
        "checks": {"proof": "passed", "status": "failed"},
        "checked_at": "2026-11-24T03:00:00+00:00",
    },
    {"outcome": "indeterminate", "checks": {}, "checked_at": "2026-11-24T03:00:00+00:00"},
)
facts_values = st.sampled_from(FACTS)
facts_states = st.builds(FactsState, facts_values, stamp_texts)
ROW_STRATEGIES = {
    "entry": entry_states,
    "tag": tag_states,
    "collection": collection_states,
    "member": member_states,
    "action_result": action_result_states,
    "facts": facts_states,
}

_common = {"op_seq": st.integers(1, 50), "hlc": stamp_texts}
creds = st.sampled_from(CREDS)
colls = st.sampled_from(COLLS)
tags = st.sampled_from(TAGS)

granular_ops = st.one_of(
    st.builds(ops.EntryAdd, cred=creds, dot=dots, **_common),
    st.builds(ops.EntryRemove, cred=creds, observed=dot_sets, **_common),
    st.sampled_from(("hidden", "pinned", "note", "order_key")).flatmap(
        lambda f: st.builds(ops.EntrySet, cred=creds, field=st.just(f), value=FIELD_VALUES[f], **_common)
    ),
    st.builds(ops.TagAdd, cred=creds, tag=tags, dot=dots, **_common),
    st.builds(ops.TagRemove, cred=creds, tag=tags, observed=dot_sets, **_common),
    st.builds(ops.CollectionCreate, coll=colls, name=FIELD_VALUES["name"], **_common),
    st.sampled_from(("name", "order_key")).flatmap(
        lambda f: st.builds(ops.CollectionSet, coll=colls, field=st.just(f), value=FIELD_VALUES[f], **_common)
    ),
    st.builds(ops.CollectionDelete, coll=colls, **_common),
    st.builds(ops.MemberAdd, coll=colls, cred=creds, dot=dots, **_common),
    st.builds(ops.MemberRemove, coll=colls, cred=creds, observed=dot_sets, **_common),
    st.builds(ops.MemberSetOrder, coll=colls, cred=creds, order_key=FIELD_VALUES["order_key"], **_common),
)

server_stamp_texts = st.builds(Hlc, st.integers(BASE_MS, BASE_MS + 5), st.integers(0, 3), st.just("server")).map(str)
facts_ops = st.builds(ops.FactsSet, op_seq=st.integers(1, 50), hlc=server_stamp_texts, cred=creds, facts=facts_values)
"""The server's ``facts.set`` ops (server only: they never pass a device's validation)."""
