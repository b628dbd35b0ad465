"""Offline sync: register a device's replica, sync it in one round trip, fetch credential bytes."""

from __future__ import annotations

import base64
import json
from typing import Any

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from wallet_protocol.sync.blobs import (
    BLOB_BATCH_MEDIA_TYPE,
    MAX_BATCH_BYTES,
    MAX_BINARY_CREDS,
    InvalidBlobRequest,
    encode_blob_batch,
    parse_blob_request,
)
from wallet_protocol.sync.state import is_cred_hash
from wallet_protocol.sync.wire import (
    MAX_BLOBS_PER_FETCH,
    MAX_LIMIT_V2,
    MAX_OPS_PER_REQUEST,
    InvalidRequest,
    parse_sync_request,
)

from wallet.api.core import Blueprint, load_request_json
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.errors import DomainError
from wallet.sync import encoding
from wallet.sync import service as sync_service
from wallet.web import context
from wallet.web.guessing import reserve_claim_judgements

blp = Blueprint(
    "sync",
    __name__,
    url_prefix="/api/v1/sync",
    description="Offline sync of the wallet between your devices (see docs/sync.md)",
)

IMMUTABLE = "private, max-age=31536000, immutable"
CRED_PATTERN = r"^sha256:[0-9a-f]{64}$"


class RegisterClientSchema(StrictSchema):
    client_id = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "A random UUID the device chose (it may have queued ops with it while offline); "
            "omitted: the server picks one"
        },
    )


class RegistrationSchema(OutputSchema):
    client_id = ma.fields.UUID()
    next_op_seq = ma.fields.Integer(metadata={"description": "The op_seq the server expects next"})
    server_hlc = ma.fields.String(metadata={"description": "The server's clock; adopt it (HLC receive rule)"})


class RejectionSchema(OutputSchema):
    op_seq = ma.fields.Integer()
    code = ma.fields.String(metadata={"example": "op.bad_cred"})
    detail = ma.fields.String()
    retry_after = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Transient rejections (`request.rate_limited`): seconds before sending it again"},
    )


class SyncRequestSchema(StrictSchema):
    protocol = ma.fields.Integer(required=True, metadata={"example": 2, "description": "1 or 2 (docs/sync.md §7.4)"})
    client_id = ma.fields.String(required=True, metadata={"description": "From POST /api/v1/sync/clients"})
    cursor = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Opaque; null on the first sync"}
    )
    ops = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        metadata={"description": f"Pending ops in op_seq order (at most {MAX_OPS_PER_REQUEST})"},
    )
    blobs = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Base64 bytes of credentials imported offline, by hash"},
    )
    limit = ma.fields.Integer(
        validate=ma.validate.Range(1, MAX_LIMIT_V2),
        metadata={"example": 5000, "description": "Protocol 1: 1-1000, default 500; protocol 2: 1-5000, default 5000"},
    )


class SyncResponseSchema(OutputSchema):
    protocol = ma.fields.Integer()
    applied_from = ma.fields.Integer(
        metadata={
            "description": "Protocol 2: the first op_seq this request applied; join your ops from here to "
            "acked_op_seq (not rejected) into your base — their rows are not echoed"
        }
    )
    acked_op_seq = ma.fields.Integer(metadata={"description": "Ops up to here are applied or rejected; drop them"})
    next_op_seq = ma.fields.Integer()
    rejected = ma.fields.List(ma.fields.Nested(RejectionSchema))
    reset = ma.fields.Boolean(metadata={"description": "Replace your base state with these changes"})
    reregister = ma.fields.Boolean(
        metadata={
            "description": "The server's history was replaced (restore): register a new client and re-push your state"
        }
    )
    changes = ma.fields.List(ma.fields.Dict(), metadata={"description": "Merged row states {k, id, s, seq}"})
    missing_blobs = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Credentials in the wallet whose bytes the server lacks; send them in `blobs`"},
    )
    cursor = ma.fields.String()
    has_more = ma.fields.Boolean(metadata={"description": "More changes: sync again with the new cursor"})
    server_hlc = ma.fields.String()


class BlobBatchRequestSchema(StrictSchema):
    creds = ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(CRED_PATTERN)),
        validate=ma.validate.Length(1, MAX_BINARY_CREDS),
        metadata={
            "description": f"Credential ids (`sha256:<hex>`), 1 to {MAX_BLOBS_PER_FETCH} "
            f"(JSON answer) or {MAX_BINARY_CREDS} (binary batch)"
        },
    )
    all = ma.fields.Boolean(
        metadata={"description": "Instead of `creds` (binary batch only): every credential of your wallet, in id order"}
    )
    after = ma.fields.String(
        allow_none=True, metadata={"description": "With `all`: only ids after this one (the last you received)"}
    )


class BlobBatchSchema(OutputSchema):
    blobs = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={
            "description": "Base64 of each credential's bytes exactly as held, by id; check that "
            "sha256 of the bytes equals the id before keeping them (immutable: keep them forever)"
        },
    )
    missing = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Ids you asked for that this server holds no bytes for in your wallet"},
    )


def _json_body(*, storable: bool = False) -> Any:
    """The (possibly gzip) JSON body; ``storable``: refuse NUL and unpaired surrogates in any string (400).

    The sync envelope parses its own (a NUL in an op is that op's ``op.bad_value``); the blob-batch
    request has nothing but ids, so a NUL anywhere in it is a malformed request, as on every other route.
    """
    data = request.get_data(cache=False)
    content_encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if content_encoding == "gzip":
        data = encoding.inflate(data)
    elif content_encoding not in ("", "identity"):
        raise DomainError("request.unsupported_media_type", "Send the body plain or with Content-Encoding: gzip.")
    if storable:
        return load_request_json(data)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DomainError("request.invalid_json", "The request body is not valid JSON.") from exc
    except RecursionError:  # ~1 000 nested arrays: the parser's own limit, not a server fault
        raise DomainError("request.invalid_json", "The request body is nested too deeply.") from None


def _json_response(body: dict[str, Any], schema: ma.Schema | None = None) -> Response:
    """``body`` as compact JSON, gzip-compressed when the client accepts it and it is worth it."""
    payload = json.dumps((schema or SyncResponseSchema()).dump(body), separators=(",", ":")).encode()
    return _compressed(Response(payload, mimetype="application/json"), payload)


def _compressed(response: Response, payload: bytes) -> Response:
    """``response`` gzip-compressed when the client accepts it and the body is worth it."""
    response.headers["Vary"] = "Accept, Accept-Encoding"
    if len(payload) >= encoding.GZIP_MIN_BYTES and encoding.accepts_gzip(request.headers.get("Accept-Encoding", "")):
        response.set_data(encoding.deflate(payload))
        response.headers["Content-Encoding"] = "gzip"
    return response


@blp.route("/clients")
class SyncClients(MethodView):
    @blp.login_required
    @blp.arguments(RegisterClientSchema)
    @blp.response(201, RegistrationSchema)
    @blp.alt_response(409, description="That client id belongs to someone else (`request.conflict`)")
    def post(self, body: dict[str, Any]) -> object:
        """Register this device's sync client

        Binds a replica to your account. Register again with the same id after a lost response: it is
        harmless. After a server restore (`reregister` in a sync response) register a new id.
        """
        me = context.principal()
        db = context.db()
        registration = sync_service.register_client(
            db, account_id=me.account_id, device_id=me.device_id, client_id=body["client_id"], now=context.now()
        )
        db.commit()
        return registration


@blp.route("")
class Sync(MethodView):
    @blp.login_required
    @blp.doc(
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": SyncRequestSchema}},
            "description": "May be sent with `Content-Encoding: gzip`.",
        }
    )
    @blp.response(200, SyncResponseSchema, description="Gzip-compressed when the request accepts gzip")
    @blp.alt_response(404, description="Unknown client, or another learner's (`sync.client_unknown`)")
    @blp.alt_response(413, description="Too many ops (`sync.too_many_ops`: halve the batch) or too large a body")
    @blp.alt_response(400, description="Unsupported protocol (`sync.protocol_unsupported`) or a corrupt gzip body")
    @blp.alt_response(
        422,
        description="The envelope is malformed (`request.validation_failed`); single bad ops "
        "are not errors but `rejected` entries",
    )
    def post(self) -> Response:
        """Sync: push your pending ops and pull what changed, in one round trip

        Safe to repeat: ops are applied once per `op_seq`, and the same cursor returns the same changes.
        A reset, a restore or a rejected op is a 200 answer, not an error.
        """
        try:
            parsed = parse_sync_request(_json_body())
        except InvalidRequest as error:
            raise DomainError(error.code, error.detail) from error
        claim_guard = reserve_claim_judgements(parsed.ops)
        db = context.db()
        body = sync_service.sync(
            db,
            account_id=context.principal().account_id,
            request=parsed,
            now=context.now(),
            actions=context.state().actions,
            fetcher=context.fetcher(),
            claim_guard=claim_guard,
            recognise=context.state().recognise,
        )
        db.commit()
        return _json_response(body)


@blp.route("/blobs")
class Blobs(MethodView):
    @blp.login_required
    @blp.doc(
        requestBody={"required": True, "content": {"application/json": {"schema": BlobBatchRequestSchema}}},
        responses={
            "200": {
                "description": "JSON (below), or with `Accept: "
                f"{BLOB_BATCH_MEDIA_TYPE}` a binary batch (docs/sync.md §7.3); gzip-compressed when accepted",
                "content": {"application/json": {"schema": BlobBatchSchema}, BLOB_BATCH_MEDIA_TYPE: {}},
            }
        },
    )
    @blp.alt_response(422, description="Not 1-100 ids (1-1000 for a binary batch), nor `all`")
    def post(self) -> Response:
        """Credentials you hold, in batches, by content hash

        What a device fetches after a sync for the entries whose bytes it lacks (read-only, safe to
        repeat). Ids you do not hold — another learner's included — come back in `missing`, never
        with bytes. A binary batch carries the bytes as they are (no base64), up to 1,000 ids or every
        credential at once (`{"all": true}`), cut at 8 MiB (`more`).
        """
        binary = BLOB_BATCH_MEDIA_TYPE in request.headers.get("Accept", "")
        try:
            asked = parse_blob_request(
                _json_body(storable=True), max_creds=MAX_BINARY_CREDS if binary else MAX_BLOBS_PER_FETCH
            )
        except InvalidBlobRequest as error:
            raise DomainError("request.validation_failed", str(error)) from error
        account_id = context.principal().account_id
        if not binary:
            if asked.creds is None:
                raise DomainError("request.validation_failed", f"all is for a binary batch ({BLOB_BATCH_MEDIA_TYPE})")
            held = sync_service.read_blobs(context.db(), account_id=account_id, creds=list(asked.creds))
            answer = {
                "blobs": {cred: base64.b64encode(raw).decode() for cred, raw in held.items()},
                "missing": [cred for cred in asked.creds if cred not in held],
            }
            return _json_response(answer, BlobBatchSchema())
        batch = sync_service.read_blob_batch(
            context.db(),
            account_id=account_id,
            creds=asked.creds,
            after=asked.after,
            budget=MAX_BATCH_BYTES,
            count=MAX_BINARY_CREDS,
        )
        payload = encode_blob_batch(batch.blobs, missing=batch.missing, more=batch.more)
        return _compressed(Response(payload, mimetype=BLOB_BATCH_MEDIA_TYPE), payload)


@blp.route("/blobs/<cred>")
class Blob(MethodView):
    @blp.login_required
    @blp.response(200, description="The credential's bytes exactly as held (immutable: cache it forever)")
    @blp.alt_response(304, description="Not modified")
    @blp.alt_response(404, description="You hold no credential with that hash (`credential.not_found`)")
    def get(self, cred: str) -> Response:
        """A credential you hold, by its content hash (`sha256:<hex>`)"""
        if not is_cred_hash(cred):
            raise DomainError("credential.not_found")
        held = sync_service.read_blob(context.db(), account_id=context.principal().account_id, cred=cred)
        etag = cred.removeprefix("sha256:")
        if etag in request.if_none_match:
            response = Response(status=304)
        else:
            response = Response(held.raw, mimetype=held.media_type)
        response.set_etag(etag)
        response.headers["Cache-Control"] = IMMUTABLE
        return response
