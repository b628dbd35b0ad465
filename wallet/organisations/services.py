"""Organisation services. Authorisation lives here, not in views: every function that acts for an
organisation takes the acting account and checks its role, so no entry point can forget."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.accounts.services import create_with_one_time_password, get_account, normalise_username
from wallet.errors import DomainError
from wallet.models import Account, Membership, MembershipInvitation, Organisation, Role

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows (``Europe/London``), else a 422."""
    name = (name or "").strip()
    try:
        if name and "\x00" not in name and len(name) <= 60:
            zoneinfo.ZoneInfo(name)
            return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    raise DomainError(
        "request.validation_failed",
        "Pick a time zone from the list, like Europe/London.",
        errors={"time_zone": ["an IANA time zone name, like Europe/London"]},
    )


def create_organisation(
    db: Session,
    *,
    slug: str,
    name: str,
    description: str = "",
    url: str | None = None,
    time_zone: str = "UTC",
    now: dt.datetime,
) -> Organisation:
    """Operators create organisations (the CLI, or the operator's console page); no self-service."""
    if not _SLUG.match(slug):
        raise DomainError(
            "request.validation_failed",
            "A slug has lower-case letters, digits and hyphens.",
            errors={"slug": ["lower-case letters, digits and hyphens, 1 to 60 characters"]},
        )
    if not name.strip() or len(name) > 120:
        raise DomainError(
            "request.validation_failed", "Give the organisation a name.", errors={"name": ["1 to 120 characters"]}
        )
    organisation = Organisation(
        slug=slug,
        name=name.strip(),
        description=description,
        url=url,
        time_zone=check_time_zone(time_zone),
        created_at=now,
    )
    db.add(organisation)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as error:
        raise DomainError("organisation.slug_taken") from error
    return organisation


def get_by_slug(db: Session, *, slug: str) -> Organisation:
    organisation = db.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise DomainError("organisation.not_found")
    return organisation


def role_of(db: Session, *, organisation_id: uuid.UUID, account_id: uuid.UUID) -> Role | None:
    return db.scalar(
        select(Membership.role).where(
            Membership.organisation_id == organisation_id, Membership.account_id == account_id
        )
    )


def require_role(db: Session, *, slug: str, actor: uuid.UUID, roles: frozenset[Role]) -> Organisation:
    """The organisation, if ``actor`` holds one of ``roles`` in it.

    Non-members get ``organisation.not_found`` rather than ``auth.forbidden``: an outsider learns
    nothing about which organisations exist behind the API. Members without the role get 403.
    """
    organisation = db.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise DomainError("organisation.not_found")
    role = role_of(db, organisation_id=organisation.id, account_id=actor)
    if role is None:
        raise DomainError("organisation.not_found")
    if role not in roles:
        raise DomainError("auth.forbidden", f"This needs the {' or '.join(sorted(roles))} role.")
    return organisation


ANY_MEMBER = frozenset({Role.ADMIN, Role.YOUTH_WORKER})
ADMINS = frozenset({Role.ADMIN})


def memberships_of(db: Session, *, account_id: uuid.UUID) -> list[tuple[Organisation, Role]]:
    rows = db.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.account_id == account_id)
        .order_by(Organisation.name)
    ).all()
    return [(row[0], row[1]) for row in rows]


def update_organisation(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    name: str | None = None,
    description: str | None = None,
    url: str | None = None,
    time_zone: str | None = None,
) -> Organisation:
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    if time_zone is not None:
        organisation.time_zone = check_time_zone(time_zone)
    if name is not None:
        organisation.name = name
    if description is not None:
        organisation.description = description
    if url is not None:
        organisation.url = url or None
    db.flush()
    return organisation


def list_members(db: Session, *, slug: str, actor: uuid.UUID) -> list[tuple[Account, Membership]]:
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    rows = db.execute(
        select(Account, Membership)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.organisation_id == organisation.id)
        .order_by(Account.username)
    ).all()
    return [(row[0], row[1]) for row in rows]


def add_member(
    db: Session, *, slug: str, actor: uuid.UUID | None, username: str, role: Role, now: dt.datetime
) -> Membership:
    """The operator (``actor=None``, the CLI) adds an existing account directly, having agreed it in person.

    An admin cannot: making an existing account staff of an organisation needs its holder's consent, so
    admins :func:`offer_membership` and the holder accepts (:func:`accept_invitation`). (An admin's
    :func:`invite_member` makes a *new* account, whose first sign-in is the holder's yes.)
    """
    if actor is not None:
        raise DomainError("auth.forbidden", "Admins invite members; the account holder accepts the invitation.")
    organisation = get_by_slug(db, slug=slug)
    return _join(db, organisation, _account_named(db, username), role, now)


def _account_named(db: Session, username: str) -> Account:
    try:
        name = normalise_username(username)
    except DomainError:
        name = ""
    account = db.scalar(select(Account).where(Account.username == name)) if name else None
    if account is None:
        raise DomainError("account.not_found", "No account has that username.")
    return account


def _join(db: Session, organisation: Organisation, account: Account, role: Role, now: dt.datetime) -> Membership:
    membership = Membership(organisation_id=organisation.id, account_id=account.id, role=role, created_at=now)
    db.add(membership)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as error:
        raise DomainError("organisation.already_member") from error
    return membership


def offer_membership(
    db: Session, *, slug: str, actor: uuid.UUID, username: str, role: Role, now: dt.datetime
) -> tuple[Account, MembershipInvitation]:
    """Offer ``role`` to an existing account (admins). Asking again updates the offered role."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    account = _account_named(db, username)
    if role_of(db, organisation_id=organisation.id, account_id=account.id) is not None:
        raise DomainError("organisation.already_member")
    invitation = db.scalar(
        select(MembershipInvitation).where(
            MembershipInvitation.organisation_id == organisation.id, MembershipInvitation.account_id == account.id
        )
    )
    if invitation is None:
        invitation = MembershipInvitation(
            organisation_id=organisation.id, account_id=account.id, role=role, invited_by=actor, created_at=now
        )
        db.add(invitation)
        try:
            with db.begin_nested():
                db.flush()
        except IntegrityError:  # the same invitation made at the same moment: the other one stands
            invitation = db.scalars(
                select(MembershipInvitation).where(
                    MembershipInvitation.organisation_id == organisation.id,
                    MembershipInvitation.account_id == account.id,
                )
            ).one()
    invitation.role = role
    invitation.invited_by = actor
    return account, invitation


def pending_invitations(db: Session, *, slug: str, actor: uuid.UUID) -> list[tuple[Account, MembershipInvitation]]:
    """Invitations not yet answered (admins)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    rows = db.execute(
        select(Account, MembershipInvitation)
        .join(MembershipInvitation, MembershipInvitation.account_id == Account.id)
        .where(MembershipInvitation.organisation_id == organisation.id)
        .order_by(MembershipInvitation.created_at, Account.username)
    )
    return [(account, invitation) for account, invitation in rows]


def withdraw_invitation(db: Session, *, slug: str, actor: uuid.UUID, invitation_id: uuid.UUID) -> None:
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    invitation = db.get(MembershipInvitation, invitation_id)
    if invitation is None or invitation.organisation_id != organisation.id:
        raise DomainError("invitation.not_found")
    db.delete(invitation)


def invitations_for(db: Session, *, account_id: uuid.UUID) -> list[tuple[Organisation, MembershipInvitation]]:
    """The invitations waiting for this account's answer."""
    rows = db.execute(
        select(Organisation, MembershipInvitation)
        .join(MembershipInvitation, MembershipInvitation.organisation_id == Organisation.id)
        .where(MembershipInvitation.account_id == account_id)
        .order_by(MembershipInvitation.created_at)
    )
    return [(organisation, invitation) for organisation, invitation in rows]


def _own_invitation(db: Session, account_id: uuid.UUID, invitation_id: uuid.UUID) -> MembershipInvitation:
    invitation = db.get(MembershipInvitation, invitation_id)
    if invitation is None or invitation.account_id != account_id:
        raise DomainError("invitation.not_found")
    return invitation


def accept_invitation(
    db: Session, *, account_id: uuid.UUID, invitation_id: uuid.UUID, now: dt.datetime
) -> tuple[Organisation, Membership]:
    """Say yes: the account becomes a member with the offered role."""
    invitation = _own_invitation(db, account_id, invitation_id)
    organisation = db.get(Organisation, invitation.organisation_id)
    account = db.get(Account, account_id)
    assert organisation is not None and account is not None
    role = invitation.role
    db.delete(invitation)
    db.flush()
    return organisation, _join(db, organisation, account, role, now)


def decline_invitation(db: Session, *, account_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    db.delete(_own_invitation(db, account_id, invitation_id))


def _membership(db: Session, organisation: Organisation, account_id: uuid.UUID) -> Membership:
    membership = db.scalar(
        select(Membership).where(Membership.organisation_id == organisation.id, Membership.account_id == account_id)
    )
    if membership is None:
        raise DomainError("organisation.not_member")
    return membership


def _ensure_admin_remains(db: Session, organisation: Organisation, leaving: Membership) -> None:
    if leaving.role != Role.ADMIN:
        return
    admins = db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organisation_id == organisation.id, Membership.role == Role.ADMIN)
    )
    if (admins or 0) <= 1:
        raise DomainError("organisation.last_admin")


def change_role(db: Session, *, slug: str, actor: uuid.UUID, account_id: uuid.UUID, role: Role) -> Membership:
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    membership = _membership(db, organisation, account_id)
    if role != membership.role:
        _ensure_admin_remains(db, organisation, membership)
        membership.role = role
    db.flush()
    return membership


def remove_member(db: Session, *, slug: str, actor: uuid.UUID, account_id: uuid.UUID) -> None:
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    membership = _membership(db, organisation, account_id)
    _ensure_admin_remains(db, organisation, membership)
    db.delete(membership)
    db.flush()


def invite_member(
    db: Session,
    *,
    slug: str,
    actor: uuid.UUID,
    username: str,
    display_name: str,
    role: Role,
    hasher: PasswordHasher,
    now: dt.datetime,
) -> tuple[Membership, str]:
    """Make an account for a new youth worker (or admin) and add it (admins).

    Returns the membership and the one-time password to hand over; it signs in once, and the
    account must then choose its own password.
    """
    organisation = require_role(db, slug=slug, actor=actor, roles=ADMINS)
    account, password = create_with_one_time_password(
        db, username=username, display_name=display_name, hasher=hasher, now=now
    )
    return _join(db, organisation, account, role, now), password


def require_operator(db: Session, *, actor: uuid.UUID, to: str = "create organisations") -> None:
    """Refuse anyone but the service's operators (``wallet operator grant``); ``to`` says what was refused."""
    if not get_account(db, account_id=actor).is_operator:
        raise DomainError("auth.forbidden", f"Only the people who run this service can {to}.")


def set_operator(db: Session, *, username: str, is_operator: bool) -> Account:
    """Grant or take away the operator's web rights (the CLI: whoever runs the service)."""
    account = db.scalar(select(Account).where(Account.username == normalise_username(username)))
    if account is None:
        raise DomainError("account.not_found", "No account has that username.")
    account.is_operator = is_operator
    db.flush()
    return account


def create_with_first_admin(
    db: Session,
    *,
    actor: uuid.UUID | None,
    slug: str,
    name: str,
    description: str = "",
    time_zone: str = "UTC",
    admin_username: str,
    hasher: PasswordHasher,
    now: dt.datetime,
) -> tuple[Organisation, str | None]:
    """An organisation and its first admin (operators; ``actor=None`` is the CLI).

    A new admin account gets a one-time password (returned, to hand over); an existing one is added.
    """
    if actor is not None:
        require_operator(db, actor=actor)
    organisation = create_organisation(db, slug=slug, name=name, description=description, time_zone=time_zone, now=now)
    password = None
    if db.scalar(select(Account).where(Account.username == normalise_username(admin_username))) is None:
        _, password = create_with_one_time_password(
            db, username=admin_username, display_name=admin_username, hasher=hasher, now=now
        )
    add_member(db, slug=slug, actor=None, username=admin_username, role=Role.ADMIN, now=now)
    return organisation, password


def operated_organisations(db: Session, *, actor: uuid.UUID) -> list[Organisation]:
    """Every organisation, for the operator's page."""
    require_operator(db, actor=actor)
    return list(db.scalars(select(Organisation).order_by(Organisation.name)))
