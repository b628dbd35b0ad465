"""Organisations and their members (admins manage; youth workers run claim sessions)."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from wallet.accounts.services import get_account
from wallet.api.core import Blueprint
from wallet.api.schemas import OutputSchema, StrictSchema
from wallet.models import Role
from wallet.organisations import services as organisations
from wallet.web import context

blp = Blueprint(
    "organisations", __name__, url_prefix="/api/v1", description="Organisations you belong to, and their members"
)


class OrganisationSchema(OutputSchema):
    id = ma.fields.UUID()
    slug = ma.fields.String(metadata={"example": "makerspace-north"})
    name = ma.fields.String(metadata={"example": "Makerspace North"})
    description = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class MyOrganisationSchema(OrganisationSchema):
    role = ma.fields.Enum(Role, by_value=True)


class OrganisationUpdateSchema(StrictSchema):
    name = ma.fields.String(validate=ma.validate.Length(1, 120))
    description = ma.fields.String(validate=ma.validate.Length(0, 4000))
    url = ma.fields.URL(schemes={"https", "http"}, allow_none=True)


class MemberSchema(OutputSchema):
    account_id = ma.fields.UUID()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.Enum(Role, by_value=True)
    since = ma.fields.DateTime()


class MemberAddSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(3, 40))
    role = ma.fields.Enum(Role, by_value=True, required=True)


class MemberRoleSchema(StrictSchema):
    role = ma.fields.Enum(Role, by_value=True, required=True)


class InvitationSchema(OutputSchema):
    id = ma.fields.UUID()
    account_id = ma.fields.UUID()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.Enum(Role, by_value=True)
    invited_at = ma.fields.DateTime()
    status = ma.fields.String(metadata={"example": "invited", "description": "Always `invited` until answered"})


class MyInvitationSchema(OutputSchema):
    id = ma.fields.UUID()
    organisation = ma.fields.Nested(OrganisationSchema)
    role = ma.fields.Enum(Role, by_value=True)
    invited_at = ma.fields.DateTime()


def _organisation(org: Any) -> dict[str, Any]:
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "description": org.description,
        "url": org.url,
        "created_at": org.created_at,
    }


def _invitation(account: Any, invitation: Any) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "account_id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": invitation.role,
        "invited_at": invitation.created_at,
        "status": "invited",
    }


def _member(account: Any, membership: Any) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": membership.role,
        "since": membership.created_at,
    }


@blp.route("/me/organisations")
class MyOrganisations(MethodView):
    @blp.login_required
    @blp.response(200, MyOrganisationSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Organisations you are a member of, with your role"""
        rows = organisations.memberships_of(context.db(), account_id=context.principal().account_id)
        return [{**_organisation(org), "role": role} for org, role in rows]


@blp.route("/me/invitations")
class MyInvitations(MethodView):
    @blp.login_required
    @blp.response(200, MyInvitationSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Organisations that invited you to be staff, waiting for your answer"""
        rows = organisations.invitations_for(context.db(), account_id=context.principal().account_id)
        return [
            {"id": inv.id, "organisation": _organisation(org), "role": inv.role, "invited_at": inv.created_at}
            for org, inv in rows
        ]


@blp.route("/me/invitations/<uuid:invitation_id>/accept")
class AcceptInvitation(MethodView):
    @blp.login_required
    @blp.response(200, MyOrganisationSchema)
    @blp.alt_response(404, description="No such invitation for you (`invitation.not_found`)")
    def post(self, invitation_id: uuid.UUID) -> dict[str, Any]:
        """Accept an invitation: you become a member with the offered role"""
        db = context.db()
        org, membership = organisations.accept_invitation(
            db, account_id=context.principal().account_id, invitation_id=invitation_id, now=context.now()
        )
        db.commit()
        return {**_organisation(org), "role": membership.role}


@blp.route("/me/invitations/<uuid:invitation_id>/decline")
class DeclineInvitation(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="No such invitation for you (`invitation.not_found`)")
    def post(self, invitation_id: uuid.UUID) -> None:
        """Decline an invitation; the organisation sees it is gone"""
        db = context.db()
        organisations.decline_invitation(db, account_id=context.principal().account_id, invitation_id=invitation_id)
        db.commit()


@blp.route("/organisations/<slug>")
class OrganisationItem(MethodView):
    @blp.login_required
    @blp.response(200, OrganisationSchema)
    @blp.alt_response(404, description="No such organisation, or you are not a member")
    def get(self, slug: str) -> object:
        """An organisation you belong to"""
        return organisations.require_role(
            context.db(), slug=slug, actor=context.principal().account_id, roles=organisations.ANY_MEMBER
        )

    @blp.login_required
    @blp.arguments(OrganisationUpdateSchema)
    @blp.response(200, OrganisationSchema)
    @blp.alt_response(403, description="Only admins may change the organisation")
    def patch(self, body: dict[str, Any], slug: str) -> object:
        """Change the organisation's name, description or website (admins)"""
        db = context.db()
        organisation = organisations.update_organisation(db, slug=slug, actor=context.principal().account_id, **body)
        db.commit()
        return organisation


@blp.route("/organisations/<slug>/members")
class Members(MethodView):
    @blp.login_required
    @blp.response(200, MemberSchema(many=True))
    def get(self, slug: str) -> list[dict[str, Any]]:
        """Members and their roles (admins)"""
        rows = organisations.list_members(context.db(), slug=slug, actor=context.principal().account_id)
        return [_member(account, membership) for account, membership in rows]

    @blp.login_required
    @blp.arguments(MemberAddSchema, example={"username": "alex", "role": "youth_worker"})
    @blp.response(202, InvitationSchema)
    @blp.alt_response(409, description="Already a member (`organisation.already_member`)")
    def post(self, body: dict[str, Any], slug: str) -> dict[str, Any]:
        """Invite an existing account to be a member (admins)

        Nobody becomes staff without saying yes: the account holder sees the invitation at
        `GET /api/v1/me/invitations` and accepts or declines it. Inviting again changes the offered role.
        """
        db = context.db()
        account, invitation = organisations.offer_membership(
            db,
            slug=slug,
            actor=context.principal().account_id,
            username=body["username"],
            role=body["role"],
            now=context.now(),
        )
        db.commit()
        return _invitation(account, invitation)


@blp.route("/organisations/<slug>/invitations")
class Invitations(MethodView):
    @blp.login_required
    @blp.response(200, InvitationSchema(many=True))
    def get(self, slug: str) -> list[dict[str, Any]]:
        """Invitations not yet answered (admins)"""
        rows = organisations.pending_invitations(context.db(), slug=slug, actor=context.principal().account_id)
        return [_invitation(account, invitation) for account, invitation in rows]


@blp.route("/organisations/<slug>/invitations/<uuid:invitation_id>")
class InvitationItem(MethodView):
    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="No such invitation (`invitation.not_found`)")
    def delete(self, slug: str, invitation_id: uuid.UUID) -> None:
        """Withdraw an invitation (admins)"""
        db = context.db()
        organisations.withdraw_invitation(
            db, slug=slug, actor=context.principal().account_id, invitation_id=invitation_id
        )
        db.commit()


@blp.route("/organisations/<slug>/members/<uuid:account_id>")
class MemberItem(MethodView):
    @blp.login_required
    @blp.arguments(MemberRoleSchema)
    @blp.response(200, MemberSchema)
    @blp.alt_response(409, description="The last admin cannot be demoted (`organisation.last_admin`)")
    def patch(self, body: dict[str, Any], slug: str, account_id: uuid.UUID) -> dict[str, Any]:
        """Change a member's role (admins)"""
        db = context.db()
        membership = organisations.change_role(
            db, slug=slug, actor=context.principal().account_id, account_id=account_id, role=body["role"]
        )
        db.commit()
        return _member(get_account(db, account_id=account_id), membership)

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(409, description="The last admin cannot leave (`organisation.last_admin`)")
    def delete(self, slug: str, account_id: uuid.UUID) -> None:
        """Remove a member (admins)"""
        db = context.db()
        organisations.remove_member(db, slug=slug, actor=context.principal().account_id, account_id=account_id)
        db.commit()
