"""What a user sees (:func:`view`).

:func:`view` turns merged row states into the wallet a learner sees: visible credentials with their
note, hidden/pinned flags, order key and tags, and live collections with their ordered members —
sorted deterministically (I13), so equal states give equal (JSON-identical) views on every replica.

The executable specification it must match, ``reference_view``, is a test oracle and lives with the
tests (``client_sdk/tests/reference_model.py``): it
computes the expected view directly from the *set* of accepted ops, by the rules written in
docs/sync.md §5 — "present iff some add's dot was not observed by any remove", "a field shows the
value of its write with the largest stamp", "a collection shows iff it was created and never
deleted" — without any join or intermediate state. Agreement between the two over random
histories is what the tests mean by convergence to the model (I1).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

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
