"""Everything we hold about a learner, as one JSON document (GDPR Art. 15 and 20).

Each domain contributes a section; a new table holding personal data must add its section here,
and the erasure test proves the same rows disappear on account deletion.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.accounts.services import get_account
from wallet.changelog.edits import tags_of
from wallet.claims.moderation import my_claims
from wallet.holding.exporting import account_section
from wallet.holding.services import all_credentials
from wallet.issuing.credentials import issued_to
from wallet.models import Device, Membership, Organisation, SyncClient, SyncRow
from wallet.requests.services import export_requests
from wallet.sharing.services import export_shares

EXPORT_FORMAT = "learner-wallet-export/1"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _devices(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.scalars(select(Device).where(Device.account_id == account_id).order_by(Device.created_at))
    return [
        {
            "id": str(d.id),
            "name": d.name,
            "platform": d.platform,
            "created_at": _iso(d.created_at),
            "last_seen_at": _iso(d.last_seen_at),
            "revoked_at": _iso(d.revoked_at),
        }
        for d in rows
    ]


def _memberships(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Organisation.slug, Organisation.name, Membership.role, Membership.created_at)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.account_id == account_id)
    )
    return [
        {"organisation": slug, "name": name, "role": str(role), "since": _iso(since)}
        for slug, name, role, since in rows
    ]


def _credentials(db: Session, account_id: uuid.UUID, now: dt.datetime) -> list[dict[str, Any]]:
    return account_section(all_credentials(db, account_id=account_id), now=now, tags=tags_of(db, account_id=account_id))


def _issued_to_you(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The issuers' side: each badge an organisation here issued to you, and whether it was revoked."""
    return [
        {
            "credential_id": issued.credential_id,
            "organisation": organisation.slug,
            "achievement": achievement.name,
            "issued_at": _iso(issued.issued_at),
            "revoked_at": _iso(issued.revoked_at),
            "revocation_reason": issued.revocation_reason,
        }
        for issued, organisation, achievement in issued_to(db, account_id=account_id)
    ]


def _claims(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """Badges you claimed at sessions (QR codes, cards), and how each claim was decided."""
    return [
        {
            "session": c.session_title,
            "venue": c.venue,
            "achievement": c.achievement_name,
            "organisation": c.issuer_name,
            "status": c.claim.status.value,
            "claimed_at": _iso(c.claim.created_at),
            "scanned_at": _iso(c.claim.scanned_at),
            "decided_at": _iso(c.claim.decided_at),
        }
        for c in my_claims(db, account_id=account_id)
    ]


def _badge_requests(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """Badges you asked for: what you wrote and sent (files included), and every answer."""
    return export_requests(db, account_id=account_id)


def export_sync(db: Session, *, account_id: uuid.UUID) -> dict[str, Any]:
    """Synced wallet metadata (notes, tags, collections, order) and the devices' sync clients."""
    clients = db.scalars(select(SyncClient).where(SyncClient.account_id == account_id).order_by(SyncClient.created_at))
    rows = db.scalars(select(SyncRow).where(SyncRow.account_id == account_id).order_by(SyncRow.seq))
    return {
        "clients": [
            {
                "id": str(c.id),
                "device_id": str(c.device_id) if c.device_id else None,
                "created_at": _iso(c.created_at),
                "last_seen_at": _iso(c.last_seen_at),
            }
            for c in clients
        ],
        "rows": [{"k": r.kind, "id": json.loads(r.row_id), "s": r.state, "seq": r.seq} for r in rows],
    }


def export_account(db: Session, *, account_id: uuid.UUID, now: dt.datetime) -> dict[str, Any]:
    account = get_account(db, account_id=account_id)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "account": {
            "id": str(account.id),
            "username": account.username,
            "display_name": account.display_name,
            "email": account.email,
            "subject_id": account.subject_id,
            "created_at": _iso(account.created_at),
        },
        "devices": _devices(db, account_id),
        "memberships": _memberships(db, account_id),
        "credentials": _credentials(db, account_id, now),
        "shares": export_shares(db, account_id=account_id),
        "issued_to_you": _issued_to_you(db, account_id),
        "claims": _claims(db, account_id),
        "badge_requests": _badge_requests(db, account_id),
        "sync": export_sync(db, account_id=account_id),
    }
