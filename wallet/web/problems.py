"""RFC 9457 problem details: the one shape every error response takes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, json
from wallet_protocol.errors import ERROR_CODES

PROBLEM_CONTENT_TYPE = "application/problem+json"

_STATUS_CODES = {
    400: "request.malformed",
    401: "auth.required",
    403: "auth.forbidden",
    404: "request.not_found",
    405: "request.method_not_allowed",
    406: "request.not_acceptable",
    409: "request.conflict",
    412: "request.precondition_failed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "request.validation_failed",
    429: "request.rate_limited",
    503: "server.unavailable",
}


def default_code(status: int) -> str:
    return _STATUS_CODES.get(status, "server.internal_error" if status >= 500 else "request.malformed")


def problem_type(code: str) -> str:
    """A dereferenceable type URI: ``/problems/<code>`` explains the code."""
    return f"/problems/{code}"


def problem_body(status: int, code: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    entry = ERROR_CODES.get(code)
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": entry.title if entry else code,
        "status": status,
        "detail": detail or (entry.title if entry else code),
        "code": code,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def problem_response(
    status: int, code: str, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = problem_body(status, code, detail, **extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ProblemSchema(ma.Schema):
    """Documentation of the problem+json body (RFC 9457) with the wallet's extensions."""

    type = ma.fields.String(
        metadata={
            "description": "URI reference identifying the problem type",
            "example": "/problems/claim.session_full",
        }
    )
    title = ma.fields.String(
        metadata={
            "description": "Short summary of the problem type",
            "example": "This claim session has no badges left",
        }
    )
    status = ma.fields.Integer(metadata={"description": "HTTP status code", "example": 409})
    detail = ma.fields.String(metadata={"description": "Explanation of this occurrence"})
    code = ma.fields.String(
        metadata={"description": "Stable machine-readable error code", "example": "claim.session_full"}
    )
    errors = ma.fields.Dict(
        metadata={"description": "Per-field messages for validation errors: location → field → messages"}
    )
    request_id = ma.fields.String(metadata={"description": "Request id, also in the X-Request-Id header"})
    retry_after = ma.fields.Integer(metadata={"description": "Seconds to wait before retrying (429/503)"})
