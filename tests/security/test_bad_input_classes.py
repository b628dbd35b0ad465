"""Bad input by class, generated from the app itself so a new route or field cannot be forgotten.

- NUL in every path parameter of every route (the URL map), every query parameter and every JSON string
  field of every operation (the OpenAPI document) and every field of every HTML form (the pages' forms).
- Malformed keys: every path parameter given identifiers no route can hold (10 KB, invalid UTF-8,
  ``..``, numbers past 2^63, a UUID one digit too long).
- Every date-time field at its extremes: ``0001-01-01T00:00:00+14:00`` and ``9999-12-31T23:59:59-14:00``
  are valid ISO 8601 but fall outside years 1-9999 in UTC, which the database layer stores.
- Every number field at ±1e300 and NaN.

Each is answered with a clean 4xx (problem+json on the API, the OAuth error shape on the OpenID4VCI
endpoints) and no table's row count changes; run on SQLite and on PostgreSQL (scripts/test does both).
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.security.test_bad_input_features import _row_counts

NUL = "a\x00b"
DATE_TIME_EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
MALFORMED_KEYS = {
    "10 KB": "k" * 10_000,
    "invalid UTF-8": "%ff%fe",
    "dot-dot": "..%2f..",
    "past 2^63": "99999999999999999999",
    "UUID one digit too long": "ffffffff-ffff-ffff-ffff-ffffffffffff0",
    "quote and space": "x'%20OR%201=1--",
}
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PARAMETER = re.compile(r"<(?:([^:>]+):)?([^>]+)>")


def _app_surface() -> tuple[dict[str, Any], list[tuple[str, str, tuple[str, ...]]]]:
    """The OpenAPI document and every (method, rule, parameter names) of the URL map, read at collection."""
    from wallet.app import create_app
    from wallet.config import Settings

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(Settings(instance_path=instance, log_level="WARNING", log_json=False))
        spec = json.loads(app.test_client().get("/openapi.json").get_data())
        rules = [
            (method, rule.rule, tuple(rule.arguments))
            for rule in app.url_map.iter_rules()
            for method in HTTP_METHODS
            if method in (rule.methods or set()) and rule.arguments
        ]
        app.extensions["wallet"].engine.dispose()
    return spec, sorted(set(rules))


SPEC, RULES = _app_surface()


def schema_ref_parts(ref: str) -> list[str]:
    return ref.removeprefix("#/").split("/")


def _deref(schema: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 10:
        target: Any = SPEC
        for part in schema_ref_parts(schema["$ref"]):
            target = target[part]
        schema, seen = target, seen + 1
    return schema


def _kinds(schema: dict[str, Any]) -> set[str]:
    """ "string", "date-time", "number" for a property schema (nullable types and anyOf included)."""
    schema = _deref(schema)
    types = schema.get("type", [])
    types = set(types if isinstance(types, list) else [types])
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        types |= _kinds(option)
    if schema.get("format") == "date-time":
        return {"date-time"}
    kinds = {"number"} if types & {"integer", "number"} else set()
    return kinds | ({"string"} if "string" in types else set())


def _fields() -> list[tuple[str, str, str, str, str]]:
    """(method, path, location, field, kind) for every query parameter and JSON body property."""
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method.upper() not in HTTP_METHODS:
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    for kind in _kinds(parameter["schema"]):
                        found.append((method.upper(), path, "query", parameter["name"], kind))
            content = operation.get("requestBody", {}).get("content", {})
            body = _deref(content.get("application/json", {}).get("schema", {}))
            for name, schema in body.get("properties", {}).items():
                for kind in _kinds(schema):
                    found.append((method.upper(), path, "json", name, kind))
    return found


FIELDS = _fields()


@pytest.fixture
def org(organisation: Any) -> dict[str, Any]:
    return organisation("bad-class-org")


def _fill(rule: str, target: str | None, value: str, slug: str) -> str:
    def replace(match: re.Match[str]) -> str:
        converter, name = match[1], match[2]
        if name == target:
            return value
        if name == "slug":
            return slug
        if converter == "uuid":
            return str(uuid.uuid4())
        return "1" if converter == "int" else "x"

    return _PARAMETER.sub(replace, rule).replace("{", "<").replace("}", ">")


def _assert_clean_refusal(response: Any, statuses: set[int] | None = None, *, path: str) -> None:
    status = response.status_code
    assert 400 <= status < 500 and (statuses is None or status in statuses), (path, status, response.data[:300])
    if path.startswith(("/api/", "/oid4vci/")) or response.mimetype != "text/html":  # HTML pages: an error page
        assert response.mimetype in {"application/problem+json", "application/json"}, (path, response.mimetype)
        assert response.json["code"], response.json


def _send(client: FlaskClient, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    return client.open(path, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize(("method", "rule", "names"), RULES, ids=[f"{m} {r}" for m, r, _ in RULES])
def test_nul_or_a_malformed_key_in_any_path_parameter_is_a_clean_4xx(
    client: FlaskClient, db: Session, org: dict[str, Any], method: str, rule: str, names: tuple[str, ...]
) -> None:
    before = _row_counts(db)
    for headers in ({}, org["admin"].headers):
        for name in names:
            path = _fill(rule, name, "a%00b", org["slug"])
            response = _send(client, method, path, headers, json={})
            _assert_clean_refusal(response, {400}, path=path)
            assert response.json["code"] == "request.malformed", response.json
            for value in MALFORMED_KEYS.values():
                path = _fill(rule, name, value, org["slug"])
                _assert_clean_refusal(_send(client, method, path, headers, json={}), path=path)
    assert _row_counts(db) == before


# Sync parses its own envelope (docs/sync.md: protocol first, gzip, ops rejected one by one); NUL in an
# op is an ``op.bad_value`` rejection (tests/security/test_bad_input_features.py), in the envelope any
# clean 4xx.
OWN_PARSERS = {"/api/v1/sync"}
BASE_BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/sync": {"protocol": 1, "client_id": "00000000-0000-4000-8000-000000000000", "cursor": None, "ops": []},
}


def _body_or_query(location: str, field: str, value: Any, *, path: str = "") -> dict[str, Any]:
    if location == "query":
        return {"query_string": {field: value}}
    body = {**BASE_BODIES.get(path, {}), field: value}
    return {"data": json.dumps(body), "content_type": "application/json"}


def _concrete(path: str, slug: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: slug if m[1] == "slug" else str(uuid.uuid4()), path)


STRING_FIELDS = [f for f in FIELDS if f[4] == "string"]
DATE_TIME_FIELDS = [f for f in FIELDS if f[4] == "date-time"]
NUMBER_FIELDS = [f for f in FIELDS if f[4] == "number"]


def _ids(fields: list[tuple[str, str, str, str, str]]) -> list[str]:
    return [f"{m} {p} {loc}.{name}" for m, p, loc, name, _ in fields]


@pytest.mark.parametrize(("method", "path", "location", "field", "kind"), STRING_FIELDS, ids=_ids(STRING_FIELDS))
def test_nul_in_any_query_parameter_or_json_string_field_is_refused(
    client: FlaskClient, db: Session, org: dict[str, Any], method: str, path: str, location: str, field: str, kind: str
) -> None:
    before = _row_counts(db)
    url = _concrete(path, org["slug"])

    response = _send(client, method, url, org["admin"].headers, **_body_or_query(location, field, NUL, path=path))

    if path in OWN_PARSERS:
        _assert_clean_refusal(response, path=url)
    else:
        _assert_clean_refusal(response, {400}, path=url)
        assert response.json["code"] in {"request.malformed", "request.invalid_json"}, response.json
        assert "NUL" in response.json["detail"]
    assert _row_counts(db) == before


@pytest.mark.parametrize("value", DATE_TIME_EXTREMES)
@pytest.mark.parametrize(("method", "path", "location", "field", "kind"), DATE_TIME_FIELDS, ids=_ids(DATE_TIME_FIELDS))
def test_every_date_time_field_at_its_extremes_is_a_422_naming_the_field(
    client: FlaskClient,
    db: Session,
    org: dict[str, Any],
    method: str,
    path: str,
    location: str,
    field: str,
    kind: str,
    value: str,
) -> None:
    before = _row_counts(db)
    url = _concrete(path, org["slug"])

    response = _send(client, method, url, org["admin"].headers, **_body_or_query(location, field, value, path=path))

    _assert_clean_refusal(response, {422}, path=url)
    assert field in response.json["errors"][location], response.json
    assert _row_counts(db) == before


@pytest.mark.parametrize("value", ["1e300", "-1e300", "NaN"])
@pytest.mark.parametrize(("method", "path", "location", "field", "kind"), NUMBER_FIELDS, ids=_ids(NUMBER_FIELDS))
def test_every_number_field_at_plus_minus_1e300_or_nan_is_refused_naming_the_field(
    client: FlaskClient,
    db: Session,
    org: dict[str, Any],
    method: str,
    path: str,
    location: str,
    field: str,
    kind: str,
    value: str,
) -> None:
    before = _row_counts(db)
    url = _concrete(path, org["slug"])
    if location == "query":
        response = _send(client, method, url, org["admin"].headers, query_string={field: value})
    else:  # the raw token: 1e300 and NaN as JSON numbers, not strings
        response = _send(
            client, method, url, org["admin"].headers, data=f'{{"{field}": {value}}}', content_type="application/json"
        )

    _assert_clean_refusal(response, {400, 422}, path=url)
    if response.status_code == 422:
        assert field in response.json["errors"][location], response.json
    assert _row_counts(db) == before


def test_the_catalogue_found_the_fields_the_issue_names() -> None:
    """The generated lists are not empty by accident: they hold the fields the attack used."""
    assert {("query", "issued_after"), ("query", "issued_before"), ("json", "expires_at"), ("json", "ends_at")} <= {
        (loc, name) for _m, _p, loc, name, _k in DATE_TIME_FIELDS
    }
    assert {("query", "q"), ("query", "issuer"), ("json", "display_name")} <= {
        (loc, name) for _m, _p, loc, name, _k in STRING_FIELDS
    }
    assert {("json", "cap")} <= {(loc, name) for _m, _p, loc, name, _k in NUMBER_FIELDS}
    assert {"slug", "code", "credential_id"} <= {name for _m, _r, names in RULES for name in names}


# --- HTML forms ------------------------------------------------------------------------------------------


def _forms(html: str) -> list[tuple[str, dict[str, str]]]:
    """(action, {field: value}) of every POST form on a page."""
    forms = []
    for attributes, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", html, flags=re.S | re.I):
        if not re.search(r'method="post"', attributes, flags=re.I):
            continue
        action = re.search(r'action="([^"]*)"', attributes)
        fields = {
            name: value for name, value in re.findall(r'<input\b[^>]*name="([^"]+)"(?:[^>]*value="([^"]*)")?', body)
        }
        forms.append((action[1] if action else "", fields))
    return forms


def test_nul_in_any_field_of_any_page_form_is_refused_and_stores_nothing(
    client: FlaskClient, db: Session, organisation: Any, clock: Any
) -> None:
    from tests.claims.conftest import Venue, make_achievement

    org = organisation()
    venue = Venue(client, org, make_achievement(db, org, now=clock.now), clock)
    code = venue.qr(venue.open(pin="2468"))["token"]
    pages = [f"/c/{code}", "/code"]
    checked = []
    before = _row_counts(db)
    for page in pages:
        for action, fields in _forms(client.get(page).get_data(as_text=True)):
            names = set(fields) | ({"display_name"} if action.endswith("/sign-up") else set())
            for name in sorted(names - {"csrf_token"}):
                filled = {"username": "nul-robin", "password": "correct horse battery", **fields, name: NUL}
                response = client.post(action or page, data=filled)
                assert response.status_code == 400, (action, name, response.data[:200])
                assert "NUL" in response.json["detail"], (action, name)
                checked.append((action, name))
    assert _row_counts(db) == before
    assert any(name == "display_name" for _action, name in checked) and len(checked) >= 5, checked
