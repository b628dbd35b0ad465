"""Schemas shared by several blueprints. Wire schemas know nothing of the database."""

from __future__ import annotations

import marshmallow as ma


class StrictSchema(ma.Schema):
    """Input schemas reject unknown fields: a typo in a client is an error, not silently ignored."""

    class Meta:
        unknown = ma.RAISE


class OutputSchema(ma.Schema):
    class Meta:
        ordered = True


class DeviceInSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 80),
                            metadata={"description": "A name the learner recognises", "example": "Sam's phone"})
    platform = ma.fields.String(load_default="unknown", validate=ma.validate.Length(1, 40),
                                metadata={"description": "android, ios, web, kiosk …", "example": "android"})


class TokenPairSchema(OutputSchema):
    access_token = ma.fields.String(metadata={"description": "Bearer token for API calls (short-lived)"})
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds until the access token expires",
                                             "example": 900})
    refresh_token = ma.fields.String(metadata={"description": "Single-use token to get a new pair; keep it "
                                               "secret. Reusing one signs the device out."})
    device_id = ma.fields.UUID()
    account_id = ma.fields.UUID()


def token_pair(pair: object) -> dict[str, object]:
    return {
        "access_token": pair.access_token,  # type: ignore[attr-defined]
        "token_type": "Bearer",
        "expires_in": pair.expires_in,  # type: ignore[attr-defined]
        "refresh_token": pair.refresh_token,  # type: ignore[attr-defined]
        "device_id": pair.device_id,  # type: ignore[attr-defined]
        "account_id": pair.account_id,  # type: ignore[attr-defined]
    }
