"""Three replicas editing offline and exchanging ops and states in any order converge to the model (I1).

Each replica makes local edits from what it currently sees (removes observe its own live dots, writes
are stamped by its own skewed hybrid clock), and the network delivers ops in any order, duplicates
them, drops them (never delivers) or ships whole replica states as ``row.merge`` ops. After every
step each replica must equal the model of the ops it has seen; after healing, all must be equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from reference_model import reference_view
from sync_strategies import BASE_MS, COLLS, CREDS, FIELD_VALUES, TAGS
from wallet_protocol.sync import ops
from wallet_protocol.sync.dots import Dot
from wallet_protocol.sync.hlc import Hlc, receive, send
from wallet_protocol.sync.model import view
from wallet_protocol.sync.state import (
    CollectionState,
    EntryState,
    MemberState,
    Row,
    RowKey,
    TagState,
    collection_key,
    entry_key,
    member_key,
    normalise_tag,
    tag_key,
)

DAY_MS = 86_400_000


@dataclass
class Replica:
    node: str
    offset_ms: int
    state: dict[RowKey, Row] = field(default_factory=dict)
    known: set[ops.Op] = field(default_factory=set)
    clock: Hlc | None = None
    next_seq: int = 1

    def live_dots(self, key: RowKey) -> frozenset[Dot]:
        row = self.state.get(key)
        if isinstance(row, EntryState | TagState | MemberState):
            return row.presence.live
        return frozenset()

    def apply(self, op: ops.Op, *, now_ms: int) -> None:
        """Receive an op: validate its wire form, ratchet the clock, join it in."""
        checked = ops.validate_op(ops.op_to_wire(op), allow_server_ops=False)
        self.clock = receive(self.clock, Hlc.parse(checked.hlc), now_ms=now_ms + self.offset_ms, node=self.node)
        self.state, _ = ops.apply_op(self.state, checked)
        self.known.add(op)


class ThreeReplicas(RuleBasedStateMachine):
    @initialize(offsets=st.tuples(*[st.integers(-30 * DAY_MS, 30 * DAY_MS)] * 3))
    def start(self, offsets: tuple[int, int, int]) -> None:
        self.now = BASE_MS
        self.replicas = [Replica(f"node-{name}", offset) for name, offset in zip("abc", offsets, strict=True)]

    # --- local edits ---------------------------------------------------------------------------------

    def _local(self, replica: Replica, build: object) -> None:
        stamp = send(replica.clock, now_ms=self.now + replica.offset_ms, node=replica.node)
        seq = replica.next_seq
        op = build(seq, str(stamp))  # type: ignore[operator]
        checked = ops.validate_op(ops.op_to_wire(op), client_id=replica.node)
        assert checked == op
        replica.clock = stamp
        replica.next_seq += 1
        replica.state, _ = ops.apply_op(replica.state, op)
        replica.known.add(op)

    @rule(r=st.integers(0, 2), cred=st.sampled_from(CREDS))
    def add_credential(self, r: int, cred: str) -> None:
        node = self.replicas[r].node
        self._local(self.replicas[r], lambda seq, hlc: ops.EntryAdd(seq, hlc, cred, (node, seq)))

    @rule(r=st.integers(0, 2), cred=st.sampled_from(CREDS))
    def remove_credential(self, r: int, cred: str) -> None:
        observed = self.replicas[r].live_dots(entry_key(cred))
        self._local(self.replicas[r], lambda seq, hlc: ops.EntryRemove(seq, hlc, cred, observed))

    @rule(r=st.integers(0, 2), cred=st.sampled_from(CREDS), data=st.data())
    def edit_credential(self, r: int, cred: str, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(["hidden", "pinned", "note", "order_key"]))
        value = data.draw(FIELD_VALUES[name])
        replica = self.replicas[r]
        before = replica.state.get(entry_key(cred))
        self._local(replica, lambda seq, hlc: ops.EntrySet(seq, hlc, cred, name, value))
        seen = getattr(before, name) if isinstance(before, EntryState) else None
        assert seen is None or getattr(replica.state[entry_key(cred)], name).value == value, "I8: causal LWW"

    @rule(r=st.integers(0, 2), cred=st.sampled_from(CREDS), tag=st.sampled_from(TAGS), add=st.booleans())
    def tag_credential(self, r: int, cred: str, tag: str, add: bool) -> None:
        replica = self.replicas[r]
        if add:
            self._local(replica, lambda seq, hlc: ops.TagAdd(seq, hlc, cred, tag, (replica.node, seq)))
        else:
            observed = replica.live_dots(tag_key(cred, normalise_tag(tag)))
            self._local(replica, lambda seq, hlc: ops.TagRemove(seq, hlc, cred, tag, observed))

    @rule(r=st.integers(0, 2), coll=st.sampled_from(COLLS), data=st.data())
    def change_collection(self, r: int, coll: str, data: st.DataObject) -> None:
        replica = self.replicas[r]
        row = replica.state.get(collection_key(coll))
        if not isinstance(row, CollectionState) or row.created is None:
            name = data.draw(FIELD_VALUES["name"])
            self._local(replica, lambda seq, hlc: ops.CollectionCreate(seq, hlc, coll, name))
            return
        action = data.draw(st.sampled_from(["name", "order_key", "delete"]))
        if action == "delete":
            self._local(replica, lambda seq, hlc: ops.CollectionDelete(seq, hlc, coll))
        else:
            value = data.draw(FIELD_VALUES[action])
            self._local(replica, lambda seq, hlc: ops.CollectionSet(seq, hlc, coll, action, value))

    @rule(r=st.integers(0, 2), coll=st.sampled_from(COLLS), cred=st.sampled_from(CREDS), data=st.data())
    def change_membership(self, r: int, coll: str, cred: str, data: st.DataObject) -> None:
        replica = self.replicas[r]
        action = data.draw(st.sampled_from(["add", "remove", "order"]))
        if action == "add":
            self._local(replica, lambda seq, hlc: ops.MemberAdd(seq, hlc, coll, cred, (replica.node, seq)))
        elif action == "remove":
            observed = replica.live_dots(member_key(coll, cred))
            self._local(replica, lambda seq, hlc: ops.MemberRemove(seq, hlc, coll, cred, observed))
        else:
            key = data.draw(FIELD_VALUES["order_key"])
            self._local(replica, lambda seq, hlc: ops.MemberSetOrder(seq, hlc, coll, cred, key))

    # --- time and network ----------------------------------------------------------------------------

    @rule(step=st.integers(-5_000, 60_000))
    def time_passes(self, step: int) -> None:
        """The shared wall clock moves (sometimes backwards: NTP corrections)."""
        self.now += step

    @precondition(lambda self: any(r.known for r in self.replicas))
    @rule(src=st.integers(0, 2), dst=st.integers(0, 2), data=st.data())
    def deliver_op(self, src: int, dst: int, data: st.DataObject) -> None:
        """Deliver one op the source knows — possibly one the destination already has (duplicate)."""
        source = self.replicas[src]
        if not source.known:
            return
        op = data.draw(st.sampled_from(sorted(source.known, key=repr)))
        self.replicas[dst].apply(op, now_ms=self.now)

    @rule(src=st.integers(0, 2), dst=st.integers(0, 2))
    def ship_state(self, src: int, dst: int) -> None:
        """Ship the source's whole state as row.merge ops (the restore re-push path, I14)."""
        source, target = self.replicas[src], self.replicas[dst]
        for key, row in sorted(source.state.items()):
            merge = ops.validate_op(ops.op_to_wire(ops.RowMerge(1, str(source.clock), key, row)))
            target.state, _ = ops.apply_op(target.state, merge)
        if source.clock is not None:
            target.clock = receive(target.clock, source.clock, now_ms=self.now + target.offset_ms, node=target.node)
        target.known |= source.known

    @rule(data=st.data())
    def heal(self, data: st.DataObject) -> None:
        """Faults stop: every op reaches every replica, in an arbitrary order, then all must agree."""
        everything = sorted(set().union(*(r.known for r in self.replicas)), key=repr)
        for replica in self.replicas:
            for op in data.draw(st.permutations(everything)):
                replica.apply(op, now_ms=self.now)
        self._assert_converged(everything)

    def _assert_converged(self, everything: list[ops.Op]) -> None:
        first = self.replicas[0].state
        assert all(r.state == first for r in self.replicas), "replicas diverged"
        assert view(first) == reference_view(everything)

    # --- invariants ---------------------------------------------------------------------------------

    @invariant()
    def each_replica_equals_the_model_of_what_it_has_seen(self) -> None:
        for replica in self.replicas:
            assert replica.state == ops.apply_ops({}, sorted(replica.known, key=repr))
            assert view(replica.state) == reference_view(replica.known)

    def teardown(self) -> None:
        if not hasattr(self, "replicas"):
            return
        everything = sorted(set().union(*(r.known for r in self.replicas)), key=repr)
        for replica in self.replicas:
            for op in reversed(everything):
                replica.apply(op, now_ms=self.now)
        self._assert_converged(everything)


ThreeReplicas.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_three_replicas_converge_to_the_model = ThreeReplicas.TestCase
