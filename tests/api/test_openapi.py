"""The OpenAPI document is valid and complete, and /docs works without the internet."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate


def test_the_openapi_document_is_valid(client: Any) -> None:
    spec = client.get("/openapi.json").json
    validate(spec)


def test_every_operation_has_a_summary_responses_and_error_shape(client: Any) -> None:
    spec = client.get("/openapi.json").json
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    for path, method, op in operations:
        assert op.get("summary"), f"{method.upper()} {path} has no summary"
        assert "default" in op["responses"], f"{method.upper()} {path} documents no error response"
        if "requestBody" in op:
            assert "422" in op["responses"], f"{method.upper()} {path} does not document validation errors"
        if op.get("security"):
            assert "401" in op["responses"], f"{method.upper()} {path} does not document 401"
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert "application/problem+json" in problem


def test_docs_page_loads_its_assets_from_this_server(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs-assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    asset = client.get("/docs-assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.data) > 100_000
