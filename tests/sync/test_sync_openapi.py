"""The OpenAPI document of /api/v1/sync is the wire format: the same fields, the same required set, the
same limits as ``wallet_protocol.sync.wire`` (which the server's parser and the SDK both use)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from wallet_protocol.sync import wire


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    assert name in schemas, sorted(schemas)
    schema: dict[str, Any] = schemas[name]
    return schema


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json
    return document


def test_the_documented_sync_request_has_exactly_the_wire_fields(client: FlaskClient) -> None:
    schema = _schema(_document(client), "SyncRequest")
    assert set(schema["properties"]) == wire.REQUEST_FIELDS
    assert set(schema.get("required", [])) == wire.REQUIRED_REQUEST_FIELDS
    assert schema.get("additionalProperties") is False  # the parser refuses unknown fields too


def test_the_documented_sync_response_and_rejection_have_exactly_the_wire_fields(client: FlaskClient) -> None:
    document = _document(client)
    assert set(_schema(document, "SyncResponse")["properties"]) == wire.RESPONSE_FIELDS
    assert set(_schema(document, "Rejection")["properties"]) >= wire.REJECTION_FIELDS


def test_the_documented_page_limit_is_the_wire_limit(client: FlaskClient) -> None:
    limit = _schema(_document(client), "SyncRequest")["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"]) == (1, wire.MAX_LIMIT_V2)  # protocol 2 pages; 1 keeps its own cap


def test_the_documented_ops_bound_is_the_wire_bound(client: FlaskClient) -> None:
    ops = _schema(_document(client), "SyncRequest")["properties"]["ops"]
    assert f"at most {wire.MAX_OPS_PER_REQUEST}" in ops["description"]
