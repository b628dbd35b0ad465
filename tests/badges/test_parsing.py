"""The pages' own parsers of what a browser sends: ids in addresses, and the search form."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from wallet.holding.badges import MAX_QUERY_LENGTH, BadgeQuery, parse_id


@given(st.text())
def test_an_id_is_accepted_only_in_its_canonical_spelling(text: str) -> None:
    parsed = parse_id(text)
    assert parsed is None or str(parsed) == text


@given(st.uuids())
def test_every_canonical_uuid_is_an_id(value: uuid.UUID) -> None:
    assert parse_id(str(value)) == value
    assert parse_id("{" + str(value) + "}") is None and parse_id(value.hex) is None


_TEXT = st.one_of(st.text(), st.text(alphabet="ab \t\n", min_size=190, max_size=260))


@given(st.dictionaries(st.sampled_from(["q", "issuer", "tag", "collection", "pinned", "other"]), _TEXT))
def test_any_search_form_reads_as_a_bounded_tidy_query(fields: dict[str, str]) -> None:
    query = BadgeQuery.parse(MultiDict(fields))
    for value in (query.q, query.issuer, query.tag, query.collection):
        assert len(value) <= MAX_QUERY_LENGTH
        assert value == " ".join(value.split())
    assert query.pinned == (fields.get("pinned") in ("1", "on"))
    assert query.active == bool(query.q or query.issuer or query.tag or query.collection or query.pinned)
