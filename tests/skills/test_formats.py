"""The CASE 1.1 JSON and CSV readers: every bad input class is FrameworkUnreadable with a place, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.pathways.conftest import CASE_PACKAGE
from wallet.skills.formats import FrameworkUnreadable, parse_case_json, parse_csv

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _refused_or_read(call) -> None:
    try:
        parsed = call()
    except FrameworkUnreadable as refused:
        assert refused.where and refused.message
    else:
        assert parsed.items and all(item.identifier and item.statement for item in parsed.items)


@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_as_case_json(data: bytes) -> None:
    _refused_or_read(lambda: parse_case_json(data))


@given(json_values)
def test_any_json_document_is_read_or_refused(document) -> None:
    _refused_or_read(lambda: parse_case_json(json.dumps(document).encode()))


@given(st.sampled_from(["CFDocument", "CFItems", "CFAssociations"]), json_values)
def test_a_package_with_one_part_replaced_by_anything_is_read_or_refused(part: str, value) -> None:
    package = {**CASE_PACKAGE, part: value}
    _refused_or_read(lambda: parse_case_json(json.dumps(package).encode()))


@given(st.integers(0, 2), st.sampled_from(["identifier", "fullStatement", "humanCodingScheme"]), json_values)
def test_an_item_field_replaced_by_anything_is_read_or_refused(index: int, field: str, value) -> None:
    package = json.loads(json.dumps(CASE_PACKAGE))
    package["CFItems"][index][field] = value
    _refused_or_read(lambda: parse_case_json(json.dumps(package).encode()))


@given(st.text(max_size=400))
def test_any_text_is_read_or_refused_as_csv(text: str) -> None:
    _refused_or_read(lambda: parse_csv(text.encode("utf-8", "surrogatepass"), title="T", identifier="csv:t"))


@given(st.lists(st.lists(st.text(',"\n\r abc\x00', max_size=6), max_size=5), max_size=6))
def test_csv_rows_of_any_shape_are_read_or_refused(rows: list[list[str]]) -> None:
    text = "code,statement,parent\n" + "\n".join(",".join(row) for row in rows)
    _refused_or_read(lambda: parse_csv(text.encode(), title="T", identifier="csv:t"))


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"\xff\xfe", "file"),
        (b"code,name\nA,B\n", "header"),
        (b"code,statement,parent\nA,One,B\n", "item A"),
        (b"code,statement,parent\nA,One,B\nB,Two,A\n", "item A"),
        (b"statement\n", "items"),
        (b"statement,statement\nx,y\n", "header"),
    ],
)
def test_each_bad_csv_class_names_where(data: bytes, where: str) -> None:
    with pytest.raises(FrameworkUnreadable) as refused:
        parse_csv(data, title="T", identifier="csv:t")
    assert refused.value.where == where


def test_duplicate_item_identifiers_and_parent_loops_are_refused() -> None:
    package = json.loads(json.dumps(CASE_PACKAGE))
    package["CFItems"][2]["identifier"] = "item-listening"
    with pytest.raises(FrameworkUnreadable, match="twice"):
        parse_case_json(json.dumps(package).encode())
    package = json.loads(json.dumps(CASE_PACKAGE))
    package["CFAssociations"].append(
        {
            "associationType": "isChildOf",
            "originNodeURI": {"identifier": "item-communication"},
            "destinationNodeURI": {"identifier": "item-listening"},
        }
    )
    with pytest.raises(FrameworkUnreadable, match="loop"):
        parse_case_json(json.dumps(package).encode())
