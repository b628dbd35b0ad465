"""Badge requests: learners ask for badges with evidence; the organisation's reviewers decide.

The learner's routes are under ``/api/v1/me/badge-requests``; the reviewers' under
``/api/v1/organisations/<slug>/badge-requests``. A request that is not yours, or not your organisation's
to review, is ``badge_request.not_found`` (404) — never a hint that it exists. docs/requests.md.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.models import EvidenceFile, RequestStatus
from wallet.requests import evidence
from wallet.requests import services as requests
from wallet.web import context
from wallet.web.uploads import max_body

blp = Blueprint(
    "badge_requests",
    __name__,
    url_prefix="/api/v1",
    description="Badge requests: ask for a badge with evidence of what you did; reviewers decide",
)

FILE_CSP = "default-src 'none'; sandbox"
UPLOAD_TYPES = (*evidence.MEDIA_TYPES, "application/octet-stream")


class RequestableSchema(OutputSchema):
    achievement_id = ma.fields.UUID()
    achievement_name = ma.fields.String()
    description = ma.fields.String()
    criteria_narrative = ma.fields.String()
    image_url = ma.fields.String(allow_none=True)
    organisation = ma.fields.String(metadata={"description": "The organisation's slug"})
    organisation_name = ma.fields.String()
    guidance = ma.fields.String(metadata={"description": "What the organisation wants to see"})
    evidence_wanted = ma.fields.List(ma.fields.String(), metadata={"example": ["narrative", "files", "witness"]})
    reviewer_role = ma.fields.String(metadata={"description": "youth_worker (any member) or admin"})


class RequestablePolicySchema(StrictSchema):
    guidance = ma.fields.String(load_default="", validate=ma.validate.Length(0, requests.MAX_GUIDANCE_LENGTH))
    evidence_wanted = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(requests.EVIDENCE_KINDS)),
        load_default=lambda: ["narrative"],
        validate=ma.validate.Length(1, 4),
    )
    reviewer_role = ma.fields.String(load_default="youth_worker", validate=ma.validate.OneOf(["youth_worker", "admin"]))


class RequestCreateSchema(StrictSchema):
    achievement_id = ma.fields.UUID(required=True)
    narrative = ma.fields.String(
        required=True, validate=ma.validate.Length(1, 8000), metadata={"description": "What you did"}
    )
    links = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 500)),
        load_default=list,
        validate=ma.validate.Length(0, 10),
        metadata={"description": "Web addresses of evidence you control (a video, a blog post)"},
    )
    witness = ma.fields.String(
        load_default="", validate=ma.validate.Length(0, 120), metadata={"description": "A youth worker who saw it"}
    )


class FileSchema(OutputSchema):
    id = ma.fields.UUID()
    filename = ma.fields.String()
    media_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    created_at = ma.fields.DateTime()


class MessageSchema(OutputSchema):
    author = ma.fields.String(metadata={"description": "learner, youth_worker or admin"})
    author_name = ma.fields.String(allow_none=True)
    kind = ma.fields.String(metadata={"description": "submitted, reply, more_info, approved, rejected, withdrawn"})
    body = ma.fields.String()
    created_at = ma.fields.DateTime()


class LearnerSchema(OutputSchema):
    username = ma.fields.String()
    display_name = ma.fields.String()


class BadgeRequestSchema(OutputSchema):
    id = ma.fields.UUID()
    action_id = ma.fields.String(metadata={"description": "The sync action whose result follows this request"})
    status = ma.fields.Enum(RequestStatus, by_value=True)
    achievement_id = ma.fields.UUID()
    achievement_name = ma.fields.String()
    organisation = ma.fields.String()
    organisation_name = ma.fields.String()
    narrative = ma.fields.String()
    links = ma.fields.List(ma.fields.String())
    witness = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    decided_by_role = ma.fields.String(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)
    issued_credential_id = ma.fields.UUID(allow_none=True)
    files = ma.fields.List(ma.fields.Nested(FileSchema))
    thread = ma.fields.List(ma.fields.Nested(MessageSchema))


class ReviewSchema(BadgeRequestSchema):
    learner = ma.fields.Nested(LearnerSchema)
    decided_by = ma.fields.String(allow_none=True, metadata={"description": "The reviewer's username"})


class ReplySchema(StrictSchema):
    body = ma.fields.String(required=True, validate=ma.validate.Length(1, requests.MAX_MESSAGE_LENGTH))


class ApproveSchema(StrictSchema):
    comment = ma.fields.String(load_default="", validate=ma.validate.Length(0, requests.MAX_MESSAGE_LENGTH))


class RejectSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, requests.MAX_MESSAGE_LENGTH))


class AskSchema(StrictSchema):
    question = ma.fields.String(required=True, validate=ma.validate.Length(1, requests.MAX_MESSAGE_LENGTH))


class ReviewQuerySchema(StrictSchema):
    status = ma.fields.Enum(RequestStatus, by_value=True, load_default=None)


class UploadQuerySchema(StrictSchema):
    filename = ma.fields.String(load_default=None, validate=ma.validate.Length(0, 200))


def requestable_dict(item: requests.Requestable) -> dict[str, Any]:
    from wallet.issuing.credentials import achievement_image_url

    achievement = item.achievement
    base_url = context.state().settings.base_url
    return {
        "achievement_id": achievement.id,
        "achievement_name": achievement.name,
        "description": achievement.description,
        "criteria_narrative": achievement.criteria_narrative,
        "image_url": achievement_image_url(base_url, achievement.id) if achievement.image_sha256 else None,
        "organisation": item.organisation.slug,
        "organisation_name": item.organisation.name,
        "guidance": item.policy.guidance,
        "evidence_wanted": item.policy.evidence_wanted,
        "reviewer_role": item.policy.reviewer_role,
    }


def _file(item: EvidenceFile) -> dict[str, Any]:
    return {
        "id": item.id,
        "filename": item.filename,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "created_at": item.created_at,
    }


def request_dict(view: requests.RequestView, *, for_reviewer: bool = False) -> dict[str, Any]:
    req = view.request
    body: dict[str, Any] = {
        "id": req.id,
        "action_id": req.action_id,
        "status": req.status,
        "achievement_id": req.achievement_id,
        "achievement_name": view.achievement.name,
        "organisation": view.organisation.slug,
        "organisation_name": view.organisation.name,
        "narrative": req.narrative,
        "links": [link["url"] for link in req.links],
        "witness": req.witness,
        "created_at": req.created_at,
        "updated_at": req.updated_at,
        "decided_at": req.decided_at,
        "decided_by_role": req.decided_by_role,
        "decision_reason": req.decision_reason,
        "issued_credential_id": req.issued_credential_id,
        "files": [_file(item) for item in view.files],
        "thread": [
            {
                "author": message.author_role,
                "author_name": (author.display_name or author.username) if author is not None else None,
                "kind": message.kind,
                "body": message.body,
                "created_at": message.created_at,
            }
            for message, author in view.messages
        ],
    }
    if for_reviewer:
        body["learner"] = {"username": view.learner.username, "display_name": view.learner.display_name}
        decider = next(
            (author for message, author in view.messages if message.kind in ("approved", "rejected") and author),
            None,
        )
        body["decided_by"] = decider.username if decider is not None else None
    return body


def file_response(item: EvidenceFile, *, inline: bool = False) -> Response:
    """An evidence file: to its learner and reviewers only, as a download under a sandbox CSP."""
    response = Response(item.data, mimetype=item.media_type)
    disposition = "inline" if inline and item.media_type.startswith("image/") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{item.filename}"'
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _me() -> uuid.UUID:
    return context.principal().account_id


@blp.route("/requestable-badges")
class RequestableBadges(MethodView):
    @blp.login_required
    @blp.response(200, RequestableSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Badges you can ask for, across organisations"""
        return [requestable_dict(item) for item in requests.list_requestable(context.db())]


@blp.route("/organisations/<slug>/achievements/<uuid:achievement_id>/requestable")
class RequestablePolicy(MethodView):
    @blp.login_required
    @blp.arguments(
        RequestablePolicySchema,
        example={"guidance": "A photo of what you made", "evidence_wanted": ["narrative", "files"]},
    )
    @blp.response(200, RequestableSchema)
    @blp.alt_response(403, description="Only admins make badges requestable")
    def put(self, body: dict[str, Any], slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Let learners ask for this badge, saying what evidence you want and who reviews (admins)"""
        db = context.db()
        requests.make_requestable(db, slug=slug, actor=_me(), achievement_id=achievement_id, now=context.now(), **body)
        db.commit()
        return requestable_dict(requests.requestable(db, achievement_id=achievement_id))

    @blp.login_required
    @blp.response(204)
    def delete(self, slug: str, achievement_id: uuid.UUID) -> None:
        """Stop taking requests for this badge; open ones can still be decided (admins)"""
        db = context.db()
        requests.stop_requests(db, slug=slug, actor=_me(), achievement_id=achievement_id)
        db.commit()


@blp.route("/me/badge-requests")
class MyRequests(MethodView):
    @blp.login_required
    @blp.response(200, BadgeRequestSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Your badge requests, newest first"""
        return [request_dict(view) for view in requests.my_requests(context.db(), account_id=_me())]

    @blp.login_required
    @blp.arguments(
        RequestCreateSchema,
        example={
            "achievement_id": "8e1c9d7a-1b1e-4c55-9a53-0d9f4ad6c2f1",
            "narrative": "I ran the repair café's soldering table for three Saturdays.",
            "witness": "Alex (youth worker)",
        },
    )
    @blp.response(201, BadgeRequestSchema)
    @blp.alt_response(409, description="Not requestable, or you have an open request for it")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Ask for a badge, saying what you did (attach files next)"""
        db = context.db()
        created = requests.submit_request(db, account_id=_me(), now=context.now(), **body)
        db.commit()
        return request_dict(requests.my_request(db, account_id=_me(), request_id=created.id))


@blp.route("/me/badge-requests/<uuid:request_id>")
class MyRequest(MethodView):
    @blp.login_required
    @blp.response(200, BadgeRequestSchema)
    @blp.alt_response(404, description="No such request of yours (`badge_request.not_found`)")
    def get(self, request_id: uuid.UUID) -> dict[str, Any]:
        """One of your requests, with its thread and files"""
        return request_dict(requests.my_request(context.db(), account_id=_me(), request_id=request_id))


@blp.route("/me/badge-requests/<uuid:request_id>/files")
class MyRequestFiles(MethodView):
    @max_body(evidence.MAX_UPLOAD_BYTES)
    @blp.accepts(*UPLOAD_TYPES)
    @blp.login_required
    @blp.arguments(UploadQuerySchema, location="query")
    @blp.doc(
        requestBody={
            "required": True,
            "description": "The file itself (at most 6 MB): a PNG or JPEG photo (re-encoded, metadata dropped), a "
            "PDF without scripts, or plain text. The type is read from the bytes.",
            "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in UPLOAD_TYPES},
        }
    )
    @blp.response(201, FileSchema)
    @blp.alt_response(422, description="Not an acceptable file (`badge_request.invalid_evidence`, with `reason`)")
    def post(self, query: dict[str, Any], request_id: uuid.UUID) -> dict[str, Any]:
        """Attach a photo or document to your open request"""
        db = context.db()
        stored = requests.add_file(
            db,
            account_id=_me(),
            request_id=request_id,
            data=request.get_data(cache=False),
            filename=query.get("filename"),
            now=context.now(),
        )
        db.commit()
        return _file(stored)


@blp.route("/me/badge-requests/<uuid:request_id>/files/<uuid:file_id>")
class MyRequestFile(MethodView):
    @blp.login_required
    @blp.response(200, description="The file as stored", content_type="application/octet-stream")
    def get(self, request_id: uuid.UUID, file_id: uuid.UUID) -> Response:
        """Download one of your evidence files"""
        return file_response(requests.my_file(context.db(), account_id=_me(), request_id=request_id, file_id=file_id))

    @blp.login_required
    @blp.response(204)
    def delete(self, request_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Take a file off your open request"""
        db = context.db()
        requests.remove_file(db, account_id=_me(), request_id=request_id, file_id=file_id)
        db.commit()


@blp.route("/me/badge-requests/<uuid:request_id>/replies")
class MyRequestReplies(MethodView):
    @blp.login_required
    @blp.arguments(ReplySchema, example={"body": "Here is the video link you asked for."})
    @blp.response(200, BadgeRequestSchema)
    @blp.alt_response(409, description="The request is closed (`badge_request.closed`)")
    def post(self, body: dict[str, Any], request_id: uuid.UUID) -> dict[str, Any]:
        """Answer in the request's thread (it goes back to the reviewers)"""
        db = context.db()
        requests.reply(db, account_id=_me(), request_id=request_id, body=body["body"], now=context.now())
        db.commit()
        return request_dict(requests.my_request(db, account_id=_me(), request_id=request_id))


@blp.route("/me/badge-requests/<uuid:request_id>/withdraw")
class MyRequestWithdraw(MethodView):
    @blp.login_required
    @blp.response(200, BadgeRequestSchema)
    @blp.alt_response(409, description="Already decided (`badge_request.closed`)")
    def post(self, request_id: uuid.UUID) -> dict[str, Any]:
        """Withdraw an open request: its files, narrative, links and answers are erased"""
        db = context.db()
        requests.withdraw(db, account_id=_me(), request_id=request_id, now=context.now())
        db.commit()
        return request_dict(requests.my_request(db, account_id=_me(), request_id=request_id))


@blp.route("/organisations/<slug>/badge-requests")
class ReviewList(MethodView):
    @blp.login_required
    @blp.arguments(ReviewQuerySchema, location="query")
    @blp.response(200, ReviewSchema(many=True))
    def get(self, query: dict[str, Any], slug: str) -> list[dict[str, Any]]:
        """Requests for the organisation's badges that you review; open ones first"""
        statuses = (query["status"],) if query.get("status") else None
        views = requests.requests_to_review(context.db(), slug=slug, actor=_me(), statuses=statuses)
        return [request_dict(view, for_reviewer=True) for view in views]


@blp.route("/organisations/<slug>/badge-requests/<uuid:request_id>")
class ReviewItem(MethodView):
    @blp.login_required
    @blp.response(200, ReviewSchema)
    @blp.alt_response(404, description="No such request for you to review")
    def get(self, slug: str, request_id: uuid.UUID) -> dict[str, Any]:
        """One request, its evidence and thread (reviewers)"""
        view = requests.request_for_review(context.db(), slug=slug, actor=_me(), request_id=request_id)
        return request_dict(view, for_reviewer=True)


@blp.route("/organisations/<slug>/badge-requests/<uuid:request_id>/files/<uuid:file_id>")
class ReviewFile(MethodView):
    @blp.login_required
    @blp.response(200, description="The file as stored", content_type="application/octet-stream")
    def get(self, slug: str, request_id: uuid.UUID, file_id: uuid.UUID) -> Response:
        """Download an evidence file (reviewers)"""
        return file_response(
            requests.file_for_review(context.db(), slug=slug, actor=_me(), request_id=request_id, file_id=file_id)
        )


def _review_answer(slug: str, request_id: uuid.UUID) -> dict[str, Any]:
    view = requests.request_for_review(context.db(), slug=slug, actor=_me(), request_id=request_id)
    return request_dict(view, for_reviewer=True)


@blp.route("/organisations/<slug>/badge-requests/<uuid:request_id>/approve")
class ReviewApprove(MethodView):
    @blp.login_required
    @blp.arguments(ApproveSchema)
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Already decided or withdrawn (`badge_request.closed`)")
    def post(self, body: dict[str, Any], slug: str, request_id: uuid.UUID) -> dict[str, Any]:
        """Approve: the badge is issued into the learner's wallet with the request's evidence"""
        db = context.db()
        state = context.state()
        requests.approve(
            db,
            slug=slug,
            actor=_me(),
            request_id=request_id,
            comment=body["comment"],
            kek=state.secrets.key_encryption_key,
            base_url=state.settings.base_url,
            now=context.now(),
        )
        db.commit()
        return _review_answer(slug, request_id)


@blp.route("/organisations/<slug>/badge-requests/<uuid:request_id>/reject")
class ReviewReject(MethodView):
    @blp.login_required
    @blp.arguments(RejectSchema, example={"reason": "We have no record of this session."})
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Already decided or withdrawn (`badge_request.closed`)")
    def post(self, body: dict[str, Any], slug: str, request_id: uuid.UUID) -> dict[str, Any]:
        """Reject, with a reason the learner sees"""
        db = context.db()
        requests.reject(db, slug=slug, actor=_me(), request_id=request_id, reason=body["reason"], now=context.now())
        db.commit()
        return _review_answer(slug, request_id)


@blp.route("/organisations/<slug>/badge-requests/<uuid:request_id>/ask")
class ReviewAsk(MethodView):
    @blp.login_required
    @blp.arguments(AskSchema, example={"question": "Could you add a photo of the finished circuit?"})
    @blp.response(200, ReviewSchema)
    @blp.alt_response(409, description="Already decided or withdrawn (`badge_request.closed`)")
    def post(self, body: dict[str, Any], slug: str, request_id: uuid.UUID) -> dict[str, Any]:
        """Ask the learner for more; they answer in the same thread"""
        db = context.db()
        requests.ask_for_more(
            db, slug=slug, actor=_me(), request_id=request_id, question=body["question"], now=context.now()
        )
        db.commit()
        return _review_answer(slug, request_id)
