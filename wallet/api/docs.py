"""The interactive API documentation at /docs, made to run under the strict Content-Security-Policy.

flask-smorest's Swagger UI page starts the UI with an inline ``<script>``, which ``script-src 'self'``
forbids. This page loads the same locally served Swagger UI assets plus a small initializer script from
this package; the spec URL and UI settings travel in ``data-`` attributes instead of inline code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template

docs = Blueprint(
    "wallet_docs", __name__, template_folder="templates", static_folder="static", static_url_path="/docs-static"
)


def render_swagger_ui(*, title: str, spec_url: str, assets_url: str, config: dict[str, Any]) -> str:
    return render_template(
        "wallet_docs/swagger_ui.html",
        title=title,
        spec_url=spec_url,
        swagger_ui_url=assets_url,
        swagger_ui_config=config,
    )


def register(app: Flask) -> None:
    app.register_blueprint(docs)
