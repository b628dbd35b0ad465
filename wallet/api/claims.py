"""Claim sessions (youth workers) and redeeming claim codes (learners). See docs/claims.md."""

from __future__ import annotations

import json
import uuid
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.claims import display, moderation, sessions
from wallet.claims.codes import card_url, session_qr
from wallet.claims.redeem import Redemption, redeem_code
from wallet.errors import DomainError
from wallet.models import ClaimSession, ClaimStatus, SessionMode, SessionState
from wallet.transactions import unit_of_work
from wallet.web import context
from wallet.web.context import claim_config as config
from wallet.web.guessing import code_guard
from wallet.web.qr import qr_image_response

blp = Blueprint(
    "claims",
    __name__,
    url_prefix="/api/v1",
    description="Claim sessions: hand out badges by QR code, printed cards or typed codes",
)


# --- Schemas ---------------------------------------------------------------------------------------


class SessionCreateSchema(StrictSchema):
    achievement_id = ma.fields.UUID(required=True)
    title = ma.fields.String(
        required=True, validate=ma.validate.Length(1, 200), metadata={"example": "Soldering workshop"}
    )
    venue = ma.fields.String(
        load_default="", validate=ma.validate.Length(0, 200), metadata={"example": "Makerspace North, room 2"}
    )
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    cap = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(1, 100_000),
        metadata={"description": "Most claims; single-use sessions default to their codes"},
    )
    mode = ma.fields.Enum(SessionMode, by_value=True, load_default=SessionMode.SHARED)
    codes = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(1, 500),
        metadata={"description": "Number of single-use cards (single_use mode)"},
    )
    pin = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(r"^[0-9]{4,8}$"),
        metadata={"description": "4-8 digits, told aloud in the room", "example": "4821"},
    )
    rotating = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Range(10, 3600),
        metadata={"description": "Rotate the shared QR every so many seconds"},
    )
    moderated = ma.fields.Boolean(
        load_default=False, metadata={"description": "Claims wait for a youth worker's approval"}
    )


class SessionUpdateSchema(StrictSchema):
    state = ma.fields.Enum(
        SessionState, by_value=True, metadata={"description": "paused, open (resume or reopen) or closed"}
    )
    ends_at = ma.fields.AwareDateTime()
    cap = ma.fields.Integer(validate=ma.validate.Range(1, 100_000))
    title = ma.fields.String(validate=ma.validate.Length(1, 200))
    venue = ma.fields.String(validate=ma.validate.Length(0, 200))


class SessionSchema(OutputSchema):
    id = ma.fields.UUID()
    public_id = ma.fields.String()
    achievement_id = ma.fields.UUID()
    title = ma.fields.String()
    venue = ma.fields.String()
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime()
    cap = ma.fields.Integer()
    claimed = ma.fields.Integer(metadata={"description": "Claims made, pending ones included"})
    mode = ma.fields.Enum(SessionMode, by_value=True)
    pin = ma.fields.String(allow_none=True, metadata={"description": "Shown to the organisation's members only"})
    rotating = ma.fields.Integer(allow_none=True, attribute="rotation_period_s")
    moderated = ma.fields.Boolean()
    state = ma.fields.Enum(SessionState, by_value=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class QrPayloadSchema(OutputSchema):
    url = ma.fields.String(metadata={"description": "What the QR holds"})
    token = ma.fields.String()
    fallback = ma.fields.String(allow_none=True, metadata={"description": "Typed fallback, e.g. K7Q-M3X-PDR"})
    step = ma.fields.Integer(allow_none=True, metadata={"description": "Rotation step (rotating sessions)"})
    rotating = ma.fields.Integer(allow_none=True, attribute="period_s")
    next_change_at = ma.fields.DateTime(allow_none=True)
    pin = ma.fields.String(allow_none=True)


class QrImageQuerySchema(StrictSchema):
    box_size = ma.fields.Integer(
        load_default=10, validate=ma.validate.Range(1, 40), metadata={"description": "Pixels per module"}
    )
    border = ma.fields.Integer(
        load_default=4,
        validate=ma.validate.Range(0, 16),
        metadata={"description": "Quiet zone in modules (4 is the standard)"},
    )
    error_correction = ma.fields.String(load_default="M", validate=ma.validate.OneOf(["L", "M", "Q", "H"]))


class CardsQuerySchema(StrictSchema):
    page = ma.fields.String(load_default="A4", validate=ma.validate.OneOf(["A4", "Letter"]))


class ClaimSchema(OutputSchema):
    id = ma.fields.UUID()
    display_name = ma.fields.String()
    status = ma.fields.Enum(ClaimStatus, by_value=True)
    claimed_at = ma.fields.DateTime()
    scanned_at = ma.fields.DateTime(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)


class ClaimListQuerySchema(StrictSchema):
    status = ma.fields.Enum(ClaimStatus, by_value=True, load_default=None)


class DecisionSchema(StrictSchema):
    decision = ma.fields.Enum(moderation.Decision, by_value=True, required=True)
    reason = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 500))


class CountSchema(OutputSchema):
    claimed = ma.fields.Integer()
    cap = ma.fields.Integer()
    issued = ma.fields.Integer()
    pending = ma.fields.Integer()
    state = ma.fields.Enum(SessionState, by_value=True)


class DisplayLinkSchema(OutputSchema):
    url = ma.fields.String(metadata={"description": "Open on the projector or tablet; no sign-in needed"})
    expires_at = ma.fields.DateTime()


class RedeemSchema(StrictSchema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 512),
        metadata={"description": "The scanned URL, the bare token, or the typed fallback", "example": "K7Q-M3X-PDR"},
    )
    pin = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(1, 16))
    scanned_at = ma.fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"description": "When the phone scanned it (offline claims)"}
    )


class RedeemResultSchema(OutputSchema):
    claim_id = ma.fields.UUID()
    status = ma.fields.Enum(ClaimStatus, by_value=True)
    repeat = ma.fields.Boolean(metadata={"description": "True when you had already claimed in this session"})
    session_title = ma.fields.String()
    venue = ma.fields.String()
    held_credential_id = ma.fields.UUID(allow_none=True, metadata={"description": "Its id in your wallet"})
    credential = ma.fields.Dict(allow_none=True, metadata={"description": "The signed OpenBadgeCredential"})


class MyClaimSchema(OutputSchema):
    claim_id = ma.fields.UUID()
    status = ma.fields.Enum(ClaimStatus, by_value=True)
    session_title = ma.fields.String()
    venue = ma.fields.String()
    achievement_name = ma.fields.String()
    issuer_name = ma.fields.String()
    claimed_at = ma.fields.DateTime()
    held_credential_id = ma.fields.UUID(allow_none=True)


# --- Helpers ---------------------------------------------------------------------------------------


def _session_out(session: ClaimSession) -> dict[str, Any]:
    data = {
        column: getattr(session, column)
        for column in (
            "id",
            "public_id",
            "achievement_id",
            "title",
            "venue",
            "starts_at",
            "ends_at",
            "cap",
            "claimed",
            "mode",
            "rotation_period_s",
            "moderated",
            "state",
            "closed_at",
            "created_at",
        )
    }
    data["pin"] = sessions.session_pin(session, config=config())
    return data


def redemption_out(redemption: Redemption) -> tuple[dict[str, Any], int]:
    """The redeem response and its status: 201 new credential, 202 pending approval, 200 repeat."""
    claim = redemption.claim
    body = {
        "claim_id": claim.id,
        "status": claim.status,
        "repeat": not redemption.created,
        "session_title": redemption.session.title,
        "venue": redemption.session.venue,
        "held_credential_id": claim.held_credential_id,
        "credential": json.loads(redemption.credential_json) if redemption.credential_json else None,
    }
    if claim.status is ClaimStatus.PENDING:
        return body, 202
    return body, 201 if redemption.created else 200


def _me() -> uuid.UUID:
    return context.principal().account_id


# --- Routes ----------------------------------------------------------------------------------------


@blp.route("/organisations/<slug>/claim-sessions")
class ClaimSessions(MethodView):
    @blp.login_required
    @blp.response(200, SessionSchema(many=True))
    def get(self, slug: str) -> list[dict[str, Any]]:
        """The organisation's claim sessions, newest first (youth workers, admins)"""
        return [_session_out(s) for s in sessions.list_sessions(context.db(), organisation_slug=slug, actor=_me())]

    @blp.login_required
    @blp.arguments(
        SessionCreateSchema,
        example={
            "achievement_id": "6f1c1a52-5d0b-4a0e-9d43-2b0f3c6f0f11",
            "title": "Soldering workshop",
            "venue": "Makerspace North",
            "starts_at": "2026-11-23T15:00:00Z",
            "ends_at": "2026-11-23T18:00:00Z",
            "cap": 30,
            "mode": "shared",
            "pin": "4821",
            "rotating": 30,
        },
    )
    @blp.response(201, SessionSchema)
    @blp.alt_response(404, description="No such organisation or achievement")
    def post(self, body: dict[str, Any], slug: str) -> dict[str, Any]:
        """Open a claim session for one of the organisation's achievements (youth workers, admins)"""
        db = context.db()
        session = sessions.open_session(
            db,
            organisation_slug=slug,
            achievement_id=body["achievement_id"],
            actor=_me(),
            title=body["title"],
            venue=body["venue"],
            starts_at=body["starts_at"],
            ends_at=body["ends_at"],
            cap=body["cap"],
            mode=body["mode"],
            codes=body["codes"],
            pin=body["pin"],
            rotation_period_s=body["rotating"],
            moderated=body["moderated"],
            config=config(),
            now=context.now(),
        )
        db.commit()
        return _session_out(session)


@blp.route("/claim-sessions/<uuid:session_id>")
class ClaimSessionItem(MethodView):
    @blp.login_required
    @blp.response(200, SessionSchema)
    @blp.alt_response(404, description="No such session in your organisations (`claim.session_not_found`)")
    def get(self, session_id: uuid.UUID) -> dict[str, Any]:
        """A claim session"""
        return _session_out(sessions.require_session(context.db(), session_id=session_id, actor=_me()))

    @blp.login_required
    @blp.arguments(SessionUpdateSchema, example={"state": "paused"})
    @blp.response(200, SessionSchema)
    @blp.alt_response(409, description="Cannot reopen an ended session without a later `ends_at`")
    def patch(self, body: dict[str, Any], session_id: uuid.UUID) -> dict[str, Any]:
        """Pause, resume, close early or reopen a session; change its end, cap, title or venue"""
        db = context.db()
        session = sessions.update_session(db, session_id=session_id, actor=_me(), now=context.now(), **body)
        db.commit()
        return _session_out(session)


@blp.route("/claim-sessions/<uuid:session_id>/qr")
class ClaimSessionQr(MethodView):
    @blp.login_required
    @blp.response(200, QrPayloadSchema)
    @blp.alt_response(409, description="Single-use sessions have printed cards, not a shared QR")
    def get(self, session_id: uuid.UUID) -> dict[str, Any]:
        """What the shared QR holds right now: URL, typed fallback, rotation step and PIN"""
        db = context.db()
        session = sessions.require_shared(sessions.require_session(db, session_id=session_id, actor=_me()))
        payload = session_qr(session, config=config(), now=context.now())
        return {**payload.__dict__, "pin": sessions.session_pin(session, config=config())}


def _qr_image(session_id: uuid.UUID, fmt: str, query: dict[str, Any]) -> Response:
    db = context.db()
    session = sessions.require_shared(sessions.require_session(db, session_id=session_id, actor=_me()))
    return qr_image_response(session_qr(session, config=config(), now=context.now()).url, fmt=fmt, query=query)


@blp.route("/claim-sessions/<uuid:session_id>/qr.png")
class ClaimSessionQrPng(MethodView):
    @blp.login_required
    @blp.arguments(QrImageQuerySchema, location="query")
    @blp.response(200, content_type="image/png", description="The current shared QR as PNG")
    @blp.alt_response(304, description="Unchanged since the `If-None-Match` ETag")
    def get(self, query: dict[str, Any], session_id: uuid.UUID) -> Response:
        """The shared QR as a PNG image"""
        return _qr_image(session_id, "png", query)


@blp.route("/claim-sessions/<uuid:session_id>/qr.svg")
class ClaimSessionQrSvg(MethodView):
    @blp.login_required
    @blp.arguments(QrImageQuerySchema, location="query")
    @blp.response(200, content_type="image/svg+xml", description="The current shared QR as SVG")
    @blp.alt_response(304, description="Unchanged since the `If-None-Match` ETag")
    def get(self, query: dict[str, Any], session_id: uuid.UUID) -> Response:
        """The shared QR as an SVG image"""
        return _qr_image(session_id, "svg", query)


@blp.route("/claim-sessions/<uuid:session_id>/cards.pdf")
class ClaimSessionCards(MethodView):
    @blp.login_required
    @blp.arguments(CardsQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf", description="Printable cards, eight per page")
    @blp.alt_response(409, description="Only single-use sessions have cards")
    def get(self, query: dict[str, Any], session_id: uuid.UUID) -> Response:
        """The single-use cards to print: badge name, QR and typed fallback on each"""
        from wallet.qr.cards import Card, single_use_cards_pdf

        db = context.db()
        session, codes = sessions.single_use_codes(db, session_id=session_id, actor=_me())
        unspent = [code for code in codes if code.redeemed_at is None and code.expired_at is None]
        if not unspent:
            raise DomainError("request.conflict", "Every card of this session is used or expired.")
        pdf = single_use_cards_pdf(
            badge_name=sessions.achievement_of(db, session).name,
            issuer_name=sessions.organisation_of(db, session).name,
            cards=[Card(card_url(code, config=config()), code.fallback_code) for code in unspent],
            code_entry_address=config().base_url.split("://", 1)[-1].rstrip("/") + "/code",
            page=query["page"],
        )
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="claim-cards-{session.public_id}.pdf"'
        return response


@blp.route("/claim-sessions/<uuid:session_id>/claims")
class ClaimList(MethodView):
    @blp.login_required
    @blp.arguments(ClaimListQuerySchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    def get(self, query: dict[str, Any], session_id: uuid.UUID) -> list[dict[str, Any]]:
        """Who claimed, by display name only, with each claim's status (youth workers, admins)"""
        rows = sessions.list_claims(context.db(), session_id=session_id, actor=_me(), status=query["status"])
        return [
            {
                "id": r.claim.id,
                "display_name": r.display_name,
                "status": r.claim.status,
                "claimed_at": r.claim.created_at,
                "scanned_at": r.claim.scanned_at,
                "decided_at": r.claim.decided_at,
            }
            for r in rows
        ]


@blp.route("/claim-sessions/<uuid:session_id>/claims.csv")
class ClaimCsv(MethodView):
    @blp.login_required
    @blp.response(200, content_type="text/csv", description="display_name, claimed_at, status")
    def get(self, session_id: uuid.UUID) -> Response:
        """The claim list as CSV, with no more personal data than a register needs"""
        text = sessions.claims_csv(context.db(), session_id=session_id, actor=_me())
        response = Response(text, mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="claims-{session_id}.csv"'
        return response


@blp.route("/claim-sessions/<uuid:session_id>/claims/<uuid:claim_id>/decision")
class ClaimDecision(MethodView):
    @blp.login_required
    @blp.arguments(DecisionSchema, example={"decision": "approve"})
    @blp.response(200, ClaimSchema)
    @blp.alt_response(409, description="The claim is not in a state this decision applies to")
    def post(self, body: dict[str, Any], session_id: uuid.UUID, claim_id: uuid.UUID) -> dict[str, Any]:
        """Approve or reject a pending claim, or revoke an issued one (a mistake)"""
        db = context.db()
        claim = moderation.decide_claim(
            db,
            session_id=session_id,
            claim_id=claim_id,
            actor=_me(),
            decision=body["decision"],
            reason=body["reason"],
            config=config(),
            now=context.now(),
        )
        db.commit()
        rows = sessions.list_claims(db, session_id=session_id, actor=_me())
        name = next(r.display_name for r in rows if r.claim.id == claim.id)
        return {
            "id": claim.id,
            "display_name": name,
            "status": claim.status,
            "claimed_at": claim.created_at,
            "scanned_at": claim.scanned_at,
            "decided_at": claim.decided_at,
        }


@blp.route("/claim-sessions/<uuid:session_id>/count")
class ClaimCount(MethodView):
    @blp.login_required
    @blp.response(200, CountSchema)
    def get(self, session_id: uuid.UUID) -> object:
        """Live claim count (numbers only)"""
        return sessions.session_counts(context.db(), session_id=session_id, actor=_me())


@blp.route("/claim-sessions/<uuid:session_id>/display-link")
class ClaimDisplayLink(MethodView):
    @blp.login_required
    @blp.response(201, DisplayLinkSchema)
    def post(self, session_id: uuid.UUID) -> dict[str, Any]:
        """A link for the projector or tablet: QR, PIN and live count, without signing in there"""
        url, expires_at = display.display_link(
            context.db(), session_id=session_id, actor=_me(), config=config(), now=context.now()
        )
        return {"url": url, "expires_at": expires_at}


@blp.route("/claims/redeem")
class Redeem(MethodView):
    @blp.login_required
    @blp.arguments(RedeemSchema, example={"code": "HTTPS://WALLET.EXAMPLE/C/2642BM44C4JVFDRQ8Q66TEC760", "pin": "4821"})
    @blp.response(201, RedeemResultSchema, description="Claimed: the credential is in your wallet")
    @blp.alt_response(200, schema=RedeemResultSchema, description="You had already claimed: the same credential")
    @blp.alt_response(202, schema=RedeemResultSchema, description="Waiting for the youth worker's approval")
    @blp.alt_response(403, description="`claim.wrong_pin`, `claim.pin_required` or `claim.rejected`")
    @blp.alt_response(404, description="`claim.unknown_code`")
    @blp.alt_response(
        409,
        description="`claim.not_started`, `claim.closed`, `claim.paused`, `claim.session_full`, "
        "`claim.already_claimed`",
    )
    @blp.alt_response(410, description="`claim.ended` or `claim.expired_code`")
    @blp.alt_response(429, description="`claim.locked_out` (with `Retry-After`) or `request.rate_limited`")
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Claim a badge with a scanned or typed code (and the PIN, if the session has one)

        Safe to retry: a learner holds at most one credential per session, and a repeat returns it.
        """
        with unit_of_work(context.db()) as db:
            redemption = redeem_code(
                db,
                account_id=_me(),
                code=body["code"],
                pin=body["pin"],
                scanned_at=body["scanned_at"],
                now=context.now(),
                config=config(),
                guard=code_guard(_me()),
            )
        return redemption_out(redemption)


@blp.route("/me/claims")
class MyClaims(MethodView):
    @blp.login_required
    @blp.response(200, MyClaimSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Your claims, newest first (a pending claim shows here when it is approved)"""
        return [
            {
                "claim_id": c.claim.id,
                "status": c.claim.status,
                "session_title": c.session_title,
                "venue": c.venue,
                "achievement_name": c.achievement_name,
                "issuer_name": c.issuer_name,
                "claimed_at": c.claim.created_at,
                "held_credential_id": c.claim.held_credential_id,
            }
            for c in moderation.my_claims(context.db(), account_id=_me())
        ]
