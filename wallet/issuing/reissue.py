"""Re-issue an organisation's credentials under its current identity (docs/credentials.md).

Credentials signed before issuers were DIDs (or before a deployment moved to a public https origin) name
another ``issuer.id`` than the organisation has now, and standard verifiers reject them. Re-issuing signs
a new credential — same achievement, learner, evidence and validity — and swaps it into the learner's
wallet: the new one is held, the old held copy is removed (devices see both at their next sync) and share
links that pointed at the old copy point at the new one. The old credential is **not revoked**: it is
still a genuine record, copies a learner already handed out keep verifying in this service, and revoking
would tell every verifier that the badge was withdrawn, which is false.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet.accounts.services import normalise_username
from wallet.errors import DomainError
from wallet.holding.services import add_credential, delete_credential
from wallet.holding.summary import content_hash
from wallet.issuing.credentials import CREDENTIAL_MEDIA_TYPE, issue_credential
from wallet.issuing.keys import ensure_active_key
from wallet.issuing.profiles import issuer_did
from wallet.models import Account, HeldCredential, IssuedCredential, Organisation, ShareLink, ShareTarget
from wallet.organisations.services import get_by_slug


def reissue(
    db: Session, *, slug: str, username: str | None, kek: bytes, base_url: str, now: dt.datetime
) -> list[IssuedCredential]:
    """Re-issue the organisation's unrevoked credentials to accounts whose issuer id is not current (operator)."""
    organisation: Organisation = get_by_slug(db, slug=slug)
    key = ensure_active_key(db, organisation_id=organisation.id, kek=kek, now=now)
    current = issuer_did(organisation, key, base_url=base_url)
    query = select(IssuedCredential).where(
        IssuedCredential.organisation_id == organisation.id,
        IssuedCredential.revoked_at.is_(None),
        IssuedCredential.recipient_account_id.is_not(None),
    )
    if username is not None:
        account = db.scalar(select(Account).where(Account.username == normalise_username(username)))
        if account is None:
            raise DomainError("account.not_found", "No account has that username.")
        query = query.where(IssuedCredential.recipient_account_id == account.id)
    renewed: list[IssuedCredential] = []
    for issued in db.scalars(query.order_by(IssuedCredential.issued_at)).all():
        old = json.loads(issued.credential_json)
        issuer = old.get("issuer")
        if (issuer.get("id") if isinstance(issuer, dict) else issuer) == current:
            continue
        assert issued.recipient_account_id is not None
        fresh = issue_credential(
            db,
            achievement_id=issued.achievement_id,
            recipient_account_id=issued.recipient_account_id,
            kek=kek,
            base_url=base_url,
            now=now,
            evidence=[item for item in old.get("evidence", []) if isinstance(item, dict)] or None,
        )
        held = db.scalar(
            select(HeldCredential).where(
                HeldCredential.account_id == issued.recipient_account_id,
                HeldCredential.content_hash == content_hash(issued.credential_json.encode("utf-8")),
            )
        )
        new_held = add_credential(
            db,
            account_id=issued.recipient_account_id,
            raw=fresh.credential_json.encode("utf-8"),
            media_type=CREDENTIAL_MEDIA_TYPE,
            source="award",
            now=now,
        )
        if held is not None:
            db.execute(
                update(ShareLink)
                .where(ShareLink.target_kind == ShareTarget.CREDENTIAL, ShareLink.target_id == held.id)
                .values(target_id=new_held.id)
            )
            delete_credential(db, account_id=issued.recipient_account_id, credential_id=held.id, now=now)
        renewed.append(fresh)
    return renewed
