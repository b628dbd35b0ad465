"""Skills frameworks, alignments, learning pathways, the learner's progress and their CLR record."""

from __future__ import annotations

import json
import uuid
from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.errors import DomainError
from wallet.models import Pathway
from wallet.pathways import services as pathways
from wallet.records import clr
from wallet.skills import formats
from wallet.skills import frameworks as skills
from wallet.web import context

blp = Blueprint(
    "pathways",
    __name__,
    url_prefix="/api/v1",
    description="Skills frameworks (CASE 1.1), alignments, learning pathways, progress and CLR 2.0 records",
)

CASE_TYPES = ("application/json", "text/csv")


def _base_url() -> str:
    return context.state().settings.base_url


class FrameworkImportArgs(StrictSchema):
    organisation = ma.fields.String(
        validate=ma.validate.Length(1, 60),
        metadata={"description": "Slug of the organisation that will own a new framework (you must be its admin)"},
    )
    title = ma.fields.String(
        validate=ma.validate.Length(1, 300), metadata={"description": "The framework's title (CSV imports)"}
    )


class FrameworkSchema(OutputSchema):
    slug = ma.fields.String()
    title = ma.fields.String()
    latest_version = ma.fields.Integer()
    url = ma.fields.String()


class ItemSchema(OutputSchema):
    identifier = ma.fields.String()
    code = ma.fields.String()
    statement = ma.fields.String()
    type = ma.fields.String()
    parent = ma.fields.String(allow_none=True)
    url = ma.fields.String(metadata={"description": "The alignment targetUrl of this version's item"})


class FrameworkVersionSchema(OutputSchema):
    slug = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    version = ma.fields.Integer()
    latest_version = ma.fields.Integer()
    versions = ma.fields.List(ma.fields.Integer())
    case_identifier = ma.fields.String()
    source_format = ma.fields.String()
    owner = ma.fields.String(allow_none=True)
    created = ma.fields.Boolean(metadata={"description": "False: the file was the latest version already"})
    items = ma.fields.List(ma.fields.Nested(ItemSchema))


class ItemViewSchema(ItemSchema):
    framework = ma.fields.String()
    version = ma.fields.Integer()
    latest_version = ma.fields.Integer()
    in_latest = ma.fields.String(metadata={"description": "latest, unchanged, changed or removed"})
    alignment = ma.fields.Dict(metadata={"description": "The OB 3.0 Alignment naming this item"})


class VersionArgs(StrictSchema):
    version = ma.fields.Integer(validate=ma.validate.Range(1, 999999))


class AlignmentRequestSchema(StrictSchema):
    framework = ma.fields.String(required=True, validate=ma.validate.Length(1, 60))
    item = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    version = ma.fields.Integer(
        validate=ma.validate.Range(1, 999999), metadata={"description": "Default: the latest version"}
    )


class AlignmentRemoveSchema(StrictSchema):
    targetUrl = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))


class AlignmentsSchema(OutputSchema):
    alignments = ma.fields.List(ma.fields.Dict())
    freshness = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "Per alignment: its version, the latest, and the item there"}
    )


def _framework_out(view: skills.FrameworkView, *, created: bool | None = None) -> dict[str, Any]:
    base = _base_url()
    slug = view.framework.slug
    out = {
        "slug": slug,
        "title": view.version.title,
        "description": view.version.description,
        "version": view.version.version,
        "latest_version": view.framework.latest_version,
        "versions": view.versions,
        "case_identifier": view.version.case_identifier,
        "source_format": view.version.source_format,
        "owner": view.owner.slug if view.owner else None,
        "items": [
            {
                "identifier": item.identifier,
                "code": item.code,
                "statement": item.statement,
                "type": item.item_type,
                "parent": item.parent_identifier,
                "url": skills.item_url(base, slug, view.version.version, item.identifier),
            }
            for item in view.items
        ],
    }
    if created is not None:
        out["created"] = created
    return out


@blp.route("/frameworks")
class Frameworks(MethodView):
    @blp.response(200, FrameworkSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every skills framework on this service (public)"""
        return [
            {
                "slug": framework.slug,
                "title": framework.title,
                "latest_version": framework.latest_version,
                "url": skills.framework_url(_base_url(), framework.slug),
            }
            for framework in skills.list_frameworks(context.db())
        ]


@blp.route("/frameworks/<slug>/versions")
class FrameworkVersions(MethodView):
    @blp.accepts(*CASE_TYPES)
    @blp.login_required
    @blp.arguments(FrameworkImportArgs, location="query")
    @blp.doc(
        requestBody={
            "required": True,
            "description": "A CASE 1.1 CFPackage (JSON) or a CSV with a header naming `statement` (and optionally "
            "`identifier`, `code`, `type`, `parent`).",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
        }
    )
    @blp.response(201, FrameworkVersionSchema)
    @blp.alt_response(200, description="The file says nothing new: the latest version, `created: false`")
    @blp.alt_response(422, description="The file could not be read (`framework.unreadable`, with `where`)")
    @blp.alt_response(403, description="Only the owning organisation's admins may add versions")
    def post(self, args: dict[str, Any], slug: str) -> Any:
        """Import a skills framework: its first version, or a new version if it changed (admins)"""
        db = context.db()
        data = request.get_data(cache=False)
        try:
            if request.mimetype == "text/csv":
                parsed = formats.parse_csv(data, title=args.get("title") or slug, identifier=f"csv:{slug}")
            else:
                parsed = formats.parse_case_json(data)
        except formats.FrameworkUnreadable as error:
            raise DomainError("framework.unreadable", error.message, where=error.where) from error
        result = skills.import_framework(
            db,
            slug=slug,
            parsed=parsed,
            actor=context.principal().account_id,
            organisation_slug=args.get("organisation"),
            now=context.now(),
        )
        db.commit()
        view = skills.framework_view(db, slug=slug, version=result.version.version)
        return _framework_out(view, created=result.created), 201 if result.created else 200


@blp.route("/frameworks/<slug>")
class FrameworkItem(MethodView):
    @blp.arguments(VersionArgs, location="query")
    @blp.response(200, FrameworkVersionSchema)
    def get(self, args: dict[str, Any], slug: str) -> dict[str, Any]:
        """A framework's items, in its latest version or the one asked for (public)"""
        return _framework_out(skills.framework_view(context.db(), slug=slug, version=args.get("version")))


@blp.route("/frameworks/<slug>/v<int:version>/items/<path:identifier>")
class FrameworkItemView(MethodView):
    @blp.response(200, ItemViewSchema)
    def get(self, slug: str, version: int, identifier: str) -> dict[str, Any]:
        """One item of one version, and whether it changed in the latest version (public)"""
        db = context.db()
        view = skills.item_view(db, slug=slug, version=version, identifier=identifier)
        return {
            "identifier": view.item.identifier,
            "code": view.item.code,
            "statement": view.item.statement,
            "type": view.item.item_type,
            "parent": view.item.parent_identifier,
            "url": skills.item_url(_base_url(), slug, version, identifier),
            "framework": slug,
            "version": version,
            "latest_version": view.latest_version,
            "in_latest": view.in_latest,
            "alignment": skills.alignment_for(
                db, base_url=_base_url(), slug=slug, version=version, identifier=identifier
            ),
        }


def _alignments(achievement: Any) -> dict[str, Any]:
    return {
        "alignments": achievement.alignments,
        "freshness": skills.alignment_freshness(context.db(), base_url=_base_url(), alignments=achievement.alignments),
    }


@blp.route("/organisations/<slug>/achievements/<uuid:achievement_id>/alignments")
class AchievementAlignments(MethodView):
    @blp.login_required
    @blp.response(200, AlignmentsSchema)
    def get(self, slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """The achievement's alignments, each saying whether a newer framework version exists (members)"""
        from wallet.issuing.achievements import get_achievement

        achievement = get_achievement(
            context.db(), slug=slug, actor=context.principal().account_id, achievement_id=achievement_id
        )
        return _alignments(achievement)

    @blp.login_required
    @blp.arguments(AlignmentRequestSchema, example={"framework": "leeds-skills", "item": "COM-1"})
    @blp.response(200, AlignmentsSchema)
    def post(self, body: dict[str, Any], slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Align the achievement to a framework item; credentials issued from now carry it (admins)"""
        db = context.db()
        achievement = skills.align_achievement(
            db,
            slug=slug,
            actor=context.principal().account_id,
            achievement_id=achievement_id,
            framework=body["framework"],
            item=body["item"],
            version=body.get("version"),
            base_url=_base_url(),
            now=context.now(),
        )
        db.commit()
        return _alignments(achievement)

    @blp.login_required
    @blp.arguments(AlignmentRemoveSchema)
    @blp.response(200, AlignmentsSchema)
    def delete(self, body: dict[str, Any], slug: str, achievement_id: uuid.UUID) -> dict[str, Any]:
        """Remove one alignment, named by its targetUrl (admins)"""
        db = context.db()
        achievement = skills.remove_alignment(
            db,
            slug=slug,
            actor=context.principal().account_id,
            achievement_id=achievement_id,
            target_url=body["targetUrl"],
            now=context.now(),
        )
        db.commit()
        return _alignments(achievement)


_STEPS = ma.fields.List(
    ma.fields.Dict(),
    required=True,
    validate=ma.validate.Length(1, 50),
    metadata={
        "description": 'Each step: {"kind": "badge", "achievement": id-or-URL} | {"kind": "any_of", "n": 2, '
        '"achievements": [...]} | {"kind": "skill", "framework": slug, "item": identifier, "version": n}'
    },
)


class PathwayCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 120))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(0, 4000))
    outcome = ma.fields.String(
        load_default="", validate=ma.validate.Length(0, 2000), metadata={"description": "What it leads to"}
    )
    outcome_achievement_id = ma.fields.UUID(allow_none=True, load_default=None)
    auto_award = ma.fields.Boolean(load_default=False)
    ordered = ma.fields.Boolean(load_default=False)
    steps = _STEPS
    partners = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 60)), load_default=list)


class PathwayUpdateSchema(StrictSchema):
    name = ma.fields.String(validate=ma.validate.Length(1, 120))
    description = ma.fields.String(validate=ma.validate.Length(0, 4000))
    outcome = ma.fields.String(validate=ma.validate.Length(0, 2000))
    outcome_achievement_id = ma.fields.UUID(allow_none=True)
    auto_award = ma.fields.Boolean()
    ordered = ma.fields.Boolean()
    steps = ma.fields.List(ma.fields.Dict(), validate=ma.validate.Length(1, 50))
    partners = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 60)))
    archived = ma.fields.Boolean()


class PathwayDocumentSchema(OutputSchema):
    id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    outcome = ma.fields.String()
    ordered = ma.fields.Boolean()
    owner = ma.fields.String(allow_none=True)
    outcome_achievement = ma.fields.String(allow_none=True)
    achievement = ma.fields.Dict(metadata={"description": "The pathway as an OB 3.0 Achievement (LearningProgram)"})
    achievements = ma.fields.List(ma.fields.Dict())
    associations = ma.fields.List(ma.fields.Dict(), metadata={"description": "CLR 2.0 Association objects"})
    definition = ma.fields.Dict(metadata={"description": "What the progress rule reads (wallet_protocol.pathways)"})


def _document(pathway: Pathway) -> dict[str, Any]:
    return pathways.pathway_document(context.db(), pathway, base_url=_base_url())


@blp.route("/pathways")
class Pathways(MethodView):
    @blp.response(200, PathwayDocumentSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every published pathway, as OB 3.0 Achievements with CLR 2.0 associations (public)"""
        return [_document(pathway) for pathway in pathways.list_pathways(context.db())]


@blp.route("/organisations/<slug>/pathways")
class OrganisationPathways(MethodView):
    @blp.login_required
    @blp.arguments(PathwayCreateSchema)
    @blp.response(201, PathwayDocumentSchema)
    @blp.alt_response(422, description="Steps the rule cannot apply (`pathway.invalid`, with `errors`)")
    def post(self, body: dict[str, Any], slug: str) -> dict[str, Any]:
        """Create a pathway owned by this organisation, optionally co-designed with partners (admins)"""
        db = context.db()
        pathway = pathways.create_pathway(
            db, slug=slug, actor=context.principal().account_id, base_url=_base_url(), now=context.now(), **body
        )
        db.commit()
        return _document(pathway)


@blp.route("/pathways/<uuid:pathway_id>")
class PathwayItem(MethodView):
    @blp.response(200, PathwayDocumentSchema)
    def get(self, pathway_id: uuid.UUID) -> dict[str, Any]:
        """A pathway (public)"""
        return _document(pathways.get_pathway(context.db(), pathway_id=pathway_id))

    @blp.login_required
    @blp.arguments(PathwayUpdateSchema)
    @blp.response(200, PathwayDocumentSchema)
    @blp.alt_response(403, description="Not an admin of the owner or a partner, or a partner changing the outcome")
    def patch(self, body: dict[str, Any], pathway_id: uuid.UUID) -> dict[str, Any]:
        """Change a pathway (admins of its owner; partners' admins its words and steps)"""
        db = context.db()
        pathway = pathways.update_pathway(
            db,
            pathway_id=pathway_id,
            actor=context.principal().account_id,
            changes=body,
            base_url=_base_url(),
            now=context.now(),
        )
        db.commit()
        return _document(pathway)


class StepOutSchema(OutputSchema):
    index = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    needed = ma.fields.Integer()
    have = ma.fields.Integer()
    done = ma.fields.Boolean()
    by = ma.fields.List(ma.fields.String(), metadata={"description": "The credentials that count, earliest first"})
    by_achievements = ma.fields.List(ma.fields.String())


class NextStepSchema(OutputSchema):
    kind = ma.fields.String(
        metadata={
            "description": "claim_session (an open session: take part) or requestable (ask for it with evidence: "
            "POST /api/v1/me/badge-requests)"
        }
    )
    achievement_id = ma.fields.UUID(allow_none=True)
    pathway_id = ma.fields.UUID()
    step_index = ma.fields.Integer()
    achievement_url = ma.fields.String()
    title = ma.fields.String()
    organisation = ma.fields.String()
    ends_at = ma.fields.DateTime(allow_none=True)


class ProgressSchema(OutputSchema):
    pathway_id = ma.fields.String()
    name = ma.fields.String()
    outcome = ma.fields.String()
    steps_done = ma.fields.Integer()
    total_steps = ma.fields.Integer()
    complete = ma.fields.Boolean()
    started = ma.fields.Boolean()
    next_step = ma.fields.Integer(allow_none=True)
    awarded_credential_id = ma.fields.UUID(allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(StepOutSchema))


class MyPathwaysSchema(OutputSchema):
    pathways = ma.fields.List(ma.fields.Nested(ProgressSchema))
    next_steps = ma.fields.List(ma.fields.Nested(NextStepSchema))


class MyPathwaysArgs(StrictSchema):
    all = ma.fields.Boolean(load_default=False, metadata={"description": "Every pathway, not only those started"})


def _progress(entry: pathways.LearnerPathway) -> dict[str, Any]:
    return {
        **entry.progress.to_dict(),
        "name": entry.pathway.name,
        "outcome": entry.pathway.outcome,
        "awarded_credential_id": entry.awarded.issued_credential_id if entry.awarded else None,
    }


@blp.route("/me/pathways")
class MyPathways(MethodView):
    @blp.login_required
    @blp.arguments(MyPathwaysArgs, location="query")
    @blp.response(200, MyPathwaysSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your pathways: progress from the badges you hold, and open sessions that would advance them"""
        db = context.db()
        account_id = context.principal().account_id
        entries = pathways.learner_pathways(db, account_id=account_id, started_only=not args["all"])
        started = [entry for entry in entries if entry.progress.started]
        steps = pathways.next_steps(
            db, account_id=account_id, base_url=_base_url(), now=context.now(), pathways=started
        )
        return {"pathways": [_progress(entry) for entry in entries], "next_steps": [vars(step) for step in steps]}


@blp.route("/me/pathways/<uuid:pathway_id>")
class MyPathway(MethodView):
    @blp.login_required
    @blp.response(200, ProgressSchema)
    def get(self, pathway_id: uuid.UUID) -> dict[str, Any]:
        """Your progress on one pathway"""
        return _progress(
            pathways.learner_pathway(context.db(), account_id=context.principal().account_id, pathway_id=pathway_id)
        )


class SkillBadgeSchema(OutputSchema):
    id = ma.fields.String()
    name = ma.fields.String()
    issuer = ma.fields.String()


class SkillSchema(OutputSchema):
    target_url = ma.fields.String()
    name = ma.fields.String()
    code = ma.fields.String()
    framework = ma.fields.String()
    framework_slug = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(allow_none=True)
    badges = ma.fields.List(ma.fields.Nested(SkillBadgeSchema))


@blp.route("/me/skills")
class MySkills(MethodView):
    @blp.login_required
    @blp.response(200, SkillSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Your skills across all your badges: framework items, with the badges that show them"""
        return clr.skills_summary(context.db(), account_id=context.principal().account_id, base_url=_base_url())


class RecordRequestSchema(StrictSchema):
    credentials = ma.fields.List(
        ma.fields.UUID(),
        load_default=list,
        validate=ma.validate.Length(0, 200),
        metadata={"description": "Wallet ids of the badges to include"},
    )
    pathways = ma.fields.List(ma.fields.UUID(), load_default=list, validate=ma.validate.Length(0, 50))
    name = ma.fields.String(validate=ma.validate.Length(1, 200))


class RecordSchema(OutputSchema):
    id = ma.fields.UUID(metadata={"description": "The record's wallet id: share it with POST /api/v1/shares"})
    content_hash = ma.fields.String()
    credential = ma.fields.Dict(metadata={"description": "The signed CLR 2.0 ClrCredential"})


@blp.route("/me/records")
class MyRecords(MethodView):
    @blp.login_required
    @blp.arguments(RecordRequestSchema)
    @blp.response(201, RecordSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Export a signed CLR 2.0 record of chosen badges and pathways; it is kept in your wallet to share"""
        db = context.db()
        held = clr.export_record(
            db,
            account_id=context.principal().account_id,
            credential_ids=body["credentials"],
            pathway_ids=body["pathways"],
            base_url=_base_url(),
            secret_key=context.state().secrets.secret_key,
            now=context.now(),
            name=body.get("name"),
        )
        db.commit()
        return {"id": held.id, "content_hash": held.content_hash, "credential": json.loads(held.raw)}
