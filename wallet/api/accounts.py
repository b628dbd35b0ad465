"""The learner's own account: sign-up, profile, password, export and erasure."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from wallet import personal_data as account_export
from wallet.accounts import recovery
from wallet.accounts import services as accounts
from wallet.api.core import Blueprint
from wallet.api.schemas import DeviceInSchema, OutputSchema, StrictSchema, TokenPairSchema, token_pair
from wallet.db import scrub_after_erasure
from wallet.web import context, limits

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Sign up and manage your account")


class SignUpSchema(StrictSchema):
    username = ma.fields.String(
        required=True,
        validate=ma.validate.Length(3, 40),
        metadata={"description": "Letters, digits, '.', '-' or '_'", "example": "sam"},
    )
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(8, 128),
        metadata={"example": "correct horse battery"},
    )
    display_name = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(0, 80),
        metadata={"description": "Shown on shared badges", "example": "Sam K."},
    )
    email = ma.fields.Email(
        load_default=None, allow_none=True, metadata={"description": "Optional; never put into a credential"}
    )
    device = ma.fields.Nested(DeviceInSchema, required=True)


class AccountSchema(OutputSchema):
    id = ma.fields.UUID()
    username = ma.fields.String()
    display_name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    subject_id = ma.fields.String(metadata={"description": "Your identifier inside credentials"})
    created_at = ma.fields.DateTime()


class ProfileUpdateSchema(StrictSchema):
    display_name = ma.fields.String(validate=ma.validate.Length(1, 80))
    email = ma.fields.Email(allow_none=True)


class PasswordChangeSchema(StrictSchema):
    current_password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(1, 256))
    new_password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(8, 128))


class DeleteAccountSchema(StrictSchema):
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(1, 256),
        metadata={"description": "Confirms the erasure"},
    )


class SignUpResultSchema(TokenPairSchema):
    account = ma.fields.Nested(AccountSchema)
    recovery_codes = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "Show these once and tell the learner to keep them: each sets a new password once "
            "(`POST /api/v1/auth/password-reset`) if the password is forgotten. Never stored in the clear.",
            "example": ["7KQM-3XPD-R2ZA-9WTN"],
        },
    )


class RecoveryCodesInSchema(StrictSchema):
    password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(1, 256), metadata={"description": "Confirms it"}
    )


class RecoveryCodesSchema(OutputSchema):
    recovery_codes = ma.fields.List(
        ma.fields.String(), metadata={"description": "Shown once; the old ones stop working"}
    )


class ResetCodeSchema(OutputSchema):
    code = ma.fields.String(metadata={"description": "Hand it over in person; shown once", "example": "K7QM3-XPDR2"})
    username = ma.fields.String()
    expires_at = ma.fields.DateTime()


@blp.route("/accounts")
class SignUp(MethodView):
    @blp.arguments(
        SignUpSchema,
        example={
            "username": "sam",
            "password": "correct horse battery",
            "display_name": "Sam K.",
            "device": {"name": "Sam's phone", "platform": "android"},
        },
    )
    @blp.response(201, SignUpResultSchema)
    @blp.alt_response(409, description="Username taken (`account.username_taken`)")
    @blp.alt_response(429, description="Too many sign-ups from this IP (`request.rate_limited`, with `Retry-After`)")
    def post(self, body: dict[str, Any]) -> dict[str, object]:
        """Sign up

        No email needed. Returns tokens for the device signing up, so the learner is in at once.
        """
        state = context.state()
        limits.enforce(limits.sign_up())
        db = context.db()
        now = context.now()
        account = accounts.sign_up(
            db,
            username=body["username"],
            password=body["password"],
            display_name=body["display_name"],
            email=body["email"],
            hasher=state.hasher,
            now=now,
        )
        pair = accounts.open_device(
            db,
            account=account,
            name=body["device"]["name"],
            platform=body["device"]["platform"],
            policy=state.token_policy,
            now=now,
        )
        codes = recovery.new_recovery_codes(db, account_id=account.id, now=now)
        db.commit()
        return {**token_pair(pair), "account": account, "recovery_codes": codes}


@blp.route("/me")
class Me(MethodView):
    @blp.login_required
    @blp.response(200, AccountSchema)
    def get(self) -> object:
        """Your account"""
        return accounts.get_account(context.db(), account_id=context.principal().account_id)

    @blp.login_required
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, AccountSchema)
    def patch(self, body: dict[str, Any]) -> object:
        """Change your display name or email"""
        db = context.db()
        account = accounts.update_profile(
            db,
            account_id=context.principal().account_id,
            display_name=body.get("display_name"),
            email=body.get("email"),
            clear_email="email" in body and body["email"] is None,
        )
        db.commit()
        return account

    @blp.login_required
    @blp.arguments(DeleteAccountSchema)
    @blp.response(204)
    def delete(self, body: dict[str, Any]) -> None:
        """Delete your account and everything in it

        Erases the account, its devices, credentials, collections, share links and claims. Cannot be undone.
        """
        db = context.db()
        accounts.delete_account(
            db, account_id=context.principal().account_id, password=body["password"], hasher=context.state().hasher
        )
        db.commit()
        db.close()  # end this request's connection first, so the checkpoint can copy every frame
        scrub_after_erasure(context.state().engine)


@blp.route("/me/password")
class Password(MethodView):
    @blp.login_required
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, body: dict[str, Any]) -> None:
        """Change your password

        Every other device is signed out. An account signed in with a one-time password (an invite,
        `wallet org create`) must do this first: every other call answers 403
        `account.password_change_required`, and `current_password` is not checked (it was spent).
        """
        me = context.principal()
        db = context.db()
        accounts.change_password(
            db,
            account_id=me.account_id,
            current_password=body["current_password"],
            new_password=body["new_password"],
            hasher=context.state().hasher,
            keep_device_id=me.device_id,
            now=context.now(),
        )
        db.commit()


class ExportSchema(OutputSchema):
    format = ma.fields.String(metadata={"example": account_export.EXPORT_FORMAT})
    exported_at = ma.fields.String()
    account = ma.fields.Dict()
    devices = ma.fields.List(ma.fields.Dict())
    memberships = ma.fields.List(ma.fields.Dict())
    credentials = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Held credentials: metadata, latest verification and the credential itself"},
    )
    shares = ma.fields.List(ma.fields.Dict(), metadata={"description": "Your share links, with view counts"})
    issued_to_you = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "Badges organisations here issued to you, with revocations"}
    )
    claims = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "Your claims at claim sessions (session, venue, status, times)"}
    )
    badge_requests = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "Badges you asked for: what you sent (files as base64), answers"}
    )
    sync = ma.fields.Dict(
        metadata={"description": "Synced wallet metadata (notes, tags, collections) and sync clients"}
    )


@blp.route("/me/export")
class Export(MethodView):
    @blp.login_required
    @blp.response(200, ExportSchema)
    def get(self) -> dict[str, Any]:
        """Export all your data as one JSON document"""
        return account_export.export_account(context.db(), account_id=context.principal().account_id, now=context.now())


@blp.route("/me/recovery-codes")
class RecoveryCodes(MethodView):
    @blp.login_required
    @blp.arguments(RecoveryCodesInSchema)
    @blp.response(201, RecoveryCodesSchema)
    @blp.alt_response(401, description="Wrong password (`auth.invalid_credentials`); the codes did not change")
    @blp.alt_response(429, description="Too many attempts for this username (`request.rate_limited`)")
    def post(self, body: dict[str, Any]) -> dict[str, object]:
        """Make new recovery codes

        The old codes stop working. Confirmed with the password, judged under the sign-in limits.
        """
        db = context.db()
        me = accounts.get_account(db, account_id=context.principal().account_id)
        limits.enforce(*limits.sign_in(me.username))
        db = context.db()
        codes = recovery.regenerate_recovery_codes(
            db, account_id=me.id, password=body["password"], hasher=context.state().hasher, now=context.now()
        )
        db.commit()
        return {"recovery_codes": codes}


@blp.route("/accounts/<username>/reset-code")
class ResetCode(MethodView):
    @blp.login_required
    @blp.response(201, ResetCodeSchema)
    @blp.alt_response(
        403,
        description="Not yours to reset (`auth.forbidden`): staff may reset a learner their organisation gave a "
        "badge (or a claim); only an admin of their organisation may reset a youth worker or admin",
    )
    @blp.alt_response(404, description="No such username (`account.not_found`)")
    @blp.alt_response(429, description="Too many reset codes issued by you this hour (`request.rate_limited`)")
    def post(self, username: str) -> object:
        """Issue a password reset code for a learner (staff)

        For a learner who forgot their password and has no recovery code: a youth worker or admin hands the
        code over in person; it works once, for 30 minutes, on `/reset` or `POST /api/v1/auth/password-reset`.
        Issuing a new one cancels the previous one. See docs/security.md, "Reset codes".
        """
        me = context.principal()
        limits.enforce(limits.reset_code_issuing(me.account_id))
        db = context.db()
        issued = recovery.issue_reset_code_for_username(
            db, username=username[:80], issued_by=me.account_id, now=context.now()
        )
        db.commit()
        return issued
