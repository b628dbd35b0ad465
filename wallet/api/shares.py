"""Share links: the learner makes, lists, changes and revokes links to show a badge to an employer."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.errors import DomainError
from wallet.holding import services as holding
from wallet.models import ShareLink, ShareTarget
from wallet.sharing import services as sharing
from wallet.web import context

blp = Blueprint(
    "shares",
    __name__,
    url_prefix="/api/v1",
    description="Share links to your badges: unguessable URLs you can expire and revoke",
)


HELD_CREDENTIAL = (
    "A credential in your wallet, by any of its names: its `id`, its `content_hash` (`sha256:…`, as sync "
    "and the SDK's offline replica name it) or its own `credential_id` (e.g. `urn:uuid:…`)"
)


class ShareCreateSchema(StrictSchema):
    credential_id = ma.fields.String(
        validate=ma.validate.Length(1, 2000),
        metadata={"description": f"The held credential to share. {HELD_CREDENTIAL}", "example": "sha256:9f86d0…"},
    )
    collection_id = ma.fields.UUID(metadata={"description": "Or: the collection to share (its badges as one page)"})
    label = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(0, 120),
        metadata={"description": "A note for yourself", "example": "for Acme interview"},
    )
    expires_at = ma.fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "When the link stops working (none: never)"}
    )
    allow_indexing = ma.fields.Boolean(
        load_default=False, metadata={"description": "Let search engines index the page"}
    )
    show_evidence = ma.fields.Boolean(
        load_default=False, metadata={"description": "Show the credential's evidence on the page"}
    )

    skills = ma.fields.Boolean(
        metadata={"description": "Or: true to share your skills summary (the skills your badges show)"}
    )

    @ma.validates_schema
    def _one_target(self, data: dict[str, Any], **_kwargs: Any) -> None:
        targets = ("credential_id" in data) + ("collection_id" in data) + bool(data.get("skills"))
        if targets != 1:
            raise ma.ValidationError(
                "Give exactly one of credential_id, collection_id or skills: true.", "credential_id"
            )


class ShareUpdateSchema(StrictSchema):
    label = ma.fields.String(validate=ma.validate.Length(0, 120))
    expires_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "null removes the expiry"})
    allow_indexing = ma.fields.Boolean()
    show_evidence = ma.fields.Boolean()


class ShareQuerySchema(StrictSchema):
    credential_id = ma.fields.String(
        validate=ma.validate.Length(1, 2000),
        metadata={"description": f"Only links to this credential. {HELD_CREDENTIAL}"},
    )


class ShareSchema(OutputSchema):
    id = ma.fields.UUID()
    url = ma.fields.String(
        metadata={
            "description": "The link to send; anyone who has it can open the page",
            "example": "https://wallet.example/s/Qm9vb…",
        }
    )
    target_kind = ma.fields.Enum(ShareTarget, by_value=True)
    target_id = ma.fields.UUID()
    label = ma.fields.String()
    state = ma.fields.String(metadata={"description": "active, expired or revoked"})
    expires_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    allow_indexing = ma.fields.Boolean()
    show_evidence = ma.fields.Boolean()
    view_count = ma.fields.Integer(metadata={"description": "How often the page was opened"})
    last_viewed_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


def _share(link: ShareLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "url": sharing.share_url(context.state().settings.base_url, link.slug),
        "target_kind": link.target_kind,
        "target_id": link.target_id,
        "label": link.label,
        "state": sharing.link_state(link, now=context.now()),
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "allow_indexing": link.allow_indexing,
        "show_evidence": link.show_evidence,
        "view_count": link.view_count,
        "last_viewed_at": link.last_viewed_at,
        "created_at": link.created_at,
    }


@blp.route("/shares")
class Shares(MethodView):
    @blp.login_required
    @blp.arguments(ShareQuerySchema, location="query")
    @blp.response(200, ShareSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Your share links, newest first, with how often each was opened"""
        db, account_id = context.db(), context.principal().account_id
        target_id = None
        if "credential_id" in query:
            try:
                target_id = holding.find_credential(db, account_id=account_id, reference=query["credential_id"]).id
            except DomainError as error:
                if error.code != "credential.not_found":
                    raise
                return []
        return [_share(link) for link in sharing.list_shares(db, account_id=account_id, target_id=target_id)]

    @blp.login_required
    @blp.arguments(
        ShareCreateSchema,
        example={"credential_id": "6f1c…", "label": "for Acme interview", "expires_at": "2027-01-31T23:59:00Z"},
    )
    @blp.response(201, ShareSchema)
    @blp.alt_response(
        404,
        description="No such credential or collection in your wallet (`credential.not_found`, `collection.not_found`)",
    )
    @blp.alt_response(
        409, description="Two of your credentials share that `credential_id`: use its `id` (`request.conflict`)"
    )
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Make a link to one of your credentials or collections"""
        db, account_id = context.db(), context.principal().account_id
        if "credential_id" in body:
            kind = ShareTarget.CREDENTIAL
            target_id = holding.find_credential(db, account_id=account_id, reference=body["credential_id"]).id
        elif body.get("skills"):
            kind, target_id = ShareTarget.SKILLS, account_id
        else:
            kind, target_id = ShareTarget.COLLECTION, body["collection_id"]
        link = sharing.create_share(
            db,
            account_id=account_id,
            target_kind=kind,
            target_id=target_id,
            label=body["label"],
            expires_at=body["expires_at"],
            allow_indexing=body["allow_indexing"],
            show_evidence=body["show_evidence"],
            now=context.now(),
        )
        db.commit()
        return _share(link)


@blp.route("/shares/<uuid:share_id>")
class ShareItem(MethodView):
    @blp.login_required
    @blp.response(200, ShareSchema)
    @blp.alt_response(404, description="No such link of yours (`share.not_found`)")
    def get(self, share_id: uuid.UUID) -> dict[str, Any]:
        """One of your links, with its view count"""
        return _share(sharing.get_share(context.db(), account_id=context.principal().account_id, share_id=share_id))

    @blp.login_required
    @blp.arguments(ShareUpdateSchema)
    @blp.response(200, ShareSchema)
    @blp.alt_response(404, description="No such link of yours (`share.not_found`)")
    @blp.alt_response(410, description="The link is revoked and cannot change (`share.revoked`)")
    def patch(self, body: dict[str, Any], share_id: uuid.UUID) -> dict[str, Any]:
        """Change a link's label, expiry, indexing or evidence"""
        db = context.db()
        link = sharing.update_share(
            db, account_id=context.principal().account_id, share_id=share_id, now=context.now(), **body
        )
        db.commit()
        return _share(link)


@blp.route("/shares/<uuid:share_id>/revoke")
class ShareRevoke(MethodView):
    @blp.login_required
    @blp.response(200, ShareSchema)
    @blp.alt_response(404, description="No such link of yours (`share.not_found`)")
    def post(self, share_id: uuid.UUID) -> dict[str, Any]:
        """Turn a link off for good (the page answers 410 from now on)"""
        db = context.db()
        link = sharing.revoke_share(db, account_id=context.principal().account_id, share_id=share_id, now=context.now())
        db.commit()
        return _share(link)
