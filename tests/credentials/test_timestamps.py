"""Every date-time a credential carries is read into an aware UTC datetime, or refused as None."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from wallet.credentials.timestamps import parse_timestamp


def test_offsets_are_normalised_to_utc_and_naive_values_read_as_utc() -> None:
    assert parse_timestamp("2026-11-23T10:00:00+02:00") == dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    assert parse_timestamp("2026-11-23T10:00:00Z") == dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    assert parse_timestamp(" 2026-11-23T10:00:00 ") == dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def test_unix_seconds_only_where_the_format_allows_them() -> None:
    assert parse_timestamp(1_795_000_000) is None
    assert parse_timestamp(1_795_000_000, allow_epoch=True) == dt.datetime.fromtimestamp(1_795_000_000, dt.UTC)
    assert parse_timestamp(True, allow_epoch=True) is None
    assert parse_timestamp(10**30, allow_epoch=True) is None


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.text())))
def test_anything_is_either_an_aware_utc_datetime_or_none(value: object) -> None:
    parsed = parse_timestamp(value, allow_epoch=True)
    assert parsed is None or parsed.tzinfo == dt.UTC


def test_a_status_list_with_a_naive_expiry_is_judged_not_crashed_on() -> None:
    from wallet.credentials.status_list import check_status, encode_status_list

    list_url = "https://issuer.example/status/1"
    listing = {
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "validUntil": "2020-01-01T00:00:00",
        "credentialSubject": {
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(bytes(16384)),
        },
    }
    entry = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": list_url,
    }

    result = check_status(entry, fetch_json=lambda _url: listing, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    assert result.state == "unknown"
    assert "expired" in result.reason
