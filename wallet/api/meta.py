"""Operational endpoints and the documentation's assets: health, readiness, problem types, /docs."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, send_from_directory
from wallet_protocol.errors import ERROR_CODES

from wallet.web import context
from wallet.web.problems import problem_response

meta = Blueprint("meta", __name__)


@meta.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers. Says nothing about the database (that is /readyz)."""
    return jsonify(status="ok")


@meta.get("/readyz")
def readyz() -> Response:
    """Ready: the database answers. Load balancers stop sending traffic when this fails."""
    try:
        # A raw DBAPI connection: no transaction is begun, so a busy writer cannot stall the probe.
        connection = context.state().engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            connection.close()
    except Exception:  # any failure means not ready
        return problem_response(
            503, "server.unavailable", "The database is not reachable.", headers={"Retry-After": "5"}
        )
    return jsonify(status="ready", database="ok")


@meta.get("/problems/<code>")
def problem_type(code: str) -> Response:
    """What a problem ``type`` URI means; every code the API can return is listed here."""
    entry = ERROR_CODES.get(code)
    if entry is None:
        return problem_response(404, "request.not_found", f"No problem type {code!r}.")
    return jsonify(code=entry.code, status=entry.status, title=entry.title)


@meta.get("/problems")
def problem_types() -> Response:
    return jsonify([{"code": e.code, "status": e.status, "title": e.title} for e in ERROR_CODES.values()])


@meta.get("/docs-assets/<path:filename>")
def docs_assets(filename: str) -> Response:
    """Swagger UI served from the installed package, so /docs works with no internet.

    The assets come from ``swagger-ui-py``, which ships Swagger UI 5 (the first to read OpenAPI 3.1;
    ``swagger-ui-bundle``'s 4.15 refuses this spec).
    """
    from importlib import resources

    response = send_from_directory(str(resources.files("swagger_ui") / "static"), filename, max_age=86400)
    return response


def register(app: Flask) -> None:
    app.register_blueprint(meta)
