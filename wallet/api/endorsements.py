"""Endorsements: an organisation signs an Open Badges 3.0 ``EndorsementCredential`` about another
organisation's badge or about the organisation itself. Giving and withdrawing need the endorser's admin
role; the signed credential is public at ``/endorsements/<id>`` (verifiers fetch it there)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.endorsements import services as endorsements
from wallet.models import Endorsement
from wallet.web import context

blp = Blueprint(
    "endorsements",
    __name__,
    description="Endorsements: organisations vouch for each other's badges (OB 3.0 EndorsementCredential)",
)


class EndorseSchema(StrictSchema):
    achievement_id = ma.fields.UUID(load_default=None, metadata={"description": "Endorse this achievement…"})
    issuer = ma.fields.String(
        load_default=None, validate=ma.validate.Length(1, 60), metadata={"description": "…or this issuer (slug)"}
    )
    comment = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, endorsements.MAX_COMMENT_LENGTH),
        metadata={"description": "Why you vouch for it (shown publicly)"},
    )


class EndorsementSchema(OutputSchema):
    id = ma.fields.UUID()
    url = ma.fields.String(metadata={"description": "Where the signed credential is served"})
    subject_kind = ma.fields.String(metadata={"description": "achievement or issuer"})
    subject_id = ma.fields.UUID()
    comment = ma.fields.String()
    created_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)
    credential = ma.fields.Dict(metadata={"description": "The signed EndorsementCredential"})


def _endorsement(item: Endorsement) -> dict[str, Any]:
    return {
        "id": item.id,
        "url": endorsements.endorsement_url(context.state().settings.base_url, item.id),
        "subject_kind": item.subject_kind.value,
        "subject_id": item.subject_id,
        "comment": item.comment,
        "created_at": item.created_at,
        "withdrawn_at": item.withdrawn_at,
        "credential": json.loads(item.credential_json),
    }


@blp.route("/api/v1/organisations/<slug>/endorsements")
class Endorsements(MethodView):
    @blp.login_required
    @blp.response(200, EndorsementSchema(many=True))
    def get(self, slug: str) -> list[dict[str, Any]]:
        """Endorsements the organisation gave, newest first (members)"""
        return [
            _endorsement(item)
            for item in endorsements.given_by(context.db(), slug=slug, actor=context.principal().account_id)
        ]

    @blp.login_required
    @blp.arguments(EndorseSchema, example={"issuer": "city-museum", "comment": "Their workshops are excellent."})
    @blp.response(201, EndorsementSchema)
    @blp.alt_response(422, description="Your own badge or organisation (`endorsement.own_work`)")
    def post(self, body: dict[str, Any], slug: str) -> dict[str, Any]:
        """Endorse another organisation's achievement or the organisation itself, signed with your key (admins)"""
        db = context.db()
        state = context.state()
        created = endorsements.endorse(
            db,
            slug=slug,
            actor=context.principal().account_id,
            achievement_id=body["achievement_id"],
            issuer_slug=body["issuer"],
            comment=body["comment"],
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=context.now(),
        )
        db.commit()
        return _endorsement(created)


@blp.route("/api/v1/organisations/<slug>/endorsements/<uuid:endorsement_id>/withdraw")
class EndorsementWithdraw(MethodView):
    @blp.login_required
    @blp.response(200, EndorsementSchema)
    def post(self, slug: str, endorsement_id: uuid.UUID) -> dict[str, Any]:
        """Withdraw an endorsement: it is no longer shown or served, and its status entry says revoked (admins)"""
        db = context.db()
        state = context.state()
        item = endorsements.withdraw_endorsement(
            db,
            slug=slug,
            actor=context.principal().account_id,
            endorsement_id=endorsement_id,
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=context.now(),
        )
        db.commit()
        return _endorsement(item)


@blp.route("/endorsements/<uuid:endorsement_id>")
class PublicEndorsement(MethodView):
    @blp.response(200, description="The signed EndorsementCredential", content_type="application/vc+ld+json")
    @blp.alt_response(404, description="No such endorsement, or it was withdrawn")
    def get(self, endorsement_id: uuid.UUID) -> Response:
        """An endorsement, as signed (no sign-in)"""
        text = endorsements.public_document(context.db(), endorsement_id=endorsement_id)
        response = Response(text, mimetype="application/vc+ld+json")
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Cache-Control"] = "public, max-age=60"
        return response
