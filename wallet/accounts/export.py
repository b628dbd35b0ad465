"""Everything we hold about a learner, as one JSON document (GDPR Art. 15 and 20).

Each domain contributes a section; a new table holding personal data must add its section here,
and the erasure test proves the same rows disappear on account deletion.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.accounts.services import get_account
from wallet.models import Device, Membership, Organisation

EXPORT_FORMAT = "learner-wallet-export/1"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _devices(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.scalars(select(Device).where(Device.account_id == account_id).order_by(Device.created_at))
    return [{"id": str(d.id), "name": d.name, "platform": d.platform, "created_at": _iso(d.created_at),
             "last_seen_at": _iso(d.last_seen_at), "revoked_at": _iso(d.revoked_at)} for d in rows]


def _memberships(db: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.execute(select(Organisation.slug, Organisation.name, Membership.role, Membership.created_at)
                      .join(Membership, Membership.organisation_id == Organisation.id)
                      .where(Membership.account_id == account_id))
    return [{"organisation": slug, "name": name, "role": str(role), "since": _iso(since)}
            for slug, name, role, since in rows]


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
    }
