"""Protocol 2 on the wire (docs/sync.md §7.4): big pages, no echo of a push's own rows, binary blob
batches — while a protocol-1 device gets the answers it always got."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import uuid
from typing import Any

import pytest
from wallet_protocol.sync.blobs import BLOB_BATCH_MEDIA_TYPE, decode_blob_batch

from tests.holding.factories import signed_bytes
from tests.sync.conftest import Device, cred_of
from wallet.changelog import changes
from wallet.holding.summary import content_hash

BINARY = {"Accept": BLOB_BATCH_MEDIA_TYPE}


def _v2(device: Any, learner: Any = None) -> Device:
    registered = device(learner)
    registered.protocol = 2
    return registered


def _keys(answer: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(change["k"], change["id"]) for change in answer["changes"]]


def test_a_protocol_2_push_is_not_echoed_and_changes_carry_no_seq(device: Any, sign_up: Any) -> None:
    sam = sign_up("sam")
    phone, tablet = _v2(device, sam), _v2(device, sam)
    cred = cred_of("welding")
    phone.sync()
    tablet.sync()
    tablet.sync([tablet.op("tag.add", cred=cred, tag="from tablet", dot=None)])

    answer = phone.sync(
        [
            phone.op("tag.add", cred=cred, tag="mine", dot=None),
            phone.op("tag.add", cred=cred, tag="from tablet", dot=None),
        ]
    )

    assert answer["protocol"] == 2 and answer["applied_from"] == 1 and answer["acked_op_seq"] == 2
    assert _keys(answer) == [("tag", [cred, "from tablet"])]  # changed by the tablet since the cursor
    assert set(answer["changes"][0]) == {"k", "id", "s"}
    assert {dot[0] for dot in answer["changes"][0]["s"]["dots"]} == {phone.client_id, tablet.client_id}
    again = tablet.sync()
    assert sorted(_keys(again)) == [("tag", [cred, "from tablet"]), ("tag", [cred, "mine"])]


def test_a_protocol_1_push_is_still_echoed_with_seq(device: Any) -> None:
    phone = device()
    cred = cred_of("welding")
    answer = phone.sync([phone.op("tag.add", cred=cred, tag="mine", dot=None)])
    assert answer["protocol"] == 1 and "applied_from" not in answer
    assert _keys(answer) == [("tag", [cred, "mine"])] and "seq" in answer["changes"][0]


def test_rows_the_server_wrote_during_a_protocol_2_push_are_sent(
    app: Any, device: Any, monkeypatch: Any, db: Any, clock: Any
) -> None:
    claimed = cred_of("claimed")

    def redeem(db: Any, *, account_id: uuid.UUID, op: Any, now: dt.datetime, **_: Any) -> dict[str, Any]:
        changes.record_entry_added(db, account_id=account_id, cred_hash=claimed, now=now)
        return {"cred": claimed}

    monkeypatch.setitem(app.extensions["wallet"].actions, "claim.redeem", redeem)
    phone = _v2(device)
    phone.sync()
    answer = phone.sync([phone.op("claim.redeem", action_id="c1", code="GOOD", scanned_at=1)])
    assert sorted(_keys(answer)) == [("action_result", ["c1"]), ("entry", [claimed])]


def test_a_resent_request_whose_answer_was_lost_gets_its_rows(device: Any) -> None:
    """The ops were applied by the lost request, so the resend returns their rows (applied_from is past them)."""
    phone = _v2(device)
    phone.sync()
    cursor = phone.cursor
    op = phone.op("tag.add", cred=cred_of("a"), tag="t", dot=None)
    phone.sync([op])
    resent = phone.sync([op], cursor=cursor)
    assert resent["applied_from"] == 2 and resent["acked_op_seq"] == 1
    assert _keys(resent) == [("tag", [cred_of("a"), "t"])]


def test_a_snapshot_sends_every_row_even_the_pushers_own(device: Any) -> None:
    phone = _v2(device)
    answer = phone.sync([phone.op("tag.add", cred=cred_of("a"), tag="t", dot=None)], cursor=None)
    assert answer["reset"] is True and _keys(answer) == [("tag", [cred_of("a"), "t"])]


def test_protocol_2_pages_are_bigger_and_limits_follow_the_version(device: Any) -> None:
    old, new = device(), _v2(device)
    assert old.sync(limit=1000)["has_more"] is False
    assert new.sync(limit=5000)["has_more"] is False
    old.sync(limit=1001, status=422)
    new.sync(limit=5001, status=422)
    new.protocol = 3
    assert new.sync(status=400)
    assert (
        new.client.post(
            "/api/v1/sync",
            json={"protocol": 3, "client_id": new.client_id, "cursor": None, "ops": []},
            headers=new.headers,
        ).json["code"]
        == "sync.protocol_unsupported"
    )


@pytest.fixture
def held(device: Any) -> tuple[Device, dict[str, bytes]]:
    phone = _v2(device)
    raws = [signed_bytes(name=f"Batch {n}") for n in range(3)]
    by_cred = {content_hash(raw): raw for raw in raws}
    phone.sync(
        [phone.op("entry.add", cred=cred, dot=None) for cred in by_cred],
        blobs={cred: base64.b64encode(raw).decode() for cred, raw in by_cred.items()},
    )
    return phone, by_cred


def test_a_binary_batch_carries_the_bytes_as_they_are(held: Any, client: Any) -> None:
    phone, by_cred = held
    unknown = cred_of("never held")
    creds = sorted(by_cred)
    answer = client.post(
        "/api/v1/sync/blobs", json={"creds": [creds[0], unknown, creds[2]]}, headers={**phone.headers, **BINARY}
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"] == BLOB_BATCH_MEDIA_TYPE
    batch = decode_blob_batch(answer.data)
    assert batch.blobs == {creds[0]: by_cred[creds[0]], creds[2]: by_cred[creds[2]]}
    assert (batch.missing, batch.refused, batch.more) == ([unknown], [], False)


def test_all_credentials_come_in_id_order_paged_by_the_byte_budget(held: Any, client: Any, monkeypatch: Any) -> None:
    phone, by_cred = held
    headers = {**phone.headers, **BINARY, "Accept-Encoding": "gzip"}
    whole = client.post("/api/v1/sync/blobs", json={"all": True}, headers=headers)
    assert whole.headers["Content-Encoding"] == "gzip"
    assert decode_blob_batch(gzip.decompress(whole.data)).blobs == by_cred

    monkeypatch.setattr("wallet.api.sync.MAX_BATCH_BYTES", max(map(len, by_cred.values())) + 1)
    received: dict[str, bytes] = {}
    after = None
    for _ in range(5):
        page = decode_blob_batch(
            client.post("/api/v1/sync/blobs", json={"all": True, "after": after}, headers=BINARY | phone.headers).data
        )
        assert len(page.blobs) == 1
        received |= page.blobs
        if not page.more:
            break
        after = max(page.blobs)
    assert received == by_cred and list(received) == sorted(by_cred)


def test_a_binary_batch_serves_only_your_own_credentials(held: Any, device: Any, client: Any) -> None:
    _, by_cred = held
    stranger = _v2(device)
    answer = client.post("/api/v1/sync/blobs", json={"creds": sorted(by_cred)}, headers={**stranger.headers, **BINARY})
    assert decode_blob_batch(answer.data).missing == sorted(by_cred)
    everything = client.post("/api/v1/sync/blobs", json={"all": True}, headers={**stranger.headers, **BINARY})
    assert decode_blob_batch(everything.data).blobs == {}


@pytest.mark.parametrize(
    ("body", "binary"),
    [
        ({"all": True}, False),  # all is for binary batches
        ({"creds": [cred_of("x")] * 101}, False),
        ({"creds": [cred_of("x")] * 1001}, True),
        ({"all": False}, True),
        ({"all": True, "after": "sha256:ABC"}, True),
        ({"all": True, "creds": [cred_of("x")]}, True),
    ],
)
def test_unusable_blob_requests_are_422(held: Any, client: Any, body: dict[str, Any], binary: bool) -> None:
    phone, _ = held
    headers = {**phone.headers, **(BINARY if binary else {})}
    answer = client.post("/api/v1/sync/blobs", json=body, headers=headers)
    assert answer.status_code == 422 and answer.json["code"] == "request.validation_failed"


def test_a_thousand_ids_fit_one_binary_request(held: Any, client: Any) -> None:
    phone, by_cred = held
    asked = [*by_cred, *(cred_of(str(n)) for n in range(997))]
    batch = decode_blob_batch(
        client.post("/api/v1/sync/blobs", json={"creds": asked}, headers={**phone.headers, **BINARY}).data
    )
    assert batch.blobs == by_cred and len(batch.missing) == 997
