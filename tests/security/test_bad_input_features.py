"""Bad input at the feature routes: achievement images, credential import and verification, and sync.

Each hostile request gets a clear 4xx problem (for sync ops: the protocol's documented rejection, see
docs/sync.md §8) and leaves stored data as it was — the tests count the rows of every table (rate-limit
counters aside: they count attempts) and compare the stored image, credentials and sync rows.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import struct
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wallet_protocol.sync import send

from tests.holding.factories import METHOD, VC2_CONTEXT, badge, signed, tamper
from wallet.credentials import dataintegrity, multikey
from wallet.credentials.baking import bake_png
from wallet.db import Base

TEN_MB = 10 * 1024 * 1024


def _row_counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {
        table.name: int(db.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
        if table.name != "rate_limit_buckets"
    }


def _assert_problem(response: Any, statuses: set[int]) -> None:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == response.status_code and response.json["code"]


def _png(width: int = 32, height: int = 32) -> bytes:
    output = io.BytesIO()
    Image.new("RGBA", (width, height), (20, 120, 200, 255)).save(output, format="PNG")
    return output.getvalue()


def _chunk(kind: bytes, data: bytes, *, length: int | None = None) -> bytes:
    size = len(data) if length is None else length
    return struct.pack(">I", size) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int, idat: bytes = b"") -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's first bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    body = _chunk(b"IHDR", ihdr) + (_chunk(b"IDAT", idat) if idat else b"")
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def _idat_bomb() -> bytes:
    """1024 x 1024 RGBA is allowed; this IDAT inflates to 64 MB of zeros, 16x what that canvas needs."""
    compressor = zlib.compressobj(9)
    block = b"\x00" * (1 << 20)
    return b"".join(compressor.compress(block) for _ in range(64)) + compressor.flush()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE svg [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://127.0.0.1:9/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>"""

REFUSED_IMAGES: dict[str, bytes] = {
    "decompression bomb header (60000 x 60000 in 70 bytes)": _png_claiming(60_000, 60_000),
    "decompression bomb header (1 x 2^31)": _png_claiming(1, 2**31 - 1),
    "zero-sized canvas": _png_claiming(0, 0),
    "truncated PNG": _png()[:-30],
    "PNG signature only": b"\x89PNG\r\n\x1a\n",
    "PNG header with garbage data": _png_claiming(32, 32, b"\xde\xad\xbe\xef" * 64),
    "IHDR length lying (100 MB)": b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 100_000_000) + b"IHDR" + b"\x00" * 40,
    "SVG billion laughs": BILLION_LAUGHS,
    "SVG XXE (external entity)": XXE,
    "SVG external DTD": EXTERNAL_DTD,
    "SVG without the SVG namespace": b"<svg><script>alert(1)</script></svg>",
    "SVG that is not XML": b"<svg xmlns='http://www.w3.org/2000/svg'><rect",
    "HTML posing as SVG": b"<!-- <svg --><html><script>alert(1)</script></html>",
    "GIF": b"GIF89a" + b"\x00" * 64,
    "over 512 KB": b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024),
}

HOSTILE_SVG_PARTS: dict[str, tuple[bytes, list[bytes]]] = {
    # name: (upload, what must not survive)
    "<script>": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="4"/></svg>',
        [b"script", b"alert"],
    ),
    "onload=": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="4"/></svg>',
        [b"onload", b"alert"],
    ),
    "external href": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<use xlink:href="https://evil.example/s.svg#a"/><image href="https://tracker.example/p.png"/>'
        b'<use href="//evil.example/x"/></svg>',
        [b"evil.example", b"tracker.example", b"<image"],
    ),
    "javascript: link": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><text>x</text></a></svg>',
        [b"javascript", b"<a "],
    ),
    "CSS import and external url()": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/x.css);</style>'
        b'<rect style="fill:url(https://evil.example/p.png)" width="4"/></svg>',
        [b"@import", b"evil.example"],
    ),
    "foreignObject with HTML": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml"'
        b' src="https://evil.example"/></foreignObject></svg>',
        [b"foreignObject", b"iframe", b"evil.example"],
    ),
}


@pytest.fixture
def achievement(client: FlaskClient, organisation: Any) -> dict[str, Any]:
    """An achievement that already has a good PNG image (so "untouched" is observable)."""
    org = organisation()
    created = client.post(
        f"/api/v1/organisations/{org['slug']}/achievements",
        headers=org["admin"].headers,
        json={
            "name": "Soldering basics",
            "description": "A blinking LED kit.",
            "criteria_narrative": "Finish the kit.",
        },
    )
    assert created.status_code == 201, created.json
    path = f"/api/v1/organisations/{org['slug']}/achievements/{created.json['id']}"
    assert (
        client.put(f"{path}/image", data=_png(), content_type="image/png", headers=org["admin"].headers).status_code
        == 200
    )
    return {"path": path, "id": created.json["id"], "headers": org["admin"].headers}


def _stored_image(client: FlaskClient, achievement: dict[str, Any]) -> tuple[bytes, str]:
    served = client.get(f"/achievements/{achievement['id']}/image")
    assert served.status_code == 200
    return served.data, served.mimetype


@pytest.mark.parametrize("case", list(REFUSED_IMAGES))
@pytest.mark.parametrize("declared", ["image/png", "image/svg+xml"])
def test_hostile_images_are_refused_and_the_old_image_stays(
    client: FlaskClient, db: Session, achievement: dict[str, Any], case: str, declared: str
) -> None:
    before = (_row_counts(db), _stored_image(client, achievement))

    response = client.put(
        f"{achievement['path']}/image", data=REFUSED_IMAGES[case], content_type=declared, headers=achievement["headers"]
    )

    _assert_problem(response, {413, 422})
    if response.status_code == 422:
        assert response.json["code"] == "achievement.invalid_image" and response.json["reason"]
    assert (_row_counts(db), _stored_image(client, achievement)) == before


def test_an_idat_that_inflates_past_its_canvas_is_decoded_only_as_far_as_the_canvas(
    client: FlaskClient, achievement: dict[str, Any]
) -> None:
    """64 MB of zeros behind an allowed 1024 x 1024 header: Pillow stops at the 4 MB the canvas needs, and
    what is stored is the re-encoded canvas, not the bomb."""
    bomb = _png_claiming(1024, 1024, _idat_bomb())

    response = client.put(
        f"{achievement['path']}/image", data=bomb, content_type="image/png", headers=achievement["headers"]
    )

    assert response.status_code in (200, 422), response.json
    stored, _ = _stored_image(client, achievement)
    assert Image.open(io.BytesIO(stored)).size in {(32, 32), (1024, 1024)}
    assert len(stored) < 100 * 1024


@pytest.mark.parametrize("case", list(HOSTILE_SVG_PARTS))
def test_active_or_external_svg_content_never_reaches_the_stored_image(
    client: FlaskClient, achievement: dict[str, Any], case: str
) -> None:
    upload, forbidden = HOSTILE_SVG_PARTS[case]

    response = client.put(
        f"{achievement['path']}/image", data=upload, content_type="image/svg+xml", headers=achievement["headers"]
    )

    if response.status_code == 200:  # sanitised: what is stored and served is the cleaned drawing
        stored, mimetype = _stored_image(client, achievement)
        assert mimetype == "image/svg+xml"
        assert [part for part in forbidden if part.lower() in stored.lower()] == []
    else:
        _assert_problem(response, {422})


# --- Credentials: import and verify ---------------------------------------------------------------------


def _forged_with_another_key() -> dict[str, Any]:
    """Signed by an attacker's key, but naming our issuer's verification method."""
    attacker = ed25519.Ed25519PrivateKey.generate()
    return dataintegrity.sign(
        badge(),
        private_key=attacker,
        verification_method=METHOD,
        created="2026-01-15T09:00:00Z",
        cryptosuite="eddsa-rdfc-2022",
    )


def _self_issued_in_our_issuers_name() -> dict[str, Any]:
    """Validly signed by the attacker's own did:key, claiming our issuer as ``issuer``."""
    attacker = ed25519.Ed25519PrivateKey.generate()
    return dataintegrity.sign(
        badge(),
        private_key=attacker,
        verification_method=multikey.verification_method_id(attacker),
        created="2026-01-15T09:00:00Z",
        cryptosuite="eddsa-rdfc-2022",
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_alg_none() -> bytes:
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"iss": badge()["issuer"]["id"], "vc": badge(), **badge()}).encode())
    return f"{header}.{payload}.".encode()


def _jwt_with_garbage_signature() -> bytes:
    header = _b64url(json.dumps({"alg": "EdDSA", "typ": "vc+jwt", "kid": METHOD}).encode())
    payload = _b64url(json.dumps(badge()).encode())
    return f"{header}.{payload}.{_b64url(b'x' * 64)}".encode()


def _png_with_huge_itxt_length() -> bytes:
    png = _png()
    # After the 8-byte signature and the 25-byte IHDR chunk: an iTXt chunk that claims 100 MB.
    return (
        png[:33]
        + struct.pack(">I", 100 * 1024 * 1024)
        + b"iTXt"
        + b"openbadgecredential\x00\x00\x00\x00\x00{"
        + png[33:]
    )


def _png_with_compressed_itxt_bomb() -> bytes:
    bomb = zlib.compress(b"{" + b" " * (50 * 1024 * 1024), 9)
    data = b"openbadgecredential\x00\x01\x00\x00\x00" + bomb
    png = _png()
    return png[:33] + _chunk(b"iTXt", data) + png[33:]


def _deep_json_ld(depth: int) -> bytes:
    """A credential whose achievement nests ``depth`` levels deep (written as text: json cannot)."""
    document = {**badge(), "proof": signed(badge())["proof"]}
    document["credentialSubject"]["achievement"] = "@@DEEP@@"
    deep = '{"type": ["Achievement"], "name": "level", "achievement": ' * depth + '{"name": "leaf"}' + "}" * depth
    return json.dumps(document).replace('"@@DEEP@@"', deep).encode()


HOSTILE_CREDENTIALS: dict[str, tuple[bytes, str]] = {
    # name: (body, content type)
    "JSON array": (b"[1, 2, 3]", "application/json"),
    "JSON number": (b"42", "application/json"),
    "JSON string": (b'"OpenBadgeCredential"', "application/json"),
    "type is a number": (json.dumps({**signed(badge()), "type": 42}).encode(), "application/json"),
    "credentialSubject is a string": (json.dumps(badge(credentialSubject="me")).encode(), "application/json"),
    "issuer is a list": (json.dumps(badge(issuer=["a", "b"])).encode(), "application/json"),
    "@context is an object": (json.dumps(badge(**{"@context": {"a": "b"}})).encode(), "application/json"),
    "no proof at all": (json.dumps(badge()).encode(), "application/json"),
    "tampered after signing": (json.dumps(tamper(signed(badge()))).encode(), "application/json"),
    "forged with another key": (json.dumps(_forged_with_another_key()).encode(), "application/json"),
    "self-signed in another issuer's name": (
        json.dumps(_self_issued_in_our_issuers_name()).encode(),
        "application/json",
    ),
    "proofValue is garbage": (
        json.dumps({**signed(badge()), "proof": {**signed(badge())["proof"], "proofValue": "z!!!"}}).encode(),
        "application/json",
    ),
    "unknown context": (
        json.dumps(badge(**{"@context": [VC2_CONTEXT, "https://evil.example/context.jsonld"]})).encode(),
        "application/json",
    ),
    "inline context redefining terms": (
        json.dumps(badge(**{"@context": [VC2_CONTEXT, {"name": "https://evil.example/name"}]})).encode(),
        "application/json",
    ),
    "10 MB string": (json.dumps(badge(name="n" * TEN_MB)).encode(), "application/json"),
    "1.9 MB name under the body limit": (json.dumps(signed(badge(name="n" * 1_900_000))).encode(), "application/json"),
    "JSON-LD nested 150 levels": (_deep_json_ld(150), "application/json"),
    "JSON-LD nested 900 levels": (_deep_json_ld(900), "application/json"),
    "JSON-LD nested 5000 levels": (_deep_json_ld(5000), "application/json"),
    "JWT whose payload nests 100k arrays": (
        (
            _b64url(b'{"alg":"EdDSA"}') + "." + _b64url(b'{"vc": ' + b"[" * 100_000 + b"]" * 100_000 + b"}") + ".x"
        ).encode(),
        "application/jwt",
    ),
    "100k nested arrays": (b'{"@context": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
    "invalid UTF-8": (b'{"@context": "\xff\xfe"}', "application/json"),
    "NaN": (b'{"@context": NaN}', "application/json"),
    "JWT with alg none": (_jwt_alg_none(), "application/jwt"),
    "JWT with a garbage signature": (_jwt_with_garbage_signature(), "application/jwt"),
    "JWT that is three dots": (b"...", "application/jwt"),
    "JWT with a 1 MB header": (_b64url(b"{" + b" " * 1_000_000 + b"}").encode() + b".e30.", "application/jwt"),
    "baked PNG with a 100 MB iTXt length": (_png_with_huge_itxt_length(), "image/png"),
    "baked PNG whose iTXt inflates to 50 MB": (_png_with_compressed_itxt_bomb(), "image/png"),
    "baked PNG holding a tampered credential": (bake_png(_png(), json.dumps(tamper(signed(badge())))), "image/png"),
    "PNG decompression bomb header": (_png_claiming(60_000, 60_000), "image/png"),
    "truncated PNG": (_png()[:-30], "image/png"),
    "SVG billion laughs": (BILLION_LAUGHS, "image/svg+xml"),
    "SVG XXE": (XXE, "image/svg+xml"),
    "plain text": (b"hello, I am a badge", "text/plain"),
}


def test_a_cryptosuite_we_do_not_implement_is_kept_as_could_not_check(client: FlaskClient, sign_up: Any) -> None:
    """Not evidence against the credential (#11): it is imported, and its verdict says we could not check it."""
    learner = sign_up()
    body = json.dumps({**signed(badge()), "proof": {**signed(badge())["proof"], "cryptosuite": "rot13-2024"}})

    response = client.post(
        "/api/v1/credentials/import", data=body, headers={**learner.headers, "Content-Type": "application/json"}
    )
    verified = client.post("/api/v1/verify", data=body, headers={**learner.headers, "Content-Type": "application/json"})

    assert response.status_code == 201, response.json
    assert verified.json["outcome"] == "indeterminate"
    assert "proof.cryptosuite_unsupported" in verified.json["reasons"]


@pytest.mark.parametrize("case", list(HOSTILE_CREDENTIALS))
def test_hostile_credentials_are_not_imported(client: FlaskClient, db: Session, sign_up: Any, case: str) -> None:
    learner = sign_up()
    body, content_type = HOSTILE_CREDENTIALS[case]
    before = _row_counts(db)

    response = client.post(
        "/api/v1/credentials/import", data=body, headers={**learner.headers, "Content-Type": content_type}
    )

    _assert_problem(response, {400, 413, 415, 422})
    assert _row_counts(db) == before


@pytest.mark.parametrize("case", list(HOSTILE_CREDENTIALS))
def test_hostile_credentials_never_verify_and_nothing_is_kept(
    client: FlaskClient, db: Session, sign_up: Any, case: str
) -> None:
    learner = sign_up()
    body, content_type = HOSTILE_CREDENTIALS[case]
    before = _row_counts(db)

    response = client.post("/api/v1/verify", data=body, headers={**learner.headers, "Content-Type": content_type})

    if response.status_code == 200:  # a report: it must say so plainly, never "valid"
        assert response.json["outcome"] in {"invalid", "indeterminate"}, response.json
        assert any(check["outcome"] == "failed" for check in response.json["checks"]) or (
            response.json["outcome"] == "indeterminate"
        )
    else:
        _assert_problem(response, {400, 413, 415, 422})
    assert _row_counts(db) == before


# --- Sync batches -------------------------------------------------------------------------------------------


class Device:
    """A minimal protocol client (docs/sync.md) that can also send what a broken or hostile one would."""

    def __init__(self, client: FlaskClient, headers: dict[str, str], client_id: str, now_ms: int) -> None:
        self.client = client
        self.headers = headers
        self.client_id = client_id
        self.now_ms = now_ms
        self.stamp: Any = None

    def hlc(self, *, now_ms: int | None = None) -> str:
        self.stamp = send(self.stamp, now_ms=now_ms or self.now_ms, node=self.client_id)
        return str(self.stamp)

    def folder(self, op_seq: int, name: str = "Work", **override: Any) -> dict[str, Any]:
        return {
            "type": "collection.create",
            "op_seq": op_seq,
            "hlc": self.hlc(),
            "coll": str(uuid.uuid4()),
            "name": name,
            **override,
        }

    def sync(self, ops: list[Any], **envelope: Any) -> Any:
        body = {"protocol": 1, "client_id": self.client_id, "cursor": None, "ops": ops, **envelope}
        return self.client.post("/api/v1/sync", json=body, headers=self.headers)

    def post_raw(self, data: bytes, **headers: str) -> Any:
        return self.client.post(
            "/api/v1/sync", data=data, headers={**self.headers, "Content-Type": "application/json", **headers}
        )


@pytest.fixture
def new_device(client: FlaskClient, sign_up: Any, clock: Any) -> Callable[..., Device]:
    def _device(learner: Any = None) -> Device:
        learner = learner or sign_up()
        registered = client.post("/api/v1/sync/clients", json={}, headers=learner.headers)
        assert registered.status_code == 201
        return Device(client, learner.headers, registered.json["client_id"], int(clock.now.timestamp() * 1000))

    return _device


def _sync_state(db: Session) -> tuple[dict[str, int], list[Any]]:
    from wallet.models import SyncClient, SyncRow

    db.expire_all()
    rows = db.execute(
        select(SyncRow.account_id, SyncRow.kind, SyncRow.row_id, SyncRow.seq).order_by(
            SyncRow.account_id, SyncRow.kind, SyncRow.row_id
        )
    ).all()
    clients = db.execute(select(SyncClient.id, SyncClient.last_op_seq).order_by(SyncClient.id)).all()
    return _row_counts(db), [rows, clients]


def test_ops_for_another_learners_client_are_refused_whole(new_device: Callable[..., Device], db: Session) -> None:
    victim = new_device()
    attacker = new_device()
    before = _sync_state(db)

    stolen = Device(attacker.client, attacker.headers, victim.client_id, attacker.now_ms)
    response = stolen.sync([stolen.folder(1, "Mine now")])

    _assert_problem(response, {403, 404})
    assert _sync_state(db) == before


def test_a_clock_far_in_the_future_is_a_transient_rejection_and_nothing_is_applied(
    new_device: Callable[..., Device], db: Session
) -> None:
    device = new_device()
    before = _sync_state(db)
    year_2286 = "9999999999999-0000-" + device.client_id

    response = device.sync([device.folder(1, hlc=year_2286), device.folder(2)])

    assert response.status_code == 200
    assert response.json["acked_op_seq"] == 0
    assert [(r["op_seq"], r["code"]) for r in response.json["rejected"]] == [(1, "op.clock_skew")]
    assert _sync_state(db) == before


@pytest.mark.parametrize(
    "stamp",
    [
        "99999999999999999999-0000-{id}",
        "-000000000001-0000-{id}",
        "0000000000001-99999-{id}",
        "1763800000000-0000-",
        "not a clock",
    ],
)
def test_malformed_clocks_are_rejected_permanently(new_device: Callable[..., Device], db: Session, stamp: str) -> None:
    device = new_device()
    before = _sync_state(db)

    response = device.sync([device.folder(1, hlc=stamp.format(id=device.client_id))])

    assert response.status_code == 200
    assert [(r["op_seq"], r["code"]) for r in response.json["rejected"]] == [(1, "op.bad_hlc")]
    counts, (rows, _clients) = _sync_state(db)
    assert (counts, rows) == (before[0], before[1][0])


def test_a_clock_far_in_the_past_cannot_overwrite_a_newer_value(new_device: Callable[..., Device]) -> None:
    device = new_device()
    coll = str(uuid.uuid4())
    device.sync([{"type": "collection.create", "op_seq": 1, "hlc": device.hlc(), "coll": coll, "name": "Work"}])

    old = f"0000000000001-0000-{device.client_id}"
    response = device.sync(
        [{"type": "collection.set", "op_seq": 2, "hlc": old, "coll": coll, "field": "name", "value": "Hijacked"}]
    )

    assert response.status_code == 200 and response.json["acked_op_seq"] == 2
    names = [c["s"]["name"][0] for c in response.json["changes"] if c["k"] == "collection"]
    assert names == ["Work"]


def test_an_op_seq_gap_stops_at_the_gap_and_a_replay_applies_nothing_twice(
    new_device: Callable[..., Device], db: Session
) -> None:
    from wallet.models import SyncRow

    device = new_device()
    batch = [device.folder(1, "One"), device.folder(2, "Two"), device.folder(5, "Five")]

    first = device.sync(batch)
    replayed = device.sync(batch)

    assert first.json["acked_op_seq"] == 2 and replayed.json["acked_op_seq"] == 2
    assert replayed.json["next_op_seq"] == 3
    names = sorted(c["s"]["name"][0] for c in replayed.json["changes"] if c["k"] == "collection")
    assert names == ["One", "Two"]
    assert db.scalar(select(func.count()).select_from(SyncRow).where(SyncRow.kind == "collection")) == 2


HOSTILE_OPS: dict[str, tuple[Callable[[Device], dict[str, Any] | Any], str]] = {
    "unknown op type": (lambda d: {**d.folder(1), "type": "wallet.drop_all"}, "op.unknown_type"),
    "op is not an object": (lambda d: {"op_seq": 1, "type": 7, "hlc": d.hlc()}, "op.unknown_type"),
    "server-only action result": (
        lambda d: {
            "type": "row.merge",
            "op_seq": 1,
            "hlc": d.hlc(),
            "k": "action_result",
            "id": ["a1"],
            "s": {"action": "claim.redeem", "status": "done", "code": None, "result": {"cred": "x"}, "t": d.hlc()},
        },
        "op.server_only",
    ),
    "unknown field": (lambda d: {**d.folder(1), "owner": "someone-else"}, "op.unknown_field"),
    "dot of another client": (
        lambda d: {
            "type": "tag.add",
            "op_seq": 1,
            "hlc": d.hlc(),
            "cred": "sha256:" + "a" * 64,
            "tag": "x",
            "dot": [str(uuid.uuid4()), 1],
        },
        "op.foreign_dot",
    ),
    "stamp of another client": (lambda d: d.folder(1, hlc=f"{d.now_ms:013d}-0000-{uuid.uuid4()}"), "op.foreign_hlc"),
    "10 KB collection name": (lambda d: d.folder(1, "n" * 10_000), "op.too_large"),
    "entry.add without the credential's bytes": (
        lambda d: {
            "type": "entry.add",
            "op_seq": 1,
            "hlc": d.hlc(),
            "cred": "sha256:" + "b" * 64,
            "dot": [d.client_id, 1],
        },
        "credential.blob_missing",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_OPS))
def test_hostile_ops_are_rejected_with_their_code_and_apply_nothing(
    new_device: Callable[..., Device], db: Session, case: str
) -> None:
    from wallet.models import SyncRow

    device = new_device()
    make, code = HOSTILE_OPS[case]
    before = db.scalar(select(func.count()).select_from(SyncRow))

    response = device.sync([make(device)])

    assert response.status_code == 200, response.json
    assert [(r["op_seq"], r["code"]) for r in response.json["rejected"]] == [(1, code)]
    assert response.json["acked_op_seq"] == 1  # permanent: the device drops it
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SyncRow)) == before


def _gzip_bomb() -> bytes:
    raw = b'{"protocol": 1, "client_id": "x", "cursor": null, "ops": [], "pad": "' + b" " * (200 * 1024 * 1024)
    return gzip.compress(raw + b'"}', compresslevel=9)


ENVELOPES: dict[str, tuple[Callable[[Device], Any], set[int]]] = {
    "10 000 ops": (lambda d: d.sync([d.folder(n) for n in range(1, 10_001)]), {413}),
    "truncated gzip body": (
        lambda d: d.post_raw(gzip.compress(json.dumps({"protocol": 1}).encode())[:-8], **{"Content-Encoding": "gzip"}),
        {400},
    ),
    "gzip bomb (200 MB of spaces)": (lambda d: d.post_raw(_gzip_bomb(), **{"Content-Encoding": "gzip"}), {413}),
    "gzip header only": (
        lambda d: d.post_raw(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", **{"Content-Encoding": "gzip"}),
        {400},
    ),
    "brotli claimed": (lambda d: d.post_raw(b"{}", **{"Content-Encoding": "br"}), {400, 415}),
    "protocol 99": (lambda d: d.sync([], protocol=99), {400}),
    "op_seq as a string": (lambda d: d.sync([{**d.folder(1), "op_seq": "1"}]), {422}),
    "op_seq beyond 2^53": (lambda d: d.sync([{**d.folder(1), "op_seq": 2**60}]), {422}),
    "ops is an object": (lambda d: d.sync({"1": d.folder(1)}), {422}),  # type: ignore[arg-type]
    "client id that is not a UUID": (lambda d: d.sync([], client_id="../../etc/passwd"), {404, 422}),
    "51 blobs": (lambda d: d.sync([], blobs={f"sha256:{n:064x}": "AA==" for n in range(51)}), {413, 422}),
    "limit of a million": (lambda d: d.sync([], limit=1_000_000), {422}),
    "invalid UTF-8": (lambda d: d.post_raw(b'{"protocol": 1, "client_id": "\xff"}'), {400}),
    "deep nesting inside an op": (
        lambda d: d.post_raw(
            b'{"protocol": 1, "client_id": "' + d.client_id.encode() + b'", "cursor": null,'
            b' "ops": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
        ),
        {400, 422},
    ),
}


@pytest.mark.parametrize("case", list(ENVELOPES))
def test_hostile_sync_envelopes_are_refused_whole(new_device: Callable[..., Device], db: Session, case: str) -> None:
    device = new_device()
    before = _sync_state(db)
    send_it, statuses = ENVELOPES[case]

    response = send_it(device)

    _assert_problem(response, statuses)
    assert _sync_state(db) == before


@pytest.mark.parametrize("name", ["a\u0000b", "\ud800", "\udc00x", "\u202eevil", "\u0007bell"])
def test_unstorable_or_control_characters_in_an_op_are_rejected_or_stored_never_a_500(
    new_device: Callable[..., Device], name: str
) -> None:
    """NUL (PostgreSQL text cannot hold it), lone surrogates (not UTF-8 at all), bidi and control characters."""
    device = new_device()
    op = json.dumps(device.folder(1, "PLACEHOLDER")).replace("PLACEHOLDER", json.dumps(name)[1:-1])

    response = device.post_raw(
        b'{"protocol": 1, "client_id": "'
        + device.client_id.encode()
        + b'", "cursor": null, "ops": ['
        + op.encode()
        + b"]}"
    )

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.json["acked_op_seq"] == 1
    assert [r["code"] for r in response.json["rejected"]] in ([], ["op.bad_value"], ["op.too_large"])
    follow_up = device.sync([device.folder(2, "Work")])
    assert follow_up.status_code == 200 and follow_up.json["acked_op_seq"] == 2


def test_an_op_with_a_value_nested_900_levels_is_a_rejected_op_not_a_crash(
    new_device: Callable[..., Device], db: Session
) -> None:
    from wallet.models import SyncRow

    device = new_device()
    op = json.dumps(device.folder(1)).encode().replace(b'"Work"', b"[" * 900 + b"]" * 900)
    before = db.scalar(select(func.count()).select_from(SyncRow))

    response = device.post_raw(
        b'{"protocol": 1, "client_id": "' + device.client_id.encode() + b'", "cursor": null, "ops": [' + op + b"]}"
    )

    assert response.status_code == 200, response.json
    assert [r["code"].startswith("op.") for r in response.json["rejected"]] == [True]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SyncRow)) == before


def test_a_sane_batch_still_syncs_after_all_that(new_device: Callable[..., Device]) -> None:
    device = new_device()
    for case in ("truncated gzip body", "10 000 ops"):
        ENVELOPES[case][0](device)

    response = device.sync([device.folder(1, "Work"), device.folder(2, "College")])

    assert response.status_code == 200 and response.json["acked_op_seq"] == 2
    assert sorted(c["s"]["name"][0] for c in response.json["changes"] if c["k"] == "collection") == ["College", "Work"]


def test_the_credential_hash_in_a_blob_must_match(new_device: Callable[..., Device], db: Session) -> None:
    from wallet.models import HeldCredential

    device = new_device()
    raw = json.dumps(signed(badge())).encode()
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()

    response = device.sync(
        [{"type": "entry.add", "op_seq": 1, "hlc": device.hlc(), "cred": wrong, "dot": [device.client_id, 1]}],
        blobs={wrong: base64.b64encode(raw).decode()},
    )

    assert [(r["op_seq"], r["code"]) for r in response.json["rejected"]] == [(1, "credential.hash_mismatch")]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(HeldCredential)) == 0
