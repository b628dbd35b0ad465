"""The learner's credentials: hold, list, read, verify, import, export and delete.

Every route acts on the signed-in learner's own credentials only; another learner's id is 404.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Page

from wallet.accounts.tokens import derive_key
from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.changelog import edits
from wallet.credentials.reasons import Reason
from wallet.holding import exporting
from wallet.holding import services as holding
from wallet.holding.binding import PROOF_ALGORITHMS
from wallet.holding.checking import check_credential
from wallet.holding.trust import TRUST_KINDS, IssuerDirectory
from wallet.models import HeldCredential
from wallet.web import context

blp = Blueprint(
    "credentials",
    __name__,
    url_prefix="/api/v1",
    description="Your credentials: import, verify, export, tag and delete",
)

IMPORT_TYPES = (
    "application/json",
    "application/ld+json",
    "application/vc+ld+json",
    "application/jwt",
    "text/plain",
    "image/png",
    "image/svg+xml",
)
_RAW_BODY = {
    "required": True,
    "description": "The credential file as it is: OB 3.0 JSON, a VC-JWT, an OB 2.0 signed JWS or hosted "
    "assertion JSON, or a baked PNG/SVG badge. The bytes decide the format; the content type "
    "only has to be one of those listed.",
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in IMPORT_TYPES},
}


_REASON_CODES = sorted(reason.value for reason in Reason)


class VerificationWarningSchema(OutputSchema):
    reason = ma.fields.String(metadata={"description": "Stable code of the conformance remark", "enum": _REASON_CODES})
    detail = ma.fields.String(metadata={"description": "The remark in words a person can read"})


class ReportWarningSchema(VerificationWarningSchema):
    check = ma.fields.String(metadata={"description": "The check it belongs to"})


class VerificationCheckSchema(OutputSchema):
    name = ma.fields.String(metadata={"description": "proof, issuer_key, validity, status or shape"})
    outcome = ma.fields.String(metadata={"description": "passed, failed, indeterminate or skipped"})
    detail = ma.fields.String(metadata={"description": "Why, in words a person can read (may be reworded)"})
    reason = ma.fields.String(
        metadata={
            "description": "Why, as a stable code (`<check>.<what>`, e.g. `proof.signature_mismatch`, "
            "`status.revoked`): decide on this, never on `detail`. New codes may be added; treat an "
            "unknown one by `outcome`. docs/credentials.md lists them.",
            "enum": _REASON_CODES,
            "example": "proof.verified",
        }
    )
    warnings = ma.fields.List(
        ma.fields.Nested(VerificationWarningSchema),
        metadata={"description": "Conformance remarks that do not change the outcome"},
    )


class VerificationReportSchema(OutputSchema):
    outcome = ma.fields.String(
        metadata={
            "description": "valid, invalid or indeterminate (could not be checked: never shown as valid)",
            "example": "valid",
        }
    )
    format = ma.fields.String(allow_none=True)
    issuer = ma.fields.String(allow_none=True)
    verificationMethod = ma.fields.String(allow_none=True)
    verificationType = ma.fields.String(metadata={"description": "OB 2.0: hosted or signed"})
    reasons = ma.fields.List(
        ma.fields.String(metadata={"enum": _REASON_CODES}),
        metadata={
            "description": "The codes behind the outcome: the failed checks' when invalid, the "
            "indeterminate checks' when it could not be checked, empty when valid"
        },
    )
    warnings = ma.fields.List(
        ma.fields.Nested(ReportWarningSchema),
        metadata={"description": "Every check's warnings, with the check they belong to"},
    )
    checks = ma.fields.List(ma.fields.Nested(VerificationCheckSchema))


class NamedSubjectSchema(OutputSchema):
    id = ma.fields.String(allow_none=True, metadata={"description": "credentialSubject.id, as the credential says"})
    name = ma.fields.String(allow_none=True, metadata={"description": "credentialSubject.name, if it has one"})
    identity_types = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "The identityType of each identifier it names (hashed values are never shown)"},
    )
    described = ma.fields.String(metadata={"description": "Whom it names, in words, as share pages say it"})


class HolderBindingSchema(OutputSchema):
    bound = ma.fields.Boolean(metadata={"description": "Something in the credential ties it to you"})
    by = ma.fields.String(
        metadata={
            "description": "subject (your account's subject id), did (you proved the DID's "
            "key), email or name (an identifier matches your account; a claim, not a "
            "proof), or none"
        }
    )
    proven = ma.fields.Boolean(metadata={"description": "Bound by subject id or a DID proof"})
    copy = ma.fields.Boolean(
        metadata={
            "description": "Another wallet on this service held this credential before "
            "you added it: a copy that does not show it is yours"
        }
    )
    bound_at = ma.fields.DateTime(allow_none=True)
    can_prove = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "A did:key/did:jwk the credential names that you can still prove control of "
            "(`GET`/`POST /api/v1/credentials/{id}/binding`)"
        },
    )
    subject = ma.fields.Nested(NamedSubjectSchema)
    detail = ma.fields.String(metadata={"description": "One sentence saying what this means"})


class IssuerTrustSchema(OutputSchema):
    kind = ma.fields.String(
        metadata={
            "description": ", ".join(TRUST_KINDS) + ": an organisation on this server "
            "(by its signing keys), an issuer in the operator's registry, a signer we "
            "do not know, or not confirmed (the signature or key could not be checked)"
        }
    )
    known = ma.fields.Boolean(metadata={"description": "organisation or registry: `name` is vouched for"})
    name = ma.fields.String(allow_none=True, metadata={"description": "The name we vouch for (known issuers only)"})
    claimed_name = ma.fields.String(allow_none=True, metadata={"description": "The name the credential gives"})
    issuer_id = ma.fields.String(allow_none=True)
    signer = ma.fields.String(allow_none=True, metadata={"description": "The DID of the key that signed it"})
    organisation = ma.fields.String(allow_none=True, metadata={"description": "The organisation's slug here"})
    registry = ma.fields.String(allow_none=True, metadata={"description": "The registry that lists the issuer"})
    url = ma.fields.String(allow_none=True)


class HeldCredentialSchema(OutputSchema):
    id = ma.fields.UUID()
    format = ma.fields.String(metadata={"description": "vc-json, vc-jwt or ob2"})
    media_type = ma.fields.String()
    content_hash = ma.fields.String(metadata={"example": "sha256:9f86d0…"})
    credential_id = ma.fields.String(allow_none=True, metadata={"description": "The credential's own id"})
    issuer_id = ma.fields.String(allow_none=True)
    issuer_name = ma.fields.String(allow_none=True)
    achievement_name = ma.fields.String(allow_none=True)
    achievement_id = ma.fields.String(allow_none=True)
    image_url = ma.fields.String(allow_none=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    expired = ma.fields.Boolean()
    tags = ma.fields.List(ma.fields.String())
    source = ma.fields.String(metadata={"description": "claim, import, award or sync"})
    added_at = ma.fields.DateTime()
    outcome = ma.fields.String(allow_none=True, metadata={"description": "The latest verification's outcome"})
    verified_at = ma.fields.DateTime(allow_none=True)
    status_checked_at = ma.fields.DateTime(allow_none=True)
    binding = ma.fields.Nested(HolderBindingSchema, metadata={"description": "Whom it names, and what ties it to you"})
    issuer_trust = ma.fields.Nested(
        IssuerTrustSchema,
        metadata={
            "description": "Which issuer it really is: signed by this key is not the same as known to be this issuer"
        },
    )


class HeldCredentialDetailSchema(HeldCredentialSchema):
    verification = ma.fields.Nested(VerificationReportSchema, allow_none=True)


class CredentialSummarySchema(OutputSchema):
    format = ma.fields.String()
    credential_id = ma.fields.String(allow_none=True)
    issuer_id = ma.fields.String(allow_none=True)
    issuer_name = ma.fields.String(allow_none=True)
    achievement_name = ma.fields.String(allow_none=True)
    achievement_id = ma.fields.String(allow_none=True)
    image_url = ma.fields.String(allow_none=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    expired = ma.fields.Boolean()


class PastedCredentialReportSchema(VerificationReportSchema):
    credential = ma.fields.Nested(CredentialSummarySchema, metadata={"description": "What the credential says"})
    issuer_trust = ma.fields.Nested(IssuerTrustSchema)


class BindingChallengeSchema(OutputSchema):
    did = ma.fields.String(metadata={"description": "Sign with a key of this DID (kid: a DID URL of it)"})
    nonce = ma.fields.String(metadata={"description": "Put this in the JWS payload's `nonce` claim"})
    audience = ma.fields.String(metadata={"description": "Put this in the payload's `aud` claim"})
    expires_at = ma.fields.DateTime()
    algorithms = ma.fields.List(ma.fields.String(), metadata={"example": list(PROOF_ALGORITHMS)})


class BindingStateSchema(OutputSchema):
    binding = ma.fields.Nested(HolderBindingSchema)
    challenge = ma.fields.Nested(
        BindingChallengeSchema,
        allow_none=True,
        metadata={"description": "null when the credential names no did:key/did:jwk you could prove"},
    )


class BindingProofSchema(StrictSchema):
    proof = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 20_000),
        metadata={
            "description": "A compact JWS (EdDSA or ES256) by the DID's key: header `kid` a DID URL of the DID, "
            "payload `{nonce, aud, iat}` from the challenge"
        },
    )


class CredentialListArgsSchema(StrictSchema):
    issuer = ma.fields.String(metadata={"description": "Issuer id, or part of the issuer's name"})
    q = ma.fields.String(validate=ma.validate.Length(1, 200), metadata={"description": "Search achievement names"})
    tag = ma.fields.String(validate=ma.validate.Length(1, 60))
    issued_after = ma.fields.AwareDateTime(default_timezone=None)
    issued_before = ma.fields.AwareDateTime(default_timezone=None)
    expired = ma.fields.Boolean()
    status = ma.fields.String(validate=ma.validate.OneOf(sorted(holding.OUTCOMES)))


class CredentialTagsSchema(StrictSchema):
    tags = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, holding.MAX_TAG_LENGTH)),
        required=True,
        validate=ma.validate.Length(0, holding.MAX_TAGS),
        metadata={"example": ["maker", "2026"]},
    )


class CredentialImportUrlSchema(StrictSchema):
    url = ma.fields.URL(
        required=True,
        schemes={"https", "http"},
        require_tld=False,
        metadata={"description": "A hosted OB 2.0 assertion or a credential's URL"},
    )


class CredentialExportArgsSchema(StrictSchema):
    format = ma.fields.String(
        load_default="json",
        validate=ma.validate.OneOf(["json", "png", "svg"]),
        metadata={"description": "json (as issued), png or svg (baked)"},
    )


def _directory() -> IssuerDirectory:
    return IssuerDirectory.load(
        context.db(), registry=context.issuer_registry(), base_url=context.state().settings.base_url
    )


def _binding_out(credential: HeldCredential) -> dict[str, Any]:
    binding = holding.binding_of(credential)
    return {
        "bound": binding.bound,
        "by": binding.by,
        "proven": binding.proven,
        "copy": binding.copy,
        "bound_at": binding.bound_at,
        "can_prove": binding.can_prove,
        "subject": {
            "id": binding.subject.id,
            "name": binding.subject.name,
            "identity_types": [identity.identity_type for identity in binding.subject.identities],
            "described": binding.subject.describe(),
        },
        "detail": binding.detail(),
    }


def _out(
    credential: HeldCredential, directory: IssuerDirectory | None = None, tags: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    now = context.now()
    directory = directory or _directory()
    tags = tags if tags is not None else edits.tags_of(context.db(), account_id=credential.account_id)
    fields = (
        "id",
        "format",
        "media_type",
        "content_hash",
        "credential_id",
        "issuer_id",
        "issuer_name",
        "achievement_name",
        "achievement_id",
        "image_url",
        "issued_at",
        "expires_at",
        "source",
        "added_at",
        "outcome",
        "verified_at",
        "status_checked_at",
        "verification",
    )
    trust = directory.judge(
        credential.verification, issuer_id=credential.issuer_id, claimed_name=credential.issuer_name
    )
    return {
        **{name: getattr(credential, name) for name in fields},
        "tags": tags.get(credential.content_hash, []),
        "expired": credential.expires_at is not None and credential.expires_at <= now,
        "binding": _binding_out(credential),
        "issuer_trust": trust.to_dict(),
    }


def _mine(credential_id: str) -> HeldCredential:
    """The signed-in learner's credential named in the path by ``id``, ``content_hash`` or ``credential_id``."""
    return holding.find_credential(context.db(), account_id=context.principal().account_id, reference=credential_id)


@blp.route("/credentials")
class Credentials(MethodView):
    @blp.login_required
    @blp.arguments(CredentialListArgsSchema, location="query")
    @blp.response(200, HeldCredentialSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """Your credentials, newest first

        Filter by issuer, achievement name (`q`), tag, issue date, expiry and verification outcome.
        Paginated with `page` and `page_size`; the `X-Pagination` header says how many there are.
        """
        where = holding.CredentialFilter(**args)
        page: Page[Any] = pagination_parameters
        rows, total = holding.list_credentials(
            context.db(),
            account_id=context.principal().account_id,
            where=where,
            now=context.now(),
            offset=page.first_item,
            limit=page.page_size,
        )
        pagination_parameters.item_count = total
        directory = _directory()
        tags = edits.tags_of(context.db(), account_id=context.principal().account_id)
        return [_out(row, directory, tags) for row in rows]


@blp.route("/credentials/import")
class Import(MethodView):
    @blp.login_required
    @blp.accepts(*IMPORT_TYPES)
    @blp.doc(requestBody=_RAW_BODY)
    @blp.response(201, HeldCredentialDetailSchema)
    @blp.alt_response(409, description="Already in your wallet (`credential.duplicate`, with `existing_id`)")
    @blp.alt_response(415, description="Not a credential format we read (`credential.unsupported_format`)")
    @blp.alt_response(
        422,
        description="Invalid (`credential.invalid`, naming `failed_checks`), an unknown "
        "JSON-LD context (`credential.unknown_context`) or an issuer we could not reach "
        "(`credential.fetch_failed`)",
    )
    def post(self) -> dict[str, Any]:
        """Import a credential file

        The credential is verified first. Invalid ones are refused and nothing is stored; expired ones and
        ones that could not be fully checked (an issuer's server was down) are kept with their report.
        `binding` says whether it is tied to you; a credential another wallet here already holds is kept
        as a copy (`binding.copy`), which share pages never present as yours. `issuer_trust` says whether
        the issuer is known or only calls itself by its name.
        """
        db = context.db()
        credential = holding.import_credential(
            db,
            account_id=context.principal().account_id,
            data=request.get_data(),
            content_type=request.content_type,
            fetcher=context.fetcher(),
            now=context.now(),
        )
        context.state().recognise(db, credential.account_id, context.now())
        db.commit()
        return _out(credential)


@blp.route("/credentials/import-url")
class ImportUrl(MethodView):
    @blp.login_required
    @blp.arguments(CredentialImportUrlSchema, example={"url": "https://badges.example.org/assertions/123"})
    @blp.response(201, HeldCredentialDetailSchema)
    @blp.alt_response(409, description="Already in your wallet (`credential.duplicate`)")
    @blp.alt_response(415, description="Not a credential format we read (`credential.unsupported_format`)")
    @blp.alt_response(
        422,
        description="Invalid, unknown context, or the URL could not or may not be fetched "
        "(`credential.fetch_failed`, `credential.fetch_forbidden`)",
    )
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Import a credential from its URL

        For hosted Open Badges 2.0 assertions and credentials published at a URL. Only public addresses
        are fetched.
        """
        db = context.db()
        credential = holding.import_from_url(
            db, account_id=context.principal().account_id, url=body["url"], fetcher=context.fetcher(), now=context.now()
        )
        context.state().recognise(db, credential.account_id, context.now())
        db.commit()
        return _out(credential)


@blp.route("/credentials/export.zip")
class ExportAll(MethodView):
    @blp.login_required
    @blp.response(200, content_type="application/zip", description="Every credential file and manifest.json")
    def get(self) -> Response:
        """Download your whole wallet as a zip

        Each credential exactly as received, plus `manifest.json` with what the wallet knows about each
        one and its latest verification. Another wallet can import the files.
        """
        credentials = holding.all_credentials(context.db(), account_id=context.principal().account_id)
        tags = edits.tags_of(context.db(), account_id=context.principal().account_id)
        body = exporting.export_zip(credentials, now=context.now(), tags=tags)
        return Response(
            body,
            mimetype="application/zip",
            headers={"Content-Disposition": 'attachment; filename="learner-wallet-credentials.zip"'},
        )


@blp.route("/credentials/<credential_id>")
class CredentialItem(MethodView):
    @blp.login_required
    @blp.response(200, HeldCredentialDetailSchema)
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    def get(self, credential_id: str) -> dict[str, Any]:
        """A credential, with its latest verification report"""
        return _out(_mine(credential_id))

    @blp.login_required
    @blp.arguments(CredentialTagsSchema)
    @blp.response(200, HeldCredentialDetailSchema)
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    def patch(self, body: dict[str, Any], credential_id: str) -> dict[str, Any]:
        """Change a credential's tags"""
        db = context.db()
        credential = holding.set_tags(
            db,
            account_id=context.principal().account_id,
            credential_id=_mine(credential_id).id,
            tags=body["tags"],
            now=context.now(),
        )
        db.commit()
        return _out(credential)

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    def delete(self, credential_id: str) -> None:
        """Delete a credential from your wallet"""
        db = context.db()
        holding.delete_credential(
            db, account_id=context.principal().account_id, credential_id=_mine(credential_id).id, now=context.now()
        )
        db.commit()


@blp.route("/credentials/<credential_id>/raw")
class CredentialRaw(MethodView):
    @blp.login_required
    @blp.response(
        200,
        content_type="application/octet-stream",
        description="The credential's bytes exactly as received, with their media type",
    )
    @blp.alt_response(304, description="Unchanged (the ETag is the content hash)")
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    def get(self, credential_id: str) -> Response:
        """The credential exactly as received"""
        credential = _mine(credential_id)
        response = Response(credential.raw, mimetype=credential.media_type)
        response.set_etag(credential.content_hash)
        response.headers["Cache-Control"] = "private, no-cache"
        return response.make_conditional(request)


@blp.route("/credentials/<credential_id>/verify")
class CredentialVerify(MethodView):
    @blp.login_required
    @blp.response(200, HeldCredentialDetailSchema)
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    def post(self, credential_id: str) -> dict[str, Any]:
        """Verify a credential again now

        Its status may have changed (revoked, suspended, expired). The new report is kept.
        """
        db = context.db()
        credential = holding.reverify_credential(
            db,
            account_id=context.principal().account_id,
            credential_id=_mine(credential_id).id,
            fetcher=context.fetcher(),
            now=context.now(),
        )
        context.state().recognise(db, credential.account_id, context.now())
        db.commit()
        return _out(credential)


@blp.route("/credentials/<credential_id>/export")
class CredentialExport(MethodView):
    @blp.login_required
    @blp.arguments(CredentialExportArgsSchema, location="query")
    @blp.response(
        200, content_type="application/octet-stream", description="JSON or JWT as issued, or a baked PNG/SVG badge"
    )
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    @blp.alt_response(415, description="That export format does not exist for this credential")
    def get(self, args: dict[str, Any], credential_id: str) -> Response:
        """Export a credential as a file or a baked badge image

        PNG and SVG exports carry the credential inside the picture (Open Badges baking), so any
        badge backpack or verifier can read it back.
        """
        exported = exporting.export_credential(context.db(), credential=_mine(credential_id), fmt=args["format"])
        return Response(
            exported.body,
            mimetype=exported.media_type,
            headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
        )


@blp.route("/verify")
class Verify(MethodView):
    @blp.login_required
    @blp.accepts(*IMPORT_TYPES)
    @blp.doc(requestBody=_RAW_BODY)
    @blp.response(200, PastedCredentialReportSchema)
    @blp.alt_response(415, description="Not a credential format we read (`credential.unsupported_format`)")
    @blp.alt_response(422, description="An unknown JSON-LD context or an issuer we could not reach")
    def post(self) -> dict[str, Any]:
        """Verify any credential without keeping it

        Same inputs as import. Returns the report whatever the outcome; nothing is stored.
        """
        now = context.now()
        checked = check_credential(
            request.get_data(), content_type=request.content_type, fetcher=context.fetcher(), now=now
        )
        summary = checked.summary
        trust = _directory().judge(checked.report, issuer_id=summary.issuer_id, claimed_name=summary.issuer_name)
        return {
            **checked.report,
            "credential": {**vars(summary), "expired": checked.expired},
            "issuer_trust": trust.to_dict(),
        }


def _binding_key() -> bytes:
    return derive_key(context.state().secrets.secret_key, "holder-binding")


def _binding_audience() -> str:
    return context.state().settings.base_url.rstrip("/")


@blp.route("/credentials/<credential_id>/binding")
class CredentialBinding(MethodView):
    @blp.login_required
    @blp.response(200, BindingStateSchema)
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    def get(self, credential_id: str) -> dict[str, Any]:
        """Whom a credential names, what ties it to you, and a challenge to prove its DID

        When the credential names a `did:key` or `did:jwk` subject, `challenge` is a fresh nonce (valid 10
        minutes): sign a JWS with that DID's key — header `{"alg": "EdDSA" or "ES256", "kid": "<did>#…"}`,
        payload `{"nonce": …, "aud": …, "iat": <now>}` — and `POST` it here to bind the credential to you.
        """
        db = context.db()
        credential = _mine(credential_id)
        challenge = None
        if holding.binding_of(credential).subject.provable_did is not None:
            made = holding.binding_challenge(
                db,
                account_id=context.principal().account_id,
                credential_id=credential.id,
                key=_binding_key(),
                audience=_binding_audience(),
                now=context.now(),
            )
            challenge = {**vars(made), "algorithms": list(PROOF_ALGORITHMS)}
        return {"binding": _binding_out(credential), "challenge": challenge}

    @blp.login_required
    @blp.arguments(BindingProofSchema)
    @blp.response(200, HeldCredentialDetailSchema)
    @blp.alt_response(404, description="No such credential in your wallet (`credential.not_found`)")
    @blp.alt_response(
        422,
        description="The proof does not verify, its challenge is not ours or expired, or the credential names "
        "no DID to prove (`credential.binding_failed`)",
    )
    def post(self, body: dict[str, Any], credential_id: str) -> dict[str, Any]:
        """Bind a credential to you by proving you hold its subject DID's key

        The credential's `binding` becomes `did` (unless it already names your account). A copy stays
        marked as a copy, but is then bound: you proved you are the person it was issued to.
        """
        db = context.db()
        credential = holding.prove_binding(
            db,
            account_id=context.principal().account_id,
            credential_id=_mine(credential_id).id,
            proof=body["proof"],
            key=_binding_key(),
            audience=_binding_audience(),
            now=context.now(),
        )
        context.state().recognise(db, credential.account_id, context.now())
        db.commit()
        return _out(credential)
