"""Project-local ``Api`` and ``Blueprint``: the decorators both enforce and document."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import g, request
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from wallet.api.problems import PROBLEM_CONTENT_TYPE, ProblemSchema, default_code, problem_response
from wallet.errors import DomainError

BEARER = "bearerAuth"


class WalletApi(flask_smorest.Api):
    """flask-smorest's Api with problem+json errors (flask-smorest#310) in behaviour and in the spec."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        import http

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = PROBLEM_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Any:  # type: ignore[override]
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages")
        code = default_code(status)
        detail = data.get("message") or error.description
        if status == 400 and messages and "json" in messages and messages["json"] == ["Invalid JSON body."]:
            code, detail, messages = "request.invalid_json", "The request body is not valid JSON.", None
        if status == 422:
            detail = "Some fields are missing or invalid; see `errors`."
        if status >= 500:
            detail = "Something went wrong on our side. It has been logged; try again later."
        headers = dict(data.get("headers") or {})
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return problem_response(status, code, detail, errors=messages, headers=headers,
                                request_id=g.get("request_id"))


def handle_domain_error(error: DomainError) -> Any:
    headers = {}
    retry_after = error.extra.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return problem_response(error.status, error.code, error.detail, headers=headers,
                            request_id=g.get("request_id"), **error.extra)


class Blueprint(flask_smorest.Blueprint):
    """A Blueprint whose ``login_required`` checks the bearer token and documents it."""

    def login_required(self, view: Callable[..., Any]) -> Callable[..., Any]:
        from wallet.api.context import authenticate_request

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate_request()
            return view(*args, **kwargs)

        documented = self.doc(security=[{BEARER: []}])(wrapper)
        return self.alt_response(401, description="Missing, invalid or expired access token")(documented)

    def accepts(self, *mimetypes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare request body types other than JSON (checked before the view; 415 otherwise)."""

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            view._wallet_accepts = frozenset(mimetypes)  # type: ignore[attr-defined]
            return view

        return decorator


def check_request_content_type(view_function: Callable[..., Any] | None) -> None:
    """415 for a body whose type the view does not take (JSON unless ``accepts`` says otherwise)."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding") == "chunked"
    if not has_body:
        return
    accepted = getattr(view_function, "_wallet_accepts", None) or frozenset({"application/json"})
    if request.mimetype not in accepted:
        raise DomainError("request.unsupported_media_type",
                          f"Send the body as {' or '.join(sorted(accepted))}, not {request.mimetype or 'untyped'}.")
