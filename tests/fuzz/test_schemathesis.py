"""The API survives fuzzing: schemathesis generates valid and invalid requests for every operation in
``/openapi.json`` and sends them, as a learner, a youth worker and an organisation admin, through the WSGI
app inside the test's rolled-back transaction.

Checks on every response: no 5xx; the status code, content type and body are the documented ones; every
error is ``application/problem+json`` with its stable ``code``.

One test per (operation, role), so a failure names its operation. The default run is bounded for CI;
``WALLET_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/fuzz`` searches harder (see docs/security.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from wallet.web.problems import PROBLEM_CONTENT_TYPE

EXAMPLES = int(os.environ.get("WALLET_FUZZ_EXAMPLES", "25"))
ROLES = ("learner", "youth_worker", "org_admin")
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


def _documented_operations() -> list[tuple[str, str]]:
    """Every (METHOD, path) in the spec, read at collection time from an app that touches no database."""
    from wallet.app import create_app
    from wallet.config import Settings

    with tempfile.TemporaryDirectory() as instance:
        app = create_app(Settings(instance_path=instance, log_level="WARNING", log_json=False))
        spec = json.loads(app.test_client().get("/openapi.json").get_data())
        app.extensions["wallet"].engine.dispose()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS]


OPERATIONS = _documented_operations()


def error_is_problem_json(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx is RFC 9457 problem+json whose ``status`` matches and whose ``code`` is set."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM_CONTENT_TYPE, (
        f"{response.status_code} answered as {content_type!r}, not problem+json"
    )
    body = json.loads(response.content)
    assert isinstance(body.get("code"), str) and body["code"], f"problem without a code: {body}"
    assert body.get("status") == response.status_code, f"problem status {body.get('status')} != HTTP status"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_is_problem_json,
]


@pytest.fixture
def principals(sign_up: Any, organisation: Any) -> dict[str, Any]:
    org = organisation("fuzz-makerspace")
    return {
        "learner": sign_up("fuzz-learner"),
        "youth_worker": org["worker"],
        "org_admin": org["admin"],
        "slug": org["slug"],
    }


def _known_path_parameters(principals: dict[str, Any], role: str) -> dict[str, str]:
    """Real identifiers, so generated requests also reach past the "not found" answers."""
    me = principals[role]
    return {
        "slug": principals["slug"],
        "device_id": me.device_id,
        "account_id": principals["youth_worker"].account_id,
        "username": principals["youth_worker"].username,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_survives_fuzzing(app: Flask, principals: dict[str, Any], role: str, method: str, path: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operation = schema[path][method]
    names = {parameter.name for parameter in operation.path_parameters}
    known = {name: value for name, value in _known_path_parameters(principals, role).items() if name in names}
    # The WSGI client hands schemathesis the body as sent, without undoing Content-Encoding, so ask for
    # identity; gzip negotiation itself is tested in tests/sync.
    headers = {"Authorization": f"Bearer {principals[role].access_token}", "Accept-Encoding": "identity"}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    if known:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    cases = st.one_of(strategies)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=cases)
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    fuzz()
