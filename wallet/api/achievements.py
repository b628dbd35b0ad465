"""Achievements (badge classes) an organisation awards, their images, and the credentials it issued."""

from __future__ import annotations

import json
import uuid
from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.issuing import achievements, credentials
from wallet.models import Account, Achievement, IssuedCredential
from wallet.web import context

blp = Blueprint(
    "achievements",
    __name__,
    url_prefix="/api/v1",
    description="Achievements (badge classes) an organisation awards, and the badges it issued",
)

AlignmentSchema = StrictSchema.from_dict(
    {
        "targetName": ma.fields.String(required=True, validate=ma.validate.Length(1, 200)),
        "targetUrl": ma.fields.URL(required=True, schemes={"https", "http"}),
        "targetFramework": ma.fields.String(validate=ma.validate.Length(1, 200)),
        "targetCode": ma.fields.String(validate=ma.validate.Length(1, 100)),
        "targetDescription": ma.fields.String(validate=ma.validate.Length(1, 2000)),
        "targetType": ma.fields.String(validate=ma.validate.Length(1, 100)),
    },
    name="Alignment",
)

EvidenceSchema = StrictSchema.from_dict(
    {
        "id": ma.fields.URL(schemes={"https", "http"}, metadata={"description": "Where the evidence can be seen"}),
        "name": ma.fields.String(validate=ma.validate.Length(1, 200)),
        "description": ma.fields.String(validate=ma.validate.Length(1, 2000)),
        "narrative": ma.fields.String(validate=ma.validate.Length(1, 8000)),
    },
    name="Evidence",
)

_TAGS = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 60)), validate=ma.validate.Length(0, 30))
_ALIGNMENTS = ma.fields.List(ma.fields.Nested(AlignmentSchema), validate=ma.validate.Length(0, 20))


class AchievementCreateSchema(StrictSchema):
    name = ma.fields.String(
        required=True, validate=ma.validate.Length(1, 120), metadata={"example": "Soldering basics"}
    )
    description = ma.fields.String(required=True, validate=ma.validate.Length(1, 4000))
    criteria_narrative = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(0, 8000),
        metadata={"description": "What a learner did to earn it (Markdown)"},
    )
    criteria_url = ma.fields.URL(schemes={"https", "http"}, allow_none=True, load_default=None)
    tags = _TAGS
    alignments = _ALIGNMENTS
    validity_days = ma.fields.Integer(
        allow_none=True,
        load_default=None,
        validate=ma.validate.Range(1, 36500),
        metadata={"description": "Credentials expire this many days after issue"},
    )


class AchievementUpdateSchema(StrictSchema):
    name = ma.fields.String(validate=ma.validate.Length(1, 120))
    description = ma.fields.String(validate=ma.validate.Length(1, 4000))
    criteria_narrative = ma.fields.String(validate=ma.validate.Length(0, 8000))
    criteria_url = ma.fields.URL(schemes={"https", "http"}, allow_none=True)
    tags = _TAGS
    alignments = _ALIGNMENTS
    validity_days = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(1, 36500))


class AchievementListQuerySchema(StrictSchema):
    include_archived = ma.fields.Boolean(load_default=False)


class AchievementSchema(OutputSchema):
    id = ma.fields.UUID()
    url = ma.fields.String(metadata={"description": "The achievement's public id, as in credentials"})
    name = ma.fields.String()
    description = ma.fields.String()
    criteria_narrative = ma.fields.String()
    criteria_url = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.String())
    alignments = ma.fields.List(ma.fields.Dict())
    validity_days = ma.fields.Integer(allow_none=True)
    image_url = ma.fields.String(allow_none=True)
    image_media_type = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    archived_at = ma.fields.DateTime(allow_none=True)


class AwardCreateSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(3, 40))
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), validate=ma.validate.Length(0, 10))


class RecipientSchema(OutputSchema):
    username = ma.fields.String()
    display_name = ma.fields.String()


class AwardSchema(OutputSchema):
    id = ma.fields.UUID()
    credential_id = ma.fields.String(metadata={"example": "urn:uuid:2f1c…"})
    achievement_id = ma.fields.UUID()
    achievement_name = ma.fields.String()
    recipient = ma.fields.Nested(
        RecipientSchema, allow_none=True, metadata={"description": "null once the learner erased their account"}
    )
    issued_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    revocation_reason = ma.fields.String(allow_none=True)
    status_list_credential = ma.fields.String()
    status_list_index = ma.fields.Integer()


class IssuedAwardSchema(AwardSchema):
    credential = ma.fields.Dict(metadata={"description": "The signed OpenBadgeCredential"})


class RevokeSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 500))


def _base_url() -> str:
    return context.state().settings.base_url


def _kek() -> bytes:
    return context.state().secrets.key_encryption_key


def _achievement(achievement: Achievement) -> dict[str, Any]:
    base_url = _base_url()
    return {
        "id": achievement.id,
        "url": credentials.achievement_url(base_url, achievement.id),
        "name": achievement.name,
        "description": achievement.description,
        "criteria_narrative": achievement.criteria_narrative,
        "criteria_url": achievement.criteria_url,
        "tags": achievement.tags,
        "alignments": achievement.alignments,
        "validity_days": achievement.validity_days,
        "image_url": (
            credentials.achievement_image_url(base_url, achievement.id) if achievement.image_sha256 else None
        ),
        "image_media_type": achievement.image_media_type,
        "created_at": achievement.created_at,
        "updated_at": achievement.updated_at,
        "archived_at": achievement.archived_at,
    }


def _award(issued: IssuedCredential, achievement: Achievement, recipient: Account | None) -> dict[str, Any]:
    document = json.loads(issued.credential_json)
    status = document.get("credentialStatus", {})
    return {
        "id": issued.id,
        "credential_id": issued.credential_id,
        "achievement_id": achievement.id,
        "achievement_name": achievement.name,
        "recipient": (
            None if recipient is None else {"username": recipient.username, "display_name": recipient.display_name}
        ),
        "issued_at": issued.issued_at,
        "revoked_at": issued.revoked_at,
        "revocation_reason": issued.revocation_reason,
        "status_list_credential": status.get("statusListCredential"),
        "status_list_index": issued.status_index,
        "credential": document,
    }


@blp.route("/organisations/<slug>/achievements")
class Achievements(MethodView):
    @blp.login_required
    @blp.arguments(AchievementListQuerySchema, location="query")
    @blp.response(200, AchievementSchema(many=True))
    def get(self, query: dict[str, Any], slug: str) -> list[dict[str, Any]]:
        """The organisation's achievements (members)"""
        rows = achievements.list_achievements(
            context.db(), slug=slug, actor=context.principal().account_id, include_archived=query["include_archived"]
        )
        return [_achievement(row) for row in rows]

    @blp.login_required
    @blp.arguments(
        AchievementCreateSchema,
        example={
            "name": "Soldering basics",
            "description": "Soldered a working LED circuit safely.",
            "criteria_narrative": "Solder five joints that pass inspection.",
            "tags": ["electronics"],
        },
    )
    @blp.response(201, AchievementSchema)
    @blp.alt_response(403, description="Only admins create achievements")
    def post(self, body: dict[str, Any], slug: str) -> dict[str, Any]:
        """Create an achievement (admins)"""
        db = context.db()
        achievement = achievements.create_achievement(
            db, slug=slug, actor=context.principal().account_id, now=context.now(), **body
        )
        db.commit()
        return _achievement(achievement)


@blp.route("/organisations/<slug>/achievements/<uuid:achievement_id>")
class AchievementItem(MethodView):
    @blp.login_required
    @blp.response(200, AchievementSchema)
    @blp.alt_response(404, description="No such achievement in this organisation (`achievement.not_found`)")
    def get(self, slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """One achievement (members)"""
        achievement = achievements.get_achievement(
            context.db(), slug=slug, actor=context.principal().account_id, achievement_id=achievement_id
        )
        return _achievement(achievement)

    @blp.login_required
    @blp.arguments(AchievementUpdateSchema)
    @blp.response(200, AchievementSchema)
    @blp.alt_response(403, description="Only admins change achievements")
    def patch(self, body: dict[str, Any], slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Change an achievement (admins); credentials already issued are not changed"""
        db = context.db()
        achievement = achievements.update_achievement(
            db,
            slug=slug,
            actor=context.principal().account_id,
            achievement_id=achievement_id,
            changes=body,
            now=context.now(),
        )
        db.commit()
        return _achievement(achievement)


@blp.route("/organisations/<slug>/achievements/<uuid:achievement_id>/archive")
class AchievementArchive(MethodView):
    @blp.login_required
    @blp.response(200, AchievementSchema)
    @blp.alt_response(403, description="Only admins archive achievements")
    def post(self, slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Archive an achievement: no new awards; issued credentials stay valid (admins)"""
        db = context.db()
        achievement = achievements.archive_achievement(
            db, slug=slug, actor=context.principal().account_id, achievement_id=achievement_id, now=context.now()
        )
        db.commit()
        return _achievement(achievement)


@blp.route("/organisations/<slug>/achievements/<uuid:achievement_id>/image")
class AchievementImage(MethodView):
    @blp.accepts("image/png", "image/svg+xml")
    @blp.login_required
    @blp.doc(
        requestBody={
            "required": True,
            "description": "The image itself (at most 512 KB; PNG at most "
            "1024x1024). The type is read from the bytes; SVGs are sanitised.",
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    )
    @blp.response(200, AchievementSchema)
    @blp.alt_response(422, description="Not an acceptable image (`achievement.invalid_image`, with `reason`)")
    def put(self, slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Upload the achievement's image (admins)"""
        db = context.db()
        achievement = achievements.set_image(
            db,
            slug=slug,
            actor=context.principal().account_id,
            achievement_id=achievement_id,
            data=request.get_data(cache=False),
            now=context.now(),
        )
        db.commit()
        return _achievement(achievement)


@blp.route("/organisations/<slug>/achievements/<uuid:achievement_id>/awards")
class AchievementAwards(MethodView):
    @blp.login_required
    @blp.arguments(AwardCreateSchema, example={"username": "sam"})
    @blp.response(201, IssuedAwardSchema)
    @blp.alt_response(404, description="No such learner (`account.not_found`) or achievement")
    @blp.alt_response(409, description="The achievement is archived (`request.conflict`)")
    def post(self, body: dict[str, Any], slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Issue the achievement to a learner and put the badge in their wallet (admins)"""
        db = context.db()
        issued = credentials.award(
            db,
            slug=slug,
            actor=context.principal().account_id,
            achievement_id=achievement_id,
            username=body["username"],
            kek=_kek(),
            base_url=_base_url(),
            now=context.now(),
            evidence=body.get("evidence"),
        )
        db.commit()
        achievement = db.get(Achievement, issued.achievement_id)
        recipient = db.get(Account, issued.recipient_account_id) if issued.recipient_account_id else None
        return _award(issued, achievement, recipient)  # type: ignore[arg-type]


@blp.route("/organisations/<slug>/awards")
class Awards(MethodView):
    @blp.login_required
    @blp.response(200, AwardSchema(many=True))
    @blp.alt_response(403, description="Only admins see what was issued")
    def get(self, slug: str) -> list[dict[str, Any]]:
        """Badges the organisation issued, newest first (admins; learners by username only)"""
        rows = credentials.list_awards(context.db(), slug=slug, actor=context.principal().account_id)
        return [_award(issued, achievement, recipient) for issued, achievement, recipient in rows]


@blp.route("/organisations/<slug>/awards/<uuid:issued_id>/revoke")
class AwardRevoke(MethodView):
    @blp.login_required
    @blp.arguments(RevokeSchema, example={"reason": "Awarded to the wrong learner"})
    @blp.response(200, AwardSchema)
    @blp.alt_response(404, description="No such issued badge (`credential.not_found`)")
    def post(self, body: dict[str, Any], slug: str, issued_id: uuid.UUID) -> dict[str, Any]:
        """Revoke an issued badge; verifiers see it at once in the status list (admins)"""
        db = context.db()
        issued = credentials.revoke(
            db,
            slug=slug,
            actor=context.principal().account_id,
            issued_id=issued_id,
            reason=body["reason"],
            kek=_kek(),
            base_url=_base_url(),
            now=context.now(),
        )
        db.commit()
        achievement = db.get(Achievement, issued.achievement_id)
        recipient = db.get(Account, issued.recipient_account_id) if issued.recipient_account_id else None
        return _award(issued, achievement, recipient)  # type: ignore[arg-type]
