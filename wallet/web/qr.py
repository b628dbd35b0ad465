"""QR images as HTTP responses, for the API (a session's shared QR) and the pages (the display screen)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from wallet.errors import DomainError


def qr_image_response(data: str, *, fmt: str, query: dict[str, Any]) -> Response:
    """The QR for ``data`` as PNG or SVG, with a strong ETag (304 when unchanged)."""
    from wallet.qr.render import QrOptions, etag_for, render

    try:
        options = QrOptions(fmt, query["box_size"], query["border"], query["error_correction"])  # type: ignore[arg-type]
        etag = etag_for(data, options)
        if request.if_none_match.contains(etag.strip('"')):
            response = Response(status=304)
        else:
            response = Response(render(data, options), mimetype=options.media_type)
    except ValueError as error:
        raise DomainError("request.validation_failed", str(error)) from error
    response.set_etag(etag.strip('"'))
    response.headers["Cache-Control"] = "private, no-cache"
    return response
