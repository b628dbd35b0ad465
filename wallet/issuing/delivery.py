"""Issue a credential to a learner and put it in their wallet: the one path every award takes.

An admin's award, a claim code redeemed (or a pending claim approved) all sign the credential and hold
it for the learner in the same transaction, so the learner's devices receive it at the next sync. A
holder known only by a DID (a standards wallet over OpenID4VCI) gets :func:`issue_credential` alone: we
keep no wallet for it.

Lock order (docs/claims.md, "Lock order"): holding the credential locks the learner's ``sync_wallets``
row; callers that also take other rows (a claim, the session's cap) lock the wallet first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from wallet.holding.services import add_credential
from wallet.issuing.credentials import CREDENTIAL_MEDIA_TYPE, issue_credential
from wallet.models import Account, HeldCredential, IssuedCredential
from wallet.pathways.services import award_completed_pathways


@dataclass(frozen=True)
class Delivery:
    issued: IssuedCredential
    held: HeldCredential


def deliver(
    db: Session,
    *,
    achievement_id: uuid.UUID,
    account_id: uuid.UUID,
    source: str,
    kek: bytes,
    base_url: str,
    now: dt.datetime,
    evidence: list[dict[str, Any]] | None = None,
    award_depth: int = 0,
    record_ids: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> Delivery:
    """Sign ``achievement_id`` for ``account_id`` and hold it in their wallet (``source``: award, claim).

    ``record_ids`` are the ids the issued and the held rows get, when a row written first names them.

    Then award the outcome of every automatic pathway the new credential completes
    (:func:`wallet.pathways.services.award_completed_pathways`; ``award_depth`` bounds outcome badges that
    complete further pathways), in the same transaction and under the same wallet lock.
    """
    recipient = db.get(Account, account_id)  # kept referenced: both steps below read it from the session
    issued = issue_credential(
        db,
        achievement_id=achievement_id,
        recipient_account_id=account_id,
        kek=kek,
        base_url=base_url,
        now=now,
        evidence=evidence,
        record_id=record_ids[0] if record_ids else None,
    )
    held = add_credential(
        db,
        account_id=account_id,
        raw=issued.credential_json.encode("utf-8"),
        media_type=CREDENTIAL_MEDIA_TYPE,
        source=source,
        now=now,
        minted=True,
        record_id=record_ids[1] if record_ids else None,
    )
    award_completed_pathways(db, account_id=account_id, kek=kek, base_url=base_url, now=now, depth=award_depth)
    del recipient
    return Delivery(issued, held)
