"""Public issuer documents that credentials point at: issuer profiles with their keys, achievements and
their images, and signed revocation status lists. No sign-in: verifiers anywhere must be able to read them.

These answer JSON for now; HTML for people arrives with the public pages.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from flask import Response, request
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.errors import DomainError
from wallet.issuing import achievements
from wallet.issuing.credentials import achievement_document
from wallet.issuing.profiles import OB_CONTEXT, VC_CONTEXT, profile_document
from wallet.issuing.status import REVOCATION, published_list
from wallet.organisations.services import get_by_slug
from wallet.web import context

blp = Blueprint("issuers", __name__, description="Public documents of issuers (no sign-in)")

JSON_TYPES = ["application/json", "application/ld+json"]
CREDENTIAL_TYPES = [*JSON_TYPES, "application/vc+ld+json", "application/vc"]
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _json(text: str, *, offered: list[str], max_age: int) -> Response:
    """A cacheable JSON response with a strong ETag, 304 when the client already has it."""
    mimetype = request.accept_mimetypes.best_match(offered, default=offered[0]) or offered[0]
    response = Response(text, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Vary"] = "Accept"
    response.set_etag(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return response.make_conditional(request)


@blp.route("/issuers/<slug>")
class IssuerProfile(MethodView):
    @blp.response(
        200,
        description="The OB 3.0 Profile (JSON-LD) with every key the issuer signs with, current and retired",
        content_type="application/ld+json",
    )
    @blp.alt_response(404, description="No such issuer")
    def get(self, slug: str) -> Response:
        """An issuer's profile and keys"""
        db = context.db()
        organisation = get_by_slug(db, slug=slug)
        document = profile_document(db, organisation=organisation, base_url=context.state().settings.base_url)
        return _json(json.dumps(document, ensure_ascii=False), offered=JSON_TYPES, max_age=300)


@blp.route("/achievements/<uuid:achievement_id>")
class PublicAchievement(MethodView):
    @blp.response(200, description="The OB 3.0 Achievement (JSON-LD)", content_type="application/ld+json")
    @blp.alt_response(404, description="No such achievement")
    def get(self, achievement_id: uuid.UUID) -> Response:
        """An achievement's public description"""
        achievement = achievements.public_achievement(context.db(), achievement_id=achievement_id)
        document = {
            "@context": [VC_CONTEXT, OB_CONTEXT],
            **achievement_document(achievement, base_url=context.state().settings.base_url),
        }
        return _json(json.dumps(document, ensure_ascii=False), offered=JSON_TYPES, max_age=300)


@blp.route("/achievements/<uuid:achievement_id>/image")
class PublicAchievementImage(MethodView):
    @blp.response(200, description="The image (PNG or sanitised SVG)", content_type="image/png")
    @blp.alt_response(304, description="Unchanged since the `If-None-Match` ETag")
    @blp.alt_response(404, description="No such achievement, or it has no image")
    def get(self, achievement_id: uuid.UUID) -> Response:
        """An achievement's image"""
        achievement = achievements.public_achievement(context.db(), achievement_id=achievement_id)
        if achievement.image is None or achievement.image_sha256 is None:
            raise DomainError("request.not_found", "This achievement has no image.")
        response = Response(achievement.image, mimetype=achievement.image_media_type)
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if achievement.image_media_type == "image/svg+xml":
            response.headers["Content-Security-Policy"] = SVG_CSP
        response.set_etag(achievement.image_sha256)
        return response.make_conditional(request)


@blp.route("/status/<slug>/revocation/<int(max=2147483647):list_no>")
class RevocationList(MethodView):
    @blp.response(
        200,
        description="A signed BitstringStatusListCredential (VC 2.0, eddsa-rdfc-2022)",
        content_type="application/ld+json",
    )
    @blp.alt_response(304, description="Unchanged since the `If-None-Match` ETag")
    @blp.alt_response(404, description="No such status list")
    def get(self, slug: str, list_no: int) -> Response:
        """An issuer's revocation list; cached briefly so that a revocation shows within a minute"""
        status_list = published_list(context.db(), slug=slug, purpose=REVOCATION, list_no=list_no)
        return _json(status_list.signed_document, offered=CREDENTIAL_TYPES, max_age=60)
