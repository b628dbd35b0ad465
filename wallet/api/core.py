"""Project-local ``Api`` and ``Blueprint``: the decorators both enforce and document."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import flask
import flask_smorest
from flask import g, request
from flask_smorest.utils import prepare_response
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from wallet.errors import DomainError
from wallet.web.problems import PROBLEM_CONTENT_TYPE, ProblemSchema, default_code, problem_response

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

    def _openapi_swagger_ui(self) -> str:
        """/docs without inline script, so it works under the Content-Security-Policy (see wallet.api.docs)."""
        from flask import url_for

        from wallet.api.docs import render_swagger_ui

        return render_swagger_ui(
            title=self.spec.title,
            spec_url=url_for(f"{self._make_doc_blueprint_name()}.openapi_json"),
            assets_url=self._swagger_ui_url,
            config=self.config.get("OPENAPI_SWAGGER_UI_CONFIG", {}),
        )

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
        return problem_response(status, code, detail, errors=messages, headers=headers, request_id=g.get("request_id"))


def handle_domain_error(error: DomainError) -> Any:
    headers = {}
    retry_after = error.extra.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return problem_response(
        error.status, error.code, error.detail, headers=headers, request_id=g.get("request_id"), **error.extra
    )


MAX_JSON_DEPTH = 64
MAX_PAGE = 1_000_000


def load_request_json(data: bytes) -> Any:
    """Parse a JSON request body, refusing with 400 ``request.invalid_json`` what would fail later as a 500.

    That is: nesting deeper than :data:`MAX_JSON_DEPTH` (the parser itself raises ``RecursionError`` on
    100 000 nested arrays, and anything a little shallower than its limit breaks the first recursive
    code that meets it), and strings that no database can store — NUL characters (PostgreSQL text) and
    unpaired surrogates such as ``"\\ud800"`` (not encodable as UTF-8 at all).
    """
    try:
        value = webargs_core.parse_json(data)
    except json.JSONDecodeError:
        raise DomainError("request.invalid_json", "The request body is not valid JSON.") from None
    except RecursionError:
        raise DomainError(
            "request.invalid_json", f"The request body is nested more than {MAX_JSON_DEPTH} levels deep."
        ) from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_storable(item)
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise DomainError(
                    "request.invalid_json", f"The request body is nested more than {MAX_JSON_DEPTH} levels deep."
                )
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value


def _check_storable(text: str) -> None:
    if "\x00" in text:
        raise DomainError("request.invalid_json", "Text in the request body must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DomainError(
            "request.invalid_json", "Text in the request body contains an unpaired UTF-16 surrogate."
        ) from None


class WalletParser(FlaskParser):
    """webargs' parser with :func:`load_request_json` for JSON bodies."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return webargs_core.missing
        return load_request_json(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """A Blueprint whose ``login_required`` checks the bearer token and documents it."""

    ARGUMENTS_PARSER = WalletParser()

    def login_required(self, view: Callable[..., Any]) -> Callable[..., Any]:
        from wallet.web.context import authenticate_request

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate_request()
            return view(*args, **kwargs)

        wrapper._wallet_login_required = True  # type: ignore[attr-defined]
        documented = self.doc(security=[{BEARER: []}])(wrapper)
        return self.alt_response(401, description="Missing, invalid or expired access token")(documented)

    def paginate(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's pagination, with ``page`` capped at :data:`MAX_PAGE`.

        flask-smorest bounds ``page_size`` but not ``page``, and ``page=10**22`` became an OFFSET that
        neither SQLite nor PostgreSQL can hold: a 500 found by the fuzzer. Now it is a 422.
        """
        paginate = super().paginate(*args, **kwargs)

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            paginated = paginate(view)

            @functools.wraps(paginated)
            def wrapper(*view_args: Any, **view_kwargs: Any) -> Any:
                page = request.args.get("page", "")
                if page.strip().lstrip("+-").isdigit() and int(page) > MAX_PAGE:
                    raise DomainError(
                        "request.validation_failed",
                        f"`page` is at most {MAX_PAGE}.",
                        errors={"query": {"page": [f"Must be at most {MAX_PAGE}."]}},
                    )
                return paginated(*view_args, **view_kwargs)

            return wrapper

        return decorator

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
    if getattr(view_function, "_wallet_login_required", False) and not request.headers.get("Authorization"):
        return  # an anonymous caller hears 401 from login_required, not 415 about a body it may not send
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding") == "chunked"
    if not has_body:
        return
    accepted = getattr(view_function, "_wallet_accepts", None) or frozenset({"application/json"})
    if request.mimetype not in accepted:
        raise DomainError(
            "request.unsupported_media_type",
            f"Send the body as {' or '.join(sorted(accepted))}, not {request.mimetype or 'untyped'}.",
        )
