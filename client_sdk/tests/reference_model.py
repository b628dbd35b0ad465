"""The specification the wallet view must match: the expected view computed straight from a set of ops.

A test oracle, not part of the protocol package (a phone never needs it): the stateful property tests
compare :func:`wallet_protocol.sync.model.view` of merged states with :func:`reference_view` of the ops
accepted, by the rules written in docs/sync.md §5 (I1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from wallet_protocol.sync.dots import Dot
from wallet_protocol.sync.model import ENTRY_DEFAULTS, _render  # what both sides share
from wallet_protocol.sync.ops import (
    ActionResult,
    ClaimRedeem,
    CollectionCreate,
    CollectionDelete,
    CollectionSet,
    EntryAdd,
    EntryRemove,
    EntrySet,
    FactsSet,
    ImportUrl,
    MemberAdd,
    MemberRemove,
    MemberSetOrder,
    Op,
    RequestBadge,
    RowMerge,
    ShareCreate,
    TagAdd,
    TagRemove,
)
from wallet_protocol.sync.state import (
    canonical_json,
    normalise_tag,
)


def _latest(writes: list[tuple[str, Any]], default: Any) -> Any:
    """The value written with the largest stamp (ties: the larger JSON text), else ``default``."""
    if not writes:
        return default
    return max(writes, key=lambda write: (write[0], canonical_json(write[1])))[1]


def reference_view(ops: Iterable[Op]) -> dict[str, Any]:
    """The view that the set of accepted ``ops`` must produce, computed from the rules directly.

    Covers the granular ops, ``action.result`` and ``facts.set``; ``row.merge`` carries states, not intents, and
    is checked through the join laws instead (a ``row.merge`` here raises ``ValueError``).
    Server actions (``claim.redeem`` …) show nothing until the server's ``action.result``.
    """
    adds: dict[tuple[str, ...], set[Dot]] = defaultdict(set)
    removed: dict[tuple[str, ...], set[Dot]] = defaultdict(set)
    writes: dict[tuple[str, ...], list[tuple[str, Any]]] = defaultdict(list)
    created: set[str] = set()
    deleted: set[str] = set()
    results: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    facts: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for op in set(ops):
        match op:
            case EntryAdd(cred=cred, dot=dot):
                adds[("entry", cred)].add(dot)
            case EntryRemove(cred=cred, observed=observed):
                removed[("entry", cred)] |= observed
            case EntrySet(cred=cred, field=name, value=value):
                writes[("entry", cred, name)].append((op.hlc, value))
            case TagAdd(cred=cred, tag=tag, dot=dot):
                adds[("tag", cred, normalise_tag(tag))].add(dot)
            case TagRemove(cred=cred, tag=tag, observed=observed):
                removed[("tag", cred, normalise_tag(tag))] |= observed
            case CollectionCreate(coll=coll, name=name):
                created.add(coll)
                writes[("collection", coll, "name")].append((op.hlc, name))
            case CollectionSet(coll=coll, field=name, value=value):
                writes[("collection", coll, name)].append((op.hlc, value))
            case CollectionDelete(coll=coll):
                deleted.add(coll)
            case MemberAdd(coll=coll, cred=cred, dot=dot):
                adds[("member", coll, cred)].add(dot)
            case MemberRemove(coll=coll, cred=cred, observed=observed):
                removed[("member", coll, cred)] |= observed
            case MemberSetOrder(coll=coll, cred=cred, order_key=order_key):
                writes[("member", coll, cred, "order_key")].append((op.hlc, order_key))
            case ActionResult():
                tie = canonical_json([op.action, op.status, op.code, dict(op.result)])
                fields = {"action": op.action, "status": op.status, "code": op.code, "result": dict(op.result)}
                results[op.action_id].append((op.hlc, tie, fields))
            case FactsSet(cred=cred):
                facts[cred].append((op.hlc, None if op.facts is None else dict(op.facts)))
            case ClaimRedeem() | ShareCreate() | ImportUrl() | RequestBadge():
                pass
            case RowMerge():
                raise ValueError("the reference model takes granular ops, not row.merge")

    def present(key: tuple[str, ...]) -> bool:
        return bool(adds.get(key, set()) - removed.get(key, set()))

    credentials: dict[str, dict[str, Any]] = {}
    for key in adds:
        if key[0] == "entry" and present(key):
            cred = key[1]
            credentials[cred] = {
                name: _latest(writes.get(("entry", cred, name), []), default)
                for name, default in ENTRY_DEFAULTS.items()
            }
            credentials[cred]["tags"] = []
            credentials[cred]["facts"] = _latest(facts.get(cred, []), None)
    for key in adds:
        if key[0] == "tag" and key[1] in credentials and present(key):
            credentials[key[1]]["tags"].append(key[2])
    collections: dict[str, dict[str, Any]] = {
        coll: {
            "name": _latest(writes.get(("collection", coll, "name"), []), ""),
            "order_key": _latest(writes.get(("collection", coll, "order_key"), []), None),
            "members": {},
        }
        for coll in created - deleted
    }
    for key in adds:
        if key[0] == "member" and key[1] in collections and present(key):
            collections[key[1]]["members"][key[2]] = _latest(writes.get((*key, "order_key"), []), None)
    actions = {
        action_id: max(stamped, key=lambda item: (item[0], item[1]))[2] for action_id, stamped in results.items()
    }
    return _render(credentials, collections, actions)
