"""Public issuer documents that credentials point at: issuer profiles with their keys, did:web DID
documents, achievements and their images, and signed revocation status lists. No sign-in: verifiers
anywhere must be able to read them. The bytes come from :mod:`wallet.issuing.published`, which also
answers the app's own fetcher, so a verifier here and one elsewhere read the same documents.

These answer JSON for now; HTML for people arrives with the public pages.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import Response, request
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.issuing import published
from wallet.web import context

blp = Blueprint("issuers", __name__, description="Public documents of issuers (no sign-in)")

JSON_TYPES = ["application/json", "application/ld+json"]
DID_TYPES = ["application/did+json", "application/did+ld+json", *JSON_TYPES]
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
        text = published.issuer_profile_text(context.db(), slug=slug, base_url=context.state().settings.base_url)
        return _json(text, offered=JSON_TYPES, max_age=300)


@blp.route("/issuers/<slug>/did.json")
class IssuerDidDocument(MethodView):
    @blp.response(
        200,
        description="The issuer's did:web DID document: every key the organisation ever signed with, current "
        "first, under `assertionMethod` (did:web method, § Read)",
        content_type="application/did+json",
    )
    @blp.alt_response(304, description="Unchanged since the `If-None-Match` ETag")
    @blp.alt_response(404, description="No such issuer, or this deployment has no public https origin (did:key)")
    def get(self, slug: str) -> Response:
        """An issuer's did:web DID document"""
        text = published.did_document_text(context.db(), slug=slug, base_url=context.state().settings.base_url)
        return _json(text, offered=DID_TYPES, max_age=300)


@blp.route("/achievements/<uuid:achievement_id>")
class PublicAchievement(MethodView):
    @blp.response(200, description="The OB 3.0 Achievement (JSON-LD)", content_type="application/ld+json")
    @blp.alt_response(404, description="No such achievement")
    def get(self, achievement_id: uuid.UUID) -> Response:
        """An achievement's public description"""
        text = published.achievement_text(
            context.db(), achievement_id=achievement_id, base_url=context.state().settings.base_url
        )
        return _json(text, offered=JSON_TYPES, max_age=300)


@blp.route("/achievements/<uuid:achievement_id>/image")
class PublicAchievementImage(MethodView):
    @blp.response(200, description="The image (PNG or sanitised SVG)", content_type="image/png")
    @blp.alt_response(304, description="Unchanged since the `If-None-Match` ETag")
    @blp.alt_response(404, description="No such achievement, or it has no image")
    def get(self, achievement_id: uuid.UUID) -> Response:
        """An achievement's image"""
        image = published.achievement_image(context.db(), achievement_id=achievement_id)
        response = Response(image.data, mimetype=image.media_type)
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if image.media_type == "image/svg+xml":
            response.headers["Content-Security-Policy"] = SVG_CSP
        response.set_etag(image.sha256)
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
        text = published.status_list_text(context.db(), slug=slug, list_no=list_no)
        return _json(text, offered=CREDENTIAL_TYPES, max_age=60)
