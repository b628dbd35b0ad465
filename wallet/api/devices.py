"""The learner's signed-in devices."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask.views import MethodView

from wallet.accounts import services as accounts
from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema
from wallet.web import context

blp = Blueprint("devices", __name__, url_prefix="/api/v1/me/devices", description="List and sign out your devices")


class DeviceSchema(OutputSchema):
    id = ma.fields.UUID()
    name = ma.fields.String(metadata={"example": "Sam's phone"})
    platform = ma.fields.String(metadata={"example": "android"})
    created_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime()
    current = ma.fields.Boolean(metadata={"description": "True for the device making this request"})


@blp.route("")
class Devices(MethodView):
    @blp.login_required
    @blp.response(200, DeviceSchema(many=True))
    def get(self) -> list[dict[str, object]]:
        """Your signed-in devices"""
        me = context.principal()
        return [
            {
                "id": d.id,
                "name": d.name,
                "platform": d.platform,
                "created_at": d.created_at,
                "last_seen_at": d.last_seen_at,
                "current": d.id == me.device_id,
            }
            for d in accounts.list_devices(context.db(), account_id=me.account_id)
        ]


@blp.route("/<uuid:device_id>")
class DeviceItem(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="No such device of yours (`device.not_found`)")
    def delete(self, device_id: uuid.UUID) -> None:
        """Sign a device out

        Its refresh tokens stop working at once; its next API call is refused.
        """
        db = context.db()
        accounts.revoke_device(db, account_id=context.principal().account_id, device_id=device_id, now=context.now())
        db.commit()
