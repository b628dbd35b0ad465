"""What a user sees (:func:`view`) and the specification it must match (:func:`reference_view`).

:func:`view` turns merged row states into the wallet a learner sees: visible credentials with their
note, hidden/pinned flags, order key and tags, and live collections with their ordered members —
sorted deterministically (I13), so equal states give equal (JSON-identical) views on every replica.

:func:`reference_view` is the executable specification used by the stateful property tests: it
computes the expected view directly from the *set* of accepted ops, by the rules written in
docs/sync.md §5 — "present iff some add's dot was not observed by any remove", "a field shows the
value of its write with the largest stamp", "a collection shows iff it was created and never
deleted" — without any join or intermediate state. Agreement between the two over random
histories is what the tests mean by convergence to the model (I1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .dots import Dot
from .ops import (
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
from .state import (
    ACTION_RESULT,
    COLLECTION,
    ENTRY,
    FACTS,
    MEMBER,
    TAG,
    ActionResultState,
    CollectionState,
    EntryState,
    FactsState,
    MemberState,
    Register,
    State,
    TagState,
    canonical_json,
    normalise_tag,
)

ENTRY_DEFAULTS: dict[str, Any] = {"hidden": False, "pinned": False, "note": "", "order_key": None}
"""What a field shows before anyone wrote it."""


def order_sort_key(order_key: str | None, item_id: str) -> tuple[int, str, str]:
    """Sort key for ordered lists (I13): by ``(order_key, id)``; items never ordered come last, by id."""
    return (0, order_key, item_id) if order_key is not None else (1, "", item_id)


def _value(register: Register | None, default: Any) -> Any:
    return default if register is None else register.value


def _render(
    credentials: dict[str, dict[str, Any]],
    collections: dict[str, dict[str, Any]],
    actions: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The canonical, sorted view from per-id dictionaries (shared by both sides of the comparison)."""
    credential_list = [
        {
            "cred": cred,
            **{name: fields[name] for name in ENTRY_DEFAULTS},
            "tags": sorted(fields["tags"]),
            "facts": fields["facts"],
        }
        for cred, fields in credentials.items()
    ]
    credential_list.sort(key=lambda item: order_sort_key(item["order_key"], item["cred"]))
    collection_list = []
    for coll, fields in collections.items():
        members = [(cred, key) for cred, key in fields["members"].items() if cred in credentials]
        members.sort(key=lambda pair: order_sort_key(pair[1], pair[0]))
        collection_list.append(
            {
                "coll": coll,
                "name": fields["name"],
                "order_key": fields["order_key"],
                "members": [cred for cred, _ in members],
            }
        )
    collection_list.sort(key=lambda item: order_sort_key(item["order_key"], item["coll"]))
    action_list = [{"action_id": action_id, **fields} for action_id, fields in sorted(actions.items())]
    return {"credentials": credential_list, "collections": collection_list, "actions": action_list}


def view(state: State) -> dict[str, Any]:
    """The wallet a learner sees for merged ``state``; JSON-serialisable and deterministic.

    Shape: ``{"credentials": [{"cred", "hidden", "pinned", "note", "order_key", "tags", "facts"}],
    "collections": [{"coll", "name", "order_key", "members": [cred, ...]}],
    "actions": [{"action_id", "action", "status", "code", "result"}]}``. A removed credential shows
    nowhere — not in the list, not as a member — even if its metadata was edited concurrently.
    ``facts`` is the server's latest word on the credential (``{"outcome", "checks", "checked_at"}``)
    or ``None`` before its first check (or after the server cleared it).
    """
    credentials: dict[str, dict[str, Any]] = {}
    collections: dict[str, dict[str, Any]] = {}
    actions: dict[str, dict[str, Any]] = {}
    tags: dict[str, list[str]] = defaultdict(list)
    members: dict[str, dict[str, str | None]] = defaultdict(dict)
    facts: dict[str, dict[str, Any]] = {}
    for key, row in state.items():
        kind = key[0]
        if kind == ENTRY and isinstance(row, EntryState) and row.presence.present:
            credentials[key[1]] = {
                name: _value(getattr(row, name), default) for name, default in ENTRY_DEFAULTS.items()
            }
        elif kind == TAG and isinstance(row, TagState) and row.presence.present:
            tags[key[1]].append(key[2])
        elif kind == COLLECTION and isinstance(row, CollectionState) and row.live:
            collections[key[1]] = {"name": _value(row.name, ""), "order_key": _value(row.order_key, None)}
        elif kind == MEMBER and isinstance(row, MemberState) and row.presence.present:
            members[key[1]][key[2]] = _value(row.order_key, None)
        elif kind == ACTION_RESULT and isinstance(row, ActionResultState):
            actions[key[1]] = {
                "action": row.action,
                "status": row.status,
                "code": row.code,
                "result": dict(row.result),
            }
        elif kind == FACTS and isinstance(row, FactsState) and row.facts is not None:
            facts[key[1]] = dict(row.facts)
    for cred, fields in credentials.items():
        fields["tags"] = tags.get(cred, [])
        fields["facts"] = facts.get(cred)
    for coll, fields in collections.items():
        fields["members"] = members.get(coll, {})
    return _render(credentials, collections, actions)


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
