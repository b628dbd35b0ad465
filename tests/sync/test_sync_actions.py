"""Server actions queued offline are performed at the next sync, and their outcome comes back."""

from __future__ import annotations

import uuid
from typing import Any

from tests.holding.conftest import server  # noqa: F401 - a local JSON server on 127.0.0.1
from tests.holding.factories import json_reply, signed_bytes, status_list_credential
from tests.sync.conftest import device  # noqa: F401
from wallet.holding.summary import content_hash


def test_an_import_by_url_queued_offline_lands_in_the_wallet_at_the_next_sync(
    device: Any,  # noqa: F811
    server: Any,  # noqa: F811
    client: Any,
    sign_up: Any,
) -> None:
    sam = sign_up()
    server.routes["/status/1"] = json_reply(status_list_credential(server.url("/status/1"), revoked=False))
    raw = signed_bytes(status_url=server.url("/status/1"))
    server.routes["/badges/1"] = (200, {"Content-Type": "application/json"}, raw)
    phone = device(sam)
    action_id = str(uuid.uuid4())

    answer = phone.sync([phone.op("import.url", action_id=action_id, url=server.url("/badges/1"))])

    assert answer["rejected"] == []
    results = [c for c in answer["changes"] if c["k"] == "action_result"]
    assert [r["s"]["status"] for r in results] == ["done"], results
    assert results[0]["s"]["result"]["cred"] == content_hash(raw)
    entries = [c["id"] for c in answer["changes"] if c["k"] == "entry"]
    assert [content_hash(raw)] in entries
    held = client.get("/api/v1/credentials", headers=sam.headers).json
    assert len(held) == 1
