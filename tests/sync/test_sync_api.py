"""The sync endpoint as a device sees it: one round trip pushes ops and pulls merged rows."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import uuid
from typing import Any

from sqlalchemy import select, update
from wallet_protocol.sync import view
from wallet_protocol.sync.ops import SERVER_ACTIONS
from wallet_protocol.sync.state import state_from_wire

from tests.holding.factories import signed_bytes, tamper
from tests.sync.conftest import Device, cred_of
from wallet.changelog import changes
from wallet.holding.summary import content_hash
from wallet.models import SyncClient, SyncRow, SyncWallet
from wallet.sync import actions
from wallet.sync.compaction import compact


def _view(changes_list: list[dict[str, Any]]) -> dict[str, Any]:
    return view(state_from_wire(changes_list))


def _account(learner_headers: dict[str, str], client: Any) -> uuid.UUID:
    return uuid.UUID(client.get("/api/v1/me", headers=learner_headers).json["id"])


def test_a_second_device_sees_the_first_devices_edits(device: Any, sign_up: Any) -> None:
    sam = sign_up("sam")
    phone, tablet = device(sam), device(sam)
    cred = cred_of("welding")
    phone.sync(
        [
            phone.op("tag.add", cred=cred, tag="Robotics", dot=None),
            phone.op("collection.create", coll=str(uuid.UUID(int=1)), name="Best"),
        ]
    )

    pulled = tablet.sync()

    assert pulled["reset"] is True
    kinds = sorted(change["k"] for change in pulled["changes"])
    assert kinds == ["collection", "tag"]
    assert _view(pulled["changes"])["collections"][0]["name"] == "Best"


def test_replaying_a_request_applies_its_ops_once(device: Any) -> None:
    phone = device()
    cred = cred_of("a")
    ops = [
        phone.op("entry.set", cred=cred, field="note", value="first"),
        phone.op("tag.add", cred=cred, tag="x", dot=None),
    ]
    first = phone.sync(ops, cursor=None)
    replay = phone.sync(ops, cursor=None)

    assert first["acked_op_seq"] == replay["acked_op_seq"] == 2
    assert replay["changes"] == first["changes"]
    assert [c["seq"] for c in replay["changes"]] == [c["seq"] for c in first["changes"]]


def test_a_gap_stops_processing_and_acks_the_prefix(device: Any) -> None:
    phone = device()
    cred = cred_of("a")
    one, two, three = (phone.op("tag.add", cred=cred, tag=f"t{i}", dot=None) for i in range(3))

    answer = phone.sync([one, three])

    assert answer["acked_op_seq"] == 1
    assert answer["next_op_seq"] == 2
    assert [c["id"][1] for c in answer["changes"]] == ["t0"]
    later = phone.sync([two, three])
    assert later["acked_op_seq"] == 3
    assert sorted(c["id"][1] for c in later["changes"]) == ["t1", "t2"]


def test_invalid_ops_are_rejected_with_a_code_and_still_acked(device: Any) -> None:
    phone = device()
    cred = cred_of("a")
    bad_cred = phone.op("entry.set", cred="sha256:nothex", field="note", value="x")
    unknown = phone.op("entry.explode", cred=cred)
    foreign = phone.op("tag.add", cred=cred, tag="x", dot=["someone-else", 3])
    good = phone.op("tag.add", cred=cred, tag="ok", dot=None)

    answer = phone.sync([bad_cred, unknown, foreign, good])

    assert answer["acked_op_seq"] == 4
    assert [(r["op_seq"], r["code"]) for r in answer["rejected"]] == [
        (1, "op.bad_cred"),
        (2, "op.unknown_type"),
        (3, "op.foreign_dot"),
    ]
    assert len(answer["changes"]) == 1


def test_an_add_of_a_credential_the_server_never_saw_needs_its_bytes(device: Any) -> None:
    phone = device()
    answer = phone.sync([phone.op("entry.add", cred=cred_of("unknown"), dot=None)])
    assert answer["rejected"][0]["code"] == "credential.blob_missing"
    assert answer["acked_op_seq"] == 1


def test_a_credential_imported_offline_is_verified_held_and_served_by_hash(
    device: Any, client: Any, sign_up: Any
) -> None:
    sam = sign_up()
    phone, tablet = device(sam), device(sam)
    raw = signed_bytes(name="Soldering")
    cred = content_hash(raw)

    answer = phone.sync([phone.op("entry.add", cred=cred, dot=None)], blobs={cred: base64.b64encode(raw).decode()})

    assert answer["rejected"] == []
    assert _view(answer["changes"])["credentials"][0]["cred"] == cred
    pulled = tablet.sync()
    assert sorted((c["k"], c["id"]) for c in pulled["changes"]) == [("entry", [cred]), ("facts", [cred])]
    facts = _view(pulled["changes"])["credentials"][0]["facts"]
    assert facts["outcome"] in {"valid", "indeterminate"}
    assert facts["checks"]["proof"] == "passed"
    blob = client.get(f"/api/v1/sync/blobs/{cred}", headers=tablet.headers)
    assert blob.status_code == 200
    assert blob.data == raw
    assert "immutable" in blob.headers["Cache-Control"]
    again = client.get(f"/api/v1/sync/blobs/{cred}", headers={**tablet.headers, "If-None-Match": blob.headers["ETag"]})
    assert again.status_code == 304
    stranger = device()
    assert client.get(f"/api/v1/sync/blobs/{cred}", headers=stranger.headers).status_code == 404


def test_tampered_or_mismatched_blobs_are_rejected(device: Any) -> None:
    phone = device()
    forged = json.dumps(tamper(json.loads(signed_bytes(name="Forged")))).encode()
    honest = signed_bytes(name="Honest")
    answer = phone.sync(
        [
            phone.op("entry.add", cred=content_hash(forged), dot=None),
            phone.op("entry.add", cred=cred_of("other"), dot=None),
        ],
        blobs={
            content_hash(forged): base64.b64encode(forged).decode(),
            cred_of("other"): base64.b64encode(honest).decode(),
        },
    )
    assert [r["code"] for r in answer["rejected"]] == ["credential.invalid", "credential.hash_mismatch"]
    assert answer["changes"] == []


def test_changes_are_paged_and_the_cursor_resumes(device: Any, sign_up: Any) -> None:
    sam = sign_up()
    phone, tablet = device(sam), device(sam)
    cred = cred_of("a")
    phone.sync([phone.op("tag.add", cred=cred, tag=f"tag {i}", dot=None) for i in range(7)])

    seen: list[str] = []
    pages = 0
    while True:
        page = tablet.sync(limit=3)
        pages += 1
        seen += [c["id"][1] for c in page["changes"]]
        if not page["has_more"]:
            break
    assert pages == 3
    assert sorted(seen) == sorted(f"tag {i}" for i in range(7))
    assert tablet.sync()["changes"] == []


def test_gzip_both_ways(device: Any, client: Any) -> None:
    phone = device()
    body = {
        "protocol": 1,
        "client_id": phone.client_id,
        "cursor": None,
        "ops": [phone.op("tag.add", cred=cred_of("a"), tag=f"tag number {i}", dot=None) for i in range(30)],
    }
    response = client.post(
        "/api/v1/sync",
        data=gzip.compress(json.dumps(body).encode()),
        headers={
            **phone.headers,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip",
        },
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    answer = json.loads(gzip.decompress(response.data))
    assert answer["acked_op_seq"] == 30


def _post_gzip(client: Any, device: Device, data: bytes) -> Any:
    return client.post(
        "/api/v1/sync",
        data=data,
        headers={**device.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )


def test_a_truncated_gzip_body_is_a_400_problem(device: Any, client: Any) -> None:
    phone = device()
    whole = gzip.compress(json.dumps({"protocol": 1, "client_id": phone.client_id, "cursor": None, "ops": []}).encode())
    response = _post_gzip(client, phone, whole[: len(whole) // 2])
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "request.malformed"


def test_a_gzip_bomb_is_refused_as_too_large(device: Any, client: Any) -> None:
    phone = device()
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    assert len(bomb) < 200_000
    response = _post_gzip(client, phone, bomb)
    assert response.status_code == 413
    assert response.json["code"] == "request.too_large"


def test_too_many_ops_is_413_so_the_device_halves_its_batch(device: Any) -> None:
    phone = device()
    ops = [phone.op("entry.set", cred=cred_of("a"), field="pinned", value=True) for _ in range(501)]
    answer = phone.sync(ops, status=413)
    assert answer["code"] == "sync.too_many_ops"


def test_another_learners_client_is_refused(device: Any, sign_up: Any, client: Any) -> None:
    alice_phone = device()
    bob = sign_up()
    response = client.post(
        "/api/v1/sync",
        headers=bob.headers,
        json={
            "protocol": 1,
            "client_id": alice_phone.client_id,
            "cursor": None,
            "ops": [alice_phone.op("entry.set", cred=cred_of("a"), field="note", value="bob was here")],
        },
    )
    assert response.status_code == 404
    assert response.json["code"] == "sync.client_unknown"
    taken = client.post("/api/v1/sync/clients", headers=bob.headers, json={"client_id": alice_phone.client_id})
    assert taken.status_code == 409


def test_registering_the_same_client_twice_is_harmless(device: Any, client: Any) -> None:
    phone = device()
    phone.sync([phone.op("entry.set", cred=cred_of("a"), field="note", value="x")])
    again = client.post("/api/v1/sync/clients", headers=phone.headers, json={"client_id": phone.client_id})
    assert again.status_code == 201
    assert again.json["next_op_seq"] == 2


def test_a_cursor_from_another_epoch_resets_before_applying_any_op(device: Any, db: Any, client: Any) -> None:
    phone = device()
    phone.sync([phone.op("tag.add", cred=cred_of("a"), tag="kept", dot=None)])
    wallet = db.scalar(select(SyncWallet))
    wallet.epoch = str(uuid.uuid4())
    db.commit()

    answer = phone.sync([phone.op("tag.add", cred=cred_of("a"), tag="later", dot=None)])

    assert answer["reset"] is True and answer["reregister"] is True
    assert answer["acked_op_seq"] == 1
    assert [row.row_id for row in db.scalars(select(SyncRow))] == [
        json.dumps([cred_of("a"), "kept"], separators=(",", ":"))
    ]


def test_a_garbled_cursor_gets_a_snapshot(device: Any) -> None:
    phone = device()
    phone.sync([phone.op("tag.add", cred=cred_of("a"), tag="x", dot=None)])
    answer = phone.sync(cursor="not-a-cursor")
    assert answer["reset"] is True
    assert len(answer["changes"]) == 1


def test_a_device_clock_days_ahead_is_refused_until_it_restamps(device: Any) -> None:
    phone = device()
    phone.now_ms += 3 * 86_400_000
    skewed = phone.op("entry.set", cred=cred_of("a"), field="note", value="from the future")
    answer = phone.sync([skewed])
    assert answer["rejected"][0]["code"] == "op.clock_skew"
    assert answer["acked_op_seq"] == 0
    restamped = {**skewed, "hlc": f"{answer['server_hlc'][:13]}-0001-{phone.client_id}"}
    assert phone.sync([restamped])["acked_op_seq"] == 1


def test_server_changes_reach_every_device(device: Any, db: Any, sign_up: Any, client: Any, clock: Any) -> None:
    sam = sign_up()
    phone = device(sam)
    account_id = _account(sam.headers, client)
    cred = cred_of("claimed")
    changes.record_entry_added(db, account_id=account_id, cred_hash=cred, now=clock.now)
    changes.record_server_facts(db, account_id=account_id, cred_hash=cred, facts={"outcome": "valid"}, now=clock.now)
    db.commit()

    pulled = phone.sync()
    by_kind = {c["k"]: c for c in pulled["changes"]}
    assert by_kind["entry"]["s"]["dots"] == [["server", 1]]
    assert by_kind["facts"]["s"]["facts"] == {"outcome": "valid"}
    assert _view(pulled["changes"])["credentials"][0]["facts"] == {"outcome": "valid"}
    assert pulled["missing_blobs"] == [cred]

    changes.record_entry_removed(db, account_id=account_id, cred_hash=cred, now=clock.now)
    db.commit()
    removed = {c["k"]: c["s"] for c in phone.sync()["changes"]}
    assert removed["entry"]["dots"] == []
    assert removed["facts"]["facts"] is None


def test_facts_follow_the_later_check_and_unchanged_facts_make_no_change(
    device: Any, db: Any, sign_up: Any, client: Any, clock: Any
) -> None:
    sam = sign_up()
    phone = device(sam)
    account_id = _account(sam.headers, client)
    cred = cred_of("rechecked")
    changes.record_entry_added(db, account_id=account_id, cred_hash=cred, now=clock.now)
    changes.record_server_facts(db, account_id=account_id, cred_hash=cred, facts={"outcome": "valid"}, now=clock.now)
    db.commit()
    phone.sync()

    clock.advance(minutes=5)
    same = changes.record_server_facts(
        db, account_id=account_id, cred_hash=cred, facts={"outcome": "valid"}, now=clock.now
    )
    db.commit()
    assert same is None
    assert phone.sync()["changes"] == []

    revoked = {"outcome": "invalid", "checks": {"status": "failed"}, "checked_at": clock.now.isoformat()}
    changes.record_server_facts(db, account_id=account_id, cred_hash=cred, facts=revoked, now=clock.now)
    db.commit()
    pulled = phone.sync()
    assert [c["k"] for c in pulled["changes"]] == ["facts"]
    assert pulled["changes"][0]["s"]["facts"] == revoked


def test_a_device_may_not_write_facts(device: Any) -> None:
    phone = device()
    raw = {"k": "facts", "id": [cred_of("a")], "s": {"facts": {"outcome": "valid"}, "t": "1795000000000-0000-x"}}
    answer = phone.sync([phone.op("row.merge", **raw)])
    assert answer["rejected"][0]["code"] == "op.server_only"
    assert answer["changes"] == []


def test_facts_of_a_removed_credential_are_cleared_and_compacted(
    device: Any, db: Any, sign_up: Any, client: Any, clock: Any
) -> None:
    sam = sign_up()
    phone = device(sam)
    account_id = _account(sam.headers, client)
    cred = cred_of("removed on the phone")
    add = changes.record_entry_added(db, account_id=account_id, cred_hash=cred, now=clock.now)
    changes.record_server_facts(db, account_id=account_id, cred_hash=cred, facts={"outcome": "valid"}, now=clock.now)
    db.commit()
    phone.sync()

    answer = phone.sync([phone.op("entry.remove", cred=cred, observed=[list(add.dot)])])
    cleared = {c["k"]: c["s"] for c in answer["changes"]}
    assert cleared["facts"]["facts"] is None

    assert compact(db, now=clock.now).purged_rows == 2
    db.commit()
    assert db.scalars(select(SyncRow)).all() == []


def test_the_server_performs_every_server_action_of_the_protocol(app: Any) -> None:
    assert set(app.extensions["wallet"].actions) == set(SERVER_ACTIONS)


def test_server_actions_without_a_handler_are_rejected_clearly(app: Any, device: Any, monkeypatch: Any) -> None:
    monkeypatch.delitem(app.extensions["wallet"].actions, "claim.redeem")
    phone = device()
    answer = phone.sync([phone.op("claim.redeem", action_id="claim-1", code="K7Q-M3X-PDR", scanned_at=1)])
    assert answer["rejected"][0]["code"] == actions.UNSUPPORTED


def test_server_actions_run_their_handler_and_report_the_outcome(app: Any, device: Any, monkeypatch: Any) -> None:
    def redeem(
        db: Any, *, account_id: uuid.UUID, op: Any, now: dt.datetime, fetcher: Any, claim_guard: Any = None
    ) -> dict[str, Any]:
        if op.code == "BAD":
            from wallet.errors import DomainError

            raise DomainError("claim.unknown_code")
        return {"badge": "Welding"}

    monkeypatch.setitem(app.extensions["wallet"].actions, "claim.redeem", redeem)
    phone = device()
    answer = phone.sync(
        [
            phone.op("claim.redeem", action_id="ok", code="GOOD", scanned_at=1),
            phone.op("claim.redeem", action_id="no", code="BAD", scanned_at=1),
        ]
    )
    shown = {a["action_id"]: a for a in _view(answer["changes"])["actions"]}
    assert shown["ok"]["status"] == "done" and shown["ok"]["result"] == {"badge": "Welding"}
    assert shown["no"]["status"] == "failed" and shown["no"]["code"] == "claim.unknown_code"


def test_compaction_purges_seen_tombstones_and_resets_long_absent_devices(
    device: Any, sign_up: Any, db: Any, clock: Any
) -> None:
    sam = sign_up()
    phone, old_tablet = device(sam), device(sam)
    cred = cred_of("a")
    add = phone.op("tag.add", cred=cred, tag="gone", dot=None)
    phone.sync([add])
    old_tablet.sync()
    phone.sync([phone.op("tag.remove", cred=cred, tag="gone", observed=[add["dot"]])])
    db.execute(
        update(SyncClient)
        .where(SyncClient.id == uuid.UUID(old_tablet.client_id))
        .values(last_seen_at=clock.now - dt.timedelta(days=100))
    )

    report = compact(db, now=clock.now, horizon=dt.timedelta(days=90))
    db.commit()

    assert report.purged_rows == 1
    assert db.scalars(select(SyncRow)).all() == []
    pending = old_tablet.op("tag.add", cred=cred, tag="written offline", dot=None)
    answer = old_tablet.sync([pending])
    assert answer["reset"] is True
    assert answer["acked_op_seq"] == 1
    assert [c["id"][1] for c in answer["changes"]] == ["written offline"]


def test_compaction_waits_for_active_devices(device: Any, sign_up: Any, db: Any, clock: Any) -> None:
    sam = sign_up()
    phone, tablet = device(sam), device(sam)
    cred = cred_of("a")
    tablet.sync()
    add = phone.op("tag.add", cred=cred, tag="gone", dot=None)
    phone.sync([add, phone.op("tag.remove", cred=cred, tag="gone", observed=[add["dot"]])])

    assert compact(db, now=clock.now).purged_rows == 0
    tablet.sync()
    assert compact(db, now=clock.now).purged_rows == 1


def test_credential_bytes_come_in_batches_of_up_to_100(device: Any, client: Any) -> None:
    phone = device()
    raws = [signed_bytes(name=f"Batch {n}") for n in range(2)]
    creds = [content_hash(raw) for raw in raws]
    phone.sync(
        [phone.op("entry.add", cred=cred, dot=None) for cred in creds],
        blobs={cred: base64.b64encode(raw).decode() for cred, raw in zip(creds, raws, strict=True)},
    )
    unknown = cred_of("never held")

    answer = client.post(
        "/api/v1/sync/blobs",
        json={"creds": [creds[0], unknown, creds[1], creds[0]]},
        headers={**phone.headers, "Accept-Encoding": "gzip"},
    )

    assert answer.status_code == 200
    assert answer.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(answer.data))
    assert {cred: base64.b64decode(text) for cred, text in body["blobs"].items()} == dict(zip(creds, raws, strict=True))
    assert body["missing"] == [unknown]
    for bad in ([], [unknown] * 101, ["sha256:ABC"], "sha256:" + "0" * 64):
        refused = client.post("/api/v1/sync/blobs", json={"creds": bad}, headers=phone.headers)
        assert refused.status_code == 422, bad
    operation = client.get("/openapi.json").json["paths"]["/api/v1/sync/blobs"]["post"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("BlobBatch")
