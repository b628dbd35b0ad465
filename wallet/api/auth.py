"""Sign-in, token refresh and sign-out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from wallet.accounts import recovery
from wallet.accounts import services as accounts
from wallet.api.core import Blueprint
from wallet.api.schemas import DeviceInSchema, StrictSchema, TokenPairSchema, token_pair
from wallet.errors import DomainError
from wallet.web import context, limits

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign in, refresh tokens, sign out")


class LoginSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(1, 80), metadata={"example": "sam"})
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(1, 256),
        metadata={"example": "correct horse battery"},
    )
    device = ma.fields.Nested(DeviceInSchema, required=True)


class RefreshSchema(StrictSchema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    idempotency_key = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(r"^[A-Za-z0-9_-]{16,128}$", error="16 to 128 characters: A-Z a-z 0-9 _ -"),
        metadata={
            "description": "A random value the client chose for this exchange and kept with the refresh "
            "token. Sending the same token with the same key again within the grace window "
            "(`WALLET_REFRESH_GRACE_SECONDS`) returns the same new pair instead of signing the "
            "device out, so a lost answer can be fetched again. Without it, any repeat signs out.",
            "example": "b3JhbmdlLXRyZWUtNDI",
        },
    )


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(
        LoginSchema,
        example={
            "username": "sam",
            "password": "correct horse battery",
            "device": {"name": "Sam's phone", "platform": "android"},
        },
    )
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, description="Wrong username or password (`auth.invalid_credentials`)")
    @blp.alt_response(
        429,
        description="Too many attempts from this IP or for this username (`request.rate_limited`, with `Retry-After`)",
    )
    def post(self, body: dict[str, Any]) -> dict[str, object]:
        """Sign in on a device

        Returns a short-lived access token and a refresh token bound to a new device entry.
        """
        state = context.state()
        limits.enforce(*limits.sign_in(body["username"]))
        db = context.db()
        account = accounts.authenticate(db, username=body["username"], password=body["password"], hasher=state.hasher)
        pair = accounts.open_device(
            db,
            account=account,
            name=body["device"]["name"],
            platform=body["device"]["platform"],
            policy=state.token_policy,
            now=context.now(),
        )
        db.commit()
        return token_pair(pair)


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(
        401,
        description="Signed out: the refresh token is unknown, expired or reused, or the "
        "device was signed out (`auth.signed_out`, with `reason`). Show the sign-in screen.",
    )
    @blp.alt_response(429, description="Too many refreshes from this IP (`request.rate_limited`, with `Retry-After`)")
    def post(self, body: dict[str, Any]) -> dict[str, object]:
        """Exchange a refresh token for a new token pair

        Each refresh token works once. Presenting one a second time signs that device out, except a
        repeat with the same `idempotency_key` inside the grace window while the new pair is unused,
        which returns that same pair (so a lost answer can be fetched again).
        """
        settings = context.state().settings
        limits.enforce(
            limits.by_client_ip("refresh", limit=settings.ratelimit_refresh_per_ip_per_minute, window=limits.MINUTE)
        )
        db = context.db()
        try:
            pair = accounts.rotate_refresh_token(
                db,
                refresh_token=body["refresh_token"],
                idempotency_key=body["idempotency_key"],
                policy=context.state().token_policy,
                now=context.now(),
            )
        except DomainError:
            db.commit()  # keep the revocation that reuse detection just made
            raise
        db.commit()
        return token_pair(pair)


@blp.route("/logout")
class Logout(MethodView):
    @blp.login_required
    @blp.response(204)
    def post(self) -> None:
        """Sign this device out

        Its refresh tokens stop working at once and its access token is refused on the next call.
        """
        me = context.principal()
        db = context.db()
        accounts.revoke_device(db, account_id=me.account_id, device_id=me.device_id, now=context.now())
        db.commit()


class PasswordResetSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(1, 80), metadata={"example": "sam"})
    code = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(1, 64),
        metadata={"description": "A recovery code or a reset code from a youth worker", "example": "K7QM3-XPDR2"},
    )
    new_password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(8, 128), metadata={"example": "a new long one"}
    )


@blp.route("/password-reset")
class PasswordReset(MethodView):
    @blp.arguments(PasswordResetSchema)
    @blp.response(204)
    @blp.alt_response(401, description="The code is wrong, used or expired (`auth.invalid_reset_code`)")
    @blp.alt_response(422, description="The new password is refused (`account.weak_password`); the code still works")
    @blp.alt_response(429, description="Too many attempts for this username or IP (`request.rate_limited`)")
    def post(self, body: dict[str, Any]) -> None:
        """Set a new password with a recovery or reset code

        Each code works once. Every device of the account is signed out; sign in with the new password.
        Attempts count against the same limits as sign-in for that username.
        """
        limits.enforce(*limits.sign_in(body["username"]))
        db = context.db()
        recovery.reset_password_with_code(
            db,
            username=body["username"],
            code=body["code"],
            new_password=body["new_password"],
            hasher=context.state().hasher,
            now=context.now(),
        )
        db.commit()
