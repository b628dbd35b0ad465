"""Revocation and suspension status: W3C Bitstring Status List v1.0 and 1EdTech Revocation List.

Bitstring Status List: the issuer publishes a *status list credential* whose ``encodedList`` is the
GZIP-compressed bitstring, multibase-encoded as base64url without padding (prefix ``u``). A credential
points at one bit with a ``BitstringStatusListEntry`` (``statusListCredential`` URL, ``statusListIndex``,
``statusPurpose``). Index 0 is the left-most (most significant) bit of the first byte. The legacy
``StatusList2021Entry`` works the same way (its lists may lack the ``u`` prefix) and is accepted.

An entry may be wider than one bit (``statusSize`` *n*, 1 to 8): entry *i* is then the *n* bits starting at
bit *i* times *n*, read most significant first, and its value names one of the entry's ``statusMessage``
objects (``{"status": "0x2", "message": "pending_review"}``). For ``revocation`` and ``suspension`` any
non-zero value is revoked / suspended; for ``message`` (or any other purpose) the value is reported as a
status message and does not affect validity.

1EdTech Revocation List (the method OB 3.0 names ``1EdTechRevocationList``): ``credentialStatus.id`` is a
URL whose JSON lists ``revokedCredentials``, each an object with the revoked credential's ``id`` (and an
optional ``revocationReason``).

The rule callers rely on: a status that could not be established is ``"unknown"``, never ``"ok"``.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from wallet.credentials.reasons import Reason
from wallet.credentials.timestamps import parse_timestamp

MIN_BITS = 131_072
"""The spec's minimum list length (16 KB), so that one credential hides among many (herd privacy)."""

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""Refuse to inflate a list past this size: a few bytes of GZIP can claim gigabytes."""

MAX_STATUS_SIZE = 8
"""The widest entry read (the spec gives no maximum; 8 bits is 256 messages, more than any list uses)."""

BITSTRING_ENTRY_TYPES = frozenset({"BitstringStatusListEntry", "StatusList2021Entry"})
BITSTRING_LIST_TYPES = frozenset({"BitstringStatusListCredential", "StatusList2021Credential"})
REVOCATION_LIST_TYPE = "1EdTechRevocationList"

StatusState = Literal["ok", "revoked", "suspended", "unknown"]
FetchJson = Callable[[str], Any]
ListVerifier = Callable[[dict[str, Any]], bool]


class StatusListError(ValueError):
    """An encoded status list is malformed, too large, or an index is out of range."""


@dataclass(frozen=True)
class StatusCheck:
    """One entry's status: ``state`` for the verdict, ``code`` the stable reason, ``reason`` in words.

    ``message`` is the entry's status message when the list carries one (``statusSize`` > 1).
    """

    state: StatusState
    reason: str
    code: Reason = Reason.STATUS_UNREACHABLE
    message: str | None = None


def encode_status_list(bits: bytes | bytearray) -> str:
    """GZIP then multibase base64url (no padding) — the form ``encodedList`` carries."""
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: str) -> bytes:
    """Inverse of :func:`encode_status_list`, bounded to :data:`MAX_DECODED_BYTES`."""
    if not isinstance(encoded, str) or not encoded:
        raise StatusListError("encodedList must be a non-empty string")
    text = encoded[1:] if encoded.startswith("u") else encoded
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise StatusListError(f"encodedList is not base64url: {exc}") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not GZIP data: {exc}") from exc
    if inflater.unconsumed_tail:
        raise StatusListError(f"status list is larger than {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise StatusListError("encodedList is truncated")
    return bits


def bit_is_set(bitstring: bytes | bytearray, index: int) -> bool:
    """Whether bit ``index`` is 1; index 0 is the left-most bit of the first byte."""
    if index < 0 or index >= len(bitstring) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bitstring) * 8} bits")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_value(bitstring: bytes | bytearray, index: int, size: int) -> int:
    """The ``size``-bit value of entry ``index`` (bits ``index*size`` … , most significant first)."""
    value = 0
    for position in range(index * size, index * size + size):
        value = (value << 1) | int(bit_is_set(bitstring, position))
    return value


def set_bit(bitstring: bytearray, index: int, value: bool = True) -> None:
    """Set bit ``index`` (same numbering as :func:`bit_is_set`); for issuers and tests."""
    if index < 0 or index >= len(bitstring) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bitstring) * 8} bits")
    mask = 0x80 >> (index % 8)
    if value:
        bitstring[index // 8] |= mask
    else:
        bitstring[index // 8] &= ~mask & 0xFF


def _isoformat(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def build_status_list_credential(
    *,
    list_id: str,
    issuer: str,
    purpose: str,
    bits: bytes | bytearray,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """An unsigned VC 2.0 ``BitstringStatusListCredential`` for ``bits`` (sign it before publishing)."""
    if len(bits) * 8 < MIN_BITS:
        raise StatusListError(f"a status list needs at least {MIN_BITS} bits, got {len(bits) * 8}")
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _isoformat(valid_from),
        "credentialSubject": {
            "id": f"{list_id}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_status_list(bits),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = _isoformat(valid_until)
    return credential


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_status(
    entry: Mapping[str, Any],
    *,
    fetch_json: FetchJson,
    credential_id: str | None = None,
    verify_list: ListVerifier | None = None,
    now: datetime | None = None,
) -> StatusCheck:
    """Look up one ``credentialStatus`` entry.

    ``fetch_json`` fetches a URL's JSON (raising on any failure); ``credential_id`` is needed for the
    1EdTech list, which is keyed by credential id; ``verify_list`` checks the status list credential's own
    proof (a list that fails it is ``"unknown"``); ``now`` enables the list's own validity window.
    """
    types = set(_as_list(entry.get("type")))
    if types & BITSTRING_ENTRY_TYPES:
        return _check_bitstring(entry, fetch_json=fetch_json, verify_list=verify_list, now=now)
    if REVOCATION_LIST_TYPE in types:
        return _check_revocation_list(entry, fetch_json=fetch_json, credential_id=credential_id)
    return StatusCheck(
        "unknown", f"unsupported credentialStatus type {sorted(types) or 'missing'}", Reason.STATUS_TYPE_UNSUPPORTED
    )


def _status_size(entry: Mapping[str, Any]) -> int | None:
    raw = entry.get("statusSize", 1)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    try:
        size = int(str(raw), 10)
    except ValueError:
        return None
    return size if 1 <= size <= MAX_STATUS_SIZE else None


def _status_message(entry: Mapping[str, Any], value: int) -> str | None:
    for item in _as_list(entry.get("statusMessage")):
        if not isinstance(item, Mapping) or not isinstance(item.get("status"), str):
            continue
        try:
            status = int(item["status"], 16)
        except ValueError:
            continue
        if status == value and isinstance(item.get("message"), str):
            return item["message"]
    return None


def _check_bitstring(
    entry: Mapping[str, Any],
    *,
    fetch_json: FetchJson,
    verify_list: ListVerifier | None,
    now: datetime | None,
) -> StatusCheck:
    purpose = entry.get("statusPurpose")
    list_url = entry.get("statusListCredential")
    raw_index = entry.get("statusListIndex")
    malformed = Reason.STATUS_ENTRY_MALFORMED
    if not isinstance(purpose, str) or not isinstance(list_url, str):
        return StatusCheck("unknown", "status entry lacks statusPurpose or statusListCredential", malformed)
    try:
        index = int(str(raw_index), 10)
    except ValueError:
        return StatusCheck("unknown", f"statusListIndex {raw_index!r} is not an integer", malformed)
    size = _status_size(entry)
    if size is None:
        return StatusCheck(
            "unknown", f"statusSize {entry.get('statusSize')!r} is not 1 to {MAX_STATUS_SIZE}", malformed
        )
    try:
        list_credential = fetch_json(list_url)
    except Exception as exc:
        return StatusCheck("unknown", f"status list {list_url} could not be fetched: {exc}", Reason.STATUS_UNREACHABLE)
    invalid = Reason.STATUS_LIST_INVALID
    if not isinstance(list_credential, dict):
        return StatusCheck("unknown", f"status list {list_url} is not a JSON object", invalid)
    if not set(_as_list(list_credential.get("type"))) & BITSTRING_LIST_TYPES:
        return StatusCheck("unknown", f"{list_url} is not a BitstringStatusListCredential", invalid)
    if verify_list is not None and not verify_list(list_credential):
        return StatusCheck("unknown", f"the proof on status list {list_url} does not verify", invalid)
    if now is not None:
        valid_from = parse_timestamp(list_credential.get("validFrom"))
        valid_until = parse_timestamp(list_credential.get("validUntil"))
        stale = Reason.STATUS_LIST_NOT_CURRENT
        if valid_until is not None and now > valid_until:
            return StatusCheck("unknown", f"status list {list_url} expired at {valid_until.isoformat()}", stale)
        if valid_from is not None and now < valid_from:
            return StatusCheck("unknown", f"status list {list_url} is not valid before {valid_from.isoformat()}", stale)
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return StatusCheck("unknown", f"status list {list_url} has no credentialSubject", invalid)
    if purpose not in _as_list(subject.get("statusPurpose")):
        return StatusCheck(
            "unknown", f"status list {list_url} is for {subject.get('statusPurpose')!r}, not {purpose!r}", invalid
        )
    try:
        bits = decode_status_list(subject.get("encodedList", ""))
    except StatusListError as exc:
        return StatusCheck("unknown", f"status list {list_url}: {exc}", invalid)
    if len(bits) * 8 < MIN_BITS:
        return StatusCheck("unknown", f"status list {list_url} is shorter than the {MIN_BITS}-bit minimum", invalid)
    if index < 0 or (index + 1) * size > len(bits) * 8:
        return StatusCheck("unknown", f"statusListIndex {index} is outside status list {list_url}", invalid)
    value = status_value(bits, index, size)
    message = _status_message(entry, value) if size > 1 else None
    if size == 1:
        where = f"bit {index} is"
    else:
        where = f"entry {index} is 0x{value:x}" + (f" ({message})" if message else "") + ","
    if purpose == "revocation" and value:
        return StatusCheck("revoked", f"revoked: {where} set in {list_url}", Reason.STATUS_REVOKED, message)
    if purpose == "suspension" and value:
        return StatusCheck("suspended", f"suspended: {where} set in {list_url}", Reason.STATUS_SUSPENDED, message)
    if not value:
        return StatusCheck("ok", f"{purpose} {where} not set", Reason.STATUS_ACTIVE)
    if size > 1:
        return StatusCheck("ok", f"{purpose} status: {where} in {list_url}", Reason.STATUS_MESSAGE, message)
    return StatusCheck("ok", f"{purpose} {where} is set; that purpose does not affect validity", Reason.STATUS_MESSAGE)


def _check_revocation_list(
    entry: Mapping[str, Any], *, fetch_json: FetchJson, credential_id: str | None
) -> StatusCheck:
    list_url = entry.get("id")
    if not isinstance(list_url, str):
        return StatusCheck("unknown", "1EdTechRevocationList entry has no id", Reason.STATUS_ENTRY_MALFORMED)
    if not credential_id:
        return StatusCheck(
            "unknown", "the credential has no id to look up in its revocation list", Reason.STATUS_ENTRY_MALFORMED
        )
    try:
        document = fetch_json(list_url)
    except Exception as exc:
        return StatusCheck(
            "unknown", f"revocation list {list_url} could not be fetched: {exc}", Reason.STATUS_UNREACHABLE
        )
    revoked = document.get("revokedCredentials") if isinstance(document, dict) else None
    if not isinstance(revoked, list):
        return StatusCheck("unknown", f"{list_url} has no revokedCredentials list", Reason.STATUS_LIST_INVALID)
    for item in revoked:
        item_id = item.get("id") if isinstance(item, dict) else item
        if item_id == credential_id:
            reason = item.get("revocationReason") if isinstance(item, dict) else None
            text = f"revoked: {reason}" if reason else f"revoked, listed in {list_url}"
            return StatusCheck("revoked", text, Reason.STATUS_REVOKED)
    return StatusCheck("ok", f"not listed in {list_url}", Reason.STATUS_ACTIVE)
