"""Revocation lists: a revoked credential is reported revoked, and an unreachable list is never "ok"."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.credentials.status_list import (
    MIN_BITS,
    StatusListError,
    bit_is_set,
    build_status_list_credential,
    check_status,
    decode_status_list,
    encode_status_list,
    set_bit,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "bitstring-status-list"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
LIST_URL = "https://issuer.example/status/1"


def spec_list() -> dict:
    return json.loads((VECTORS / "spec-example-BitstringStatusListCredential.json").read_text())


def serving(documents: dict):
    def fetch_json(url: str):
        if url not in documents:
            raise ConnectionError(f"{url} unreachable")
        return documents[url]

    return fetch_json


def published_list(*, revoked: list[int] = (), purpose: str = "revocation") -> dict:
    bits = bytearray(MIN_BITS // 8)
    for index in revoked:
        set_bit(bits, index)
    return build_status_list_credential(
        list_id=LIST_URL, issuer="did:example:issuer", purpose=purpose, bits=bits, valid_from=NOW
    )


def entry(index: int, purpose: str = "revocation") -> dict:
    return {
        "id": f"{LIST_URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": LIST_URL,
    }


def test_the_spec_example_list_decodes_to_16_kb_of_zero_bits():
    bits = decode_status_list(spec_list()["credentialSubject"]["encodedList"])
    assert len(bits) * 8 == MIN_BITS
    assert not any(bits)


def test_the_spec_example_credential_is_not_revoked_by_the_spec_example_list():
    credential = json.loads((VECTORS / "spec-example-credential-with-BitstringStatusListEntry.json").read_text())
    revocation = credential["credentialStatus"][0]
    fetch = serving({revocation["statusListCredential"]: spec_list()})
    assert check_status(revocation, fetch_json=fetch).state == "ok"


def test_index_zero_is_the_left_most_bit():
    assert bit_is_set(b"\x80\x00", 0)
    assert not bit_is_set(b"\x80\x00", 7)
    assert bit_is_set(b"\x00\x01", 15)
    with pytest.raises(StatusListError):
        bit_is_set(b"\x00", 8)


@given(st.binary(max_size=4096))
def test_encoding_round_trips_and_uses_multibase_base64url(bits):
    encoded = encode_status_list(bits)
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    assert decode_status_list(encoded) == bits


@given(st.sets(st.integers(min_value=0, max_value=MIN_BITS - 1), max_size=20), st.integers(0, MIN_BITS - 1))
def test_exactly_the_set_bits_are_revoked(revoked, probe):
    fetch = serving({LIST_URL: published_list(revoked=sorted(revoked))})
    result = check_status(entry(probe), fetch_json=fetch)
    assert result.state == ("revoked" if probe in revoked else "ok")


def test_a_suspension_bit_reports_suspended():
    fetch = serving({LIST_URL: published_list(revoked=[42], purpose="suspension")})
    assert check_status(entry(42, "suspension"), fetch_json=fetch).state == "suspended"


def test_an_unreachable_list_is_unknown_never_ok():
    result = check_status(entry(3), fetch_json=serving({}))
    assert result.state == "unknown"
    assert "could not be fetched" in result.reason


def test_a_list_for_another_purpose_is_unknown():
    fetch = serving({LIST_URL: published_list(purpose="suspension")})
    result = check_status(entry(3, "revocation"), fetch_json=fetch)
    assert result.state == "unknown"
    assert "not 'revocation'" in result.reason


def test_an_index_past_the_end_of_the_list_is_unknown():
    fetch = serving({LIST_URL: published_list()})
    assert check_status(entry(MIN_BITS), fetch_json=fetch).state == "unknown"


def test_a_list_whose_proof_fails_is_unknown():
    fetch = serving({LIST_URL: published_list(revoked=[5])})
    result = check_status(entry(5), fetch_json=fetch, verify_list=lambda document: False)
    assert result.state == "unknown"
    assert "proof" in result.reason


def test_an_expired_list_is_unknown():
    document = published_list()
    document["validUntil"] = "2025-01-01T00:00:00Z"
    result = check_status(entry(1), fetch_json=serving({LIST_URL: document}), now=NOW)
    assert result.state == "unknown"
    assert "expired" in result.reason


def test_a_list_shorter_than_the_minimum_is_unknown():
    document = published_list()
    document["credentialSubject"]["encodedList"] = encode_status_list(bytes(16))
    assert check_status(entry(1), fetch_json=serving({LIST_URL: document})).state == "unknown"


def test_a_compression_bomb_is_refused():
    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    encoded = "u" + base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with pytest.raises(StatusListError, match="larger than"):
        decode_status_list(encoded)


def test_garbage_encoded_lists_are_refused():
    with pytest.raises(StatusListError):
        decode_status_list("u!!!not-base64")
    with pytest.raises(StatusListError):
        decode_status_list("u" + base64.urlsafe_b64encode(b"not gzip").decode())


def test_a_status_list_credential_needs_the_minimum_length():
    with pytest.raises(StatusListError, match="at least"):
        build_status_list_credential(
            list_id=LIST_URL, issuer="did:example:i", purpose="revocation", bits=bytes(10), valid_from=NOW
        )


REVOCATIONS_URL = "https://issuer.example/revocations"


def test_a_1edtech_revocation_list_revokes_listed_credentials():
    fetch = serving(
        {
            REVOCATIONS_URL: {
                "id": REVOCATIONS_URL,
                "issuer": "https://issuer.example",
                "revokedCredentials": [{"id": "urn:uuid:1", "revocationReason": "Issued in error"}],
            }
        }
    )
    status = {"id": REVOCATIONS_URL, "type": "1EdTechRevocationList"}
    revoked = check_status(status, fetch_json=fetch, credential_id="urn:uuid:1")
    assert (revoked.state, revoked.reason) == ("revoked", "revoked: Issued in error")
    assert check_status(status, fetch_json=fetch, credential_id="urn:uuid:2").state == "ok"
    assert check_status(status, fetch_json=serving({}), credential_id="urn:uuid:2").state == "unknown"


def test_an_unknown_status_type_is_unknown():
    assert check_status({"type": "MadeUpStatus"}, fetch_json=serving({})).state == "unknown"
