"""Helpers for the sync tests: a registered device that pushes ops through the real endpoint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from wallet_protocol.sync import Hlc, send


def cred_of(text: str) -> str:
    """A credential id for a made-up credential (the server need not hold it for metadata ops)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Device:
    """A minimal protocol client: numbers and stamps ops, remembers its cursor."""

    client: Any
    headers: dict[str, str]
    client_id: str
    cursor: str | None = None
    next_op_seq: int = 1
    clock: Hlc | None = None
    now_ms: int = 1_795_000_000_000
    sent: list[dict[str, Any]] = field(default_factory=list)
    protocol: int = 1

    def op(self, type_: str, **fields: Any) -> dict[str, Any]:
        self.clock = send(self.clock, now_ms=self.now_ms, node=self.client_id)
        op = {"type": type_, "op_seq": self.next_op_seq, "hlc": str(self.clock), **fields}
        if "dot" in fields and fields["dot"] is None:
            op["dot"] = [self.client_id, self.next_op_seq]
        self.next_op_seq += 1
        return op

    def sync(
        self,
        ops: list[dict[str, Any]] | None = None,
        *,
        cursor: Any = "keep",
        limit: int | None = None,
        blobs: dict[str, str] | None = None,
        status: int = 200,
    ) -> Any:
        body: dict[str, Any] = {
            "protocol": self.protocol,
            "client_id": self.client_id,
            "cursor": self.cursor if cursor == "keep" else cursor,
            "ops": ops or [],
        }
        if limit is not None:
            body["limit"] = limit
        if blobs:
            body["blobs"] = blobs
        response = self.client.post("/api/v1/sync", json=body, headers=self.headers)
        assert response.status_code == status, response.get_json()
        if status == 200:
            self.cursor = response.json["cursor"]
        return response.json


@pytest.fixture
def device(client: Any, sign_up: Any, clock: Any) -> Any:
    """Register a sync client for a (new or given) learner."""

    def _device(learner: Any = None) -> Device:
        learner = learner or sign_up()
        response = client.post("/api/v1/sync/clients", json={}, headers=learner.headers)
        assert response.status_code == 201, response.json
        return Device(client, learner.headers, response.json["client_id"], now_ms=int(clock.now.timestamp() * 1000))

    return _device
