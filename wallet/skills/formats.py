"""Reading a skills framework: 1EdTech CASE 1.1 JSON (a CFPackage) or a spreadsheet's CSV.

Both give a :class:`ParsedFramework`; anything else is :class:`FrameworkUnreadable` with the place it
went wrong, so the API answers 422 ``framework.unreadable`` — never a 500, never a half import.

CASE 1.1 JSON: ``{"CFDocument": {...}, "CFItems": [...], "CFAssociations": [...]}``. An item needs an
``identifier`` and a ``fullStatement``; its parent is the destination of its ``isChildOf`` association
(``originNodeURI`` is the child). CSV: a header row naming at least ``statement``; optional columns
``identifier``, ``code``, ``type`` and ``parent`` (a parent's code or identifier). Rows without an
identifier get one derived from the framework and the row's code (or its statement), so re-importing the
same spreadsheet yields the same identifiers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_ITEMS = 5000
MAX_FIELD = 4000
_NAMESPACE = uuid.UUID("8c7ab2a1-6f0e-4c4c-9d1e-5b1d9a2f0e15")


class FrameworkUnreadable(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class ParsedItem:
    identifier: str
    statement: str
    code: str = ""
    item_type: str = ""
    parent_identifier: str | None = None

    def content_sha256(self) -> str:
        """What a reader of the alignment relies on; a change here makes the item a changed item."""
        text = json.dumps([self.statement, self.code, self.item_type, self.parent_identifier], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ParsedFramework:
    identifier: str
    title: str
    description: str
    items: tuple[ParsedItem, ...]
    source_format: str
    document: dict[str, Any]

    def content_sha256(self) -> str:
        text = json.dumps(
            [self.title, self.description, [[item.identifier, item.content_sha256()] for item in self.items]],
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(value: Any, where: str, *, required: bool = False, limit: int = MAX_FIELD) -> str:
    if value is None or value == "":
        if required:
            raise FrameworkUnreadable(where, "is required")
        return ""
    if not isinstance(value, str):
        raise FrameworkUnreadable(where, "must be text")
    if "\x00" in value:
        raise FrameworkUnreadable(where, "must not contain NUL characters")
    value = value.strip()
    if required and not value:
        raise FrameworkUnreadable(where, "is required")
    if len(value) > limit:
        raise FrameworkUnreadable(where, f"is longer than {limit} characters")
    return value


def _check_tree(items: list[ParsedItem]) -> tuple[ParsedItem, ...]:
    if not items:
        raise FrameworkUnreadable("items", "the framework has no items")
    if len(items) > MAX_ITEMS:
        raise FrameworkUnreadable("items", f"at most {MAX_ITEMS} items")
    by_id: dict[str, ParsedItem] = {}
    for index, item in enumerate(items):
        if item.identifier in by_id:
            raise FrameworkUnreadable(f"items[{index}].identifier", f"{item.identifier!r} appears twice")
        by_id[item.identifier] = item
    for index, item in enumerate(items):
        if item.parent_identifier is not None and item.parent_identifier not in by_id:
            item = ParsedItem(item.identifier, item.statement, item.code, item.item_type, None)
            items[index] = item
    parents = {item.identifier: item.parent_identifier for item in items}
    for item in items:
        seen = {item.identifier}
        parent = parents[item.identifier]
        while parent is not None:
            if parent in seen:
                raise FrameworkUnreadable(f"item {item.code or item.identifier}", "its parents form a loop")
            seen.add(parent)
            parent = parents.get(parent)
    return tuple(items)


def parse_case_json(data: bytes) -> ParsedFramework:
    """A CASE 1.1 CFPackage (JSON)."""
    try:
        package = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FrameworkUnreadable("file", "is not JSON text") from error
    if not isinstance(package, Mapping):
        raise FrameworkUnreadable("file", "must be a CFPackage object")
    document = package.get("CFDocument")
    if not isinstance(document, Mapping):
        raise FrameworkUnreadable("CFDocument", "is required (a CASE 1.1 CFPackage)")
    identifier = _text(document.get("identifier"), "CFDocument.identifier", required=True, limit=200)
    title = _text(document.get("title"), "CFDocument.title", required=True, limit=300)
    description = _text(document.get("description"), "CFDocument.description")
    raw_items = package.get("CFItems", [])
    if not isinstance(raw_items, list):
        raise FrameworkUnreadable("CFItems", "must be a list")
    raw_associations = package.get("CFAssociations", [])
    if not isinstance(raw_associations, list):
        raise FrameworkUnreadable("CFAssociations", "must be a list")
    parents: dict[str, str] = {}
    for index, association in enumerate(raw_associations):
        where = f"CFAssociations[{index}]"
        if not isinstance(association, Mapping):
            raise FrameworkUnreadable(where, "must be an object")
        if association.get("associationType") != "isChildOf":
            continue
        origin = association.get("originNodeURI")
        destination = association.get("destinationNodeURI")
        if not isinstance(origin, Mapping) or not isinstance(destination, Mapping):
            raise FrameworkUnreadable(where, "originNodeURI and destinationNodeURI must be LinkURI objects")
        child = _text(origin.get("identifier"), f"{where}.originNodeURI.identifier", required=True, limit=200)
        parent = _text(
            destination.get("identifier"), f"{where}.destinationNodeURI.identifier", required=True, limit=200
        )
        if parent != identifier:
            parents.setdefault(child, parent)
    items: list[ParsedItem] = []
    for index, raw in enumerate(raw_items):
        where = f"CFItems[{index}]"
        if not isinstance(raw, Mapping):
            raise FrameworkUnreadable(where, "must be an object")
        item_id = _text(raw.get("identifier"), f"{where}.identifier", required=True, limit=200)
        items.append(
            ParsedItem(
                identifier=item_id,
                statement=_text(raw.get("fullStatement"), f"{where}.fullStatement", required=True),
                code=_text(raw.get("humanCodingScheme"), f"{where}.humanCodingScheme", limit=100),
                item_type=_text(raw.get("CFItemType"), f"{where}.CFItemType", limit=100),
                parent_identifier=parents.get(item_id),
            )
        )
    kept = {
        key: document[key]
        for key in ("identifier", "uri", "creator", "title", "lastChangeDateTime", "version", "language")
        if isinstance(document.get(key), str)
    }
    return ParsedFramework(identifier, title, description, _check_tree(items), "case-json", kept)


def _row_identifier(framework_id: str, code: str, statement: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{framework_id}\n{code or statement}"))


def parse_csv(data: bytes, *, title: str, identifier: str) -> ParsedFramework:
    """A spreadsheet: a header with ``statement`` (and optionally identifier, code, type, parent)."""
    title = _text(title, "title", required=True, limit=300)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FrameworkUnreadable("file", "is not UTF-8 text") from error
    if "\x00" in text:
        raise FrameworkUnreadable("file", "must not contain NUL characters")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise FrameworkUnreadable("file", f"is not CSV: {error}") from error
    if not rows:
        raise FrameworkUnreadable("file", "is empty")
    header = [name.strip().lower() for name in rows[0]]
    if "statement" not in header:
        raise FrameworkUnreadable("header", "must name a 'statement' column")
    if len(set(header)) != len(header):
        raise FrameworkUnreadable("header", "names a column twice")
    column = {name: index for index, name in enumerate(header)}

    def cell(row: list[str], name: str) -> str:
        index = column.get(name)
        return row[index] if index is not None and index < len(row) else ""

    items: list[ParsedItem] = []
    pending_parents: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(value.strip() for value in row):
            continue
        if len(row) > len(header):
            raise FrameworkUnreadable(f"row {number}", "has more cells than the header")
        statement = _text(cell(row, "statement"), f"row {number} statement", required=True)
        code = _text(cell(row, "code"), f"row {number} code", limit=100)
        item_id = _text(cell(row, "identifier"), f"row {number} identifier", limit=200) or _row_identifier(
            identifier, code, statement
        )
        items.append(ParsedItem(item_id, statement, code, _text(cell(row, "type"), f"row {number} type", limit=100)))
        pending_parents.append(_text(cell(row, "parent"), f"row {number} parent", limit=200))
    by_code = {item.code: item.identifier for item in items if item.code}
    ids = {item.identifier for item in items}
    resolved = []
    for item, parent in zip(items, pending_parents, strict=True):
        parent_id = by_code.get(parent) or (parent if parent in ids else None) if parent else None
        if parent and parent_id is None:
            raise FrameworkUnreadable(
                f"item {item.code or item.identifier}", f"its parent {parent!r} is not in the file"
            )
        resolved.append(ParsedItem(item.identifier, item.statement, item.code, item.item_type, parent_id))
    return ParsedFramework(
        identifier, title, "", _check_tree(resolved), "csv", {"identifier": identifier, "title": title}
    )
