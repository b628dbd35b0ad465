"""Schemas shared by several blueprints. Wire schemas know nothing of the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma

# Integers a JSON client can hold exactly (JavaScript's Number.MAX_SAFE_INTEGER) and every column can store.
MAX_SAFE_INTEGER = 2**53 - 1


def unstorable_reason(value: Any) -> str | None:
    """Why ``value`` (a loaded field, or anything inside one) cannot be stored, or None.

    A NUL in text (PostgreSQL refuses it), an integer outside ±2^53, or an aware date-time whose UTC
    instant falls outside years 1-9999 (``0001-01-01T00:00:00+14:00`` is in year 0 in UTC: the
    database layer, which stores UTC, would raise ``OverflowError``).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return "Must not contain NUL characters."
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
            return f"Must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."
        if isinstance(item, dt.datetime) and item.tzinfo is not None:
            try:
                item.astimezone(dt.UTC)
            except OverflowError:
                return "Must be a date-time between years 1 and 9999 in UTC."
        if isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
    return None


class StrictSchema(ma.Schema):
    """Input schemas reject unknown fields: a typo in a client is an error, not silently ignored.

    Every input schema also refuses, field by field with a 422, values that no database can store (see
    :func:`unstorable_reason`) — one rule for every string, number and date-time, body or query.
    """

    class Meta:
        unknown = ma.RAISE

    @ma.validates_schema(skip_on_field_errors=False)
    def _refuse_unstorable_values(self, data: dict[str, Any], **_kwargs: Any) -> None:
        errors = {name: [reason] for name, value in data.items() if (reason := unstorable_reason(value))}
        if errors:
            raise ma.ValidationError(errors)


class OutputSchema(ma.Schema):
    class Meta:
        ordered = True


class DeviceInSchema(StrictSchema):
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 80),
        metadata={"description": "A name the learner recognises", "example": "Sam's phone"},
    )
    platform = ma.fields.String(
        load_default="unknown",
        validate=ma.validate.Length(1, 40),
        metadata={"description": "android, ios, web, kiosk …", "example": "android"},
    )


class TokenPairSchema(OutputSchema):
    access_token = ma.fields.String(metadata={"description": "Bearer token for API calls (short-lived)"})
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds until the access token expires", "example": 900})
    refresh_token = ma.fields.String(
        metadata={
            "description": "Single-use token to get a new pair; keep it secret. Reusing one signs the device out."
        }
    )
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
